"""Given-facts / when-date / then-triggers helpers for the residence rules.

A `Story` collects the facts of one victim (pseudonymous ids only) and of the cases they report
in; `story.on(day)` evaluates the rules as of that day. Event ids are deterministic so that a
test can name the facts a trigger rests on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from ketenzicht_common.months import add_years
from residence.domain import (
    RuleSettings,
    TriggerDecision,
    TriggerKind,
    evaluate,
    next_deadline,
    residence_file,
)
from residence.domain.categories import (
    CooperationImpossibleReason,
    CourtInstance,
    InvestigationCloseReason,
    NationalityGroup,
    OtherDisposalKind,
    ReflectionEndReason,
    ReportingCapacity,
    ResidencePosition,
    VerdictOutcome,
)
from residence.domain.model import (
    CaseFact,
    CaseStep,
    CooperationDeclared,
    CooperationImpossibleRecorded,
    Correction,
    Fact,
    NoEuResidenceRightFound,
    NonTemporaryPermitGranted,
    NonTemporaryPermitRefused,
    PresenceAssessed,
    ReflectionPeriodDeclined,
    ReflectionPeriodEnded,
    ReflectionPeriodGranted,
    ReportFiled,
    ReportWithdrawn,
    SignalRegistered,
    TemporaryPermitEnded,
    TemporaryPermitExtended,
    TemporaryPermitGranted,
    TemporaryPermitRefused,
)
from residence.domain.view import ResidenceFile

K = TriggerKind
THIRD = NationalityGroup.THIRD_COUNTRY
DUTCH = NationalityGroup.DUTCH
OTHER_EU = NationalityGroup.OTHER_EU
IRREGULAR = ResidencePosition.IRREGULAR
LAWFUL = ResidencePosition.LAWFUL
ASYLUM = ResidencePosition.ASYLUM_SEEKER
DUBLIN = ResidencePosition.DUBLIN_CLAIMANT
VICTIM = ReportingCapacity.VICTIM
WITNESS = ReportingCapacity.WITNESS


def d(text: str) -> date:
    return date.fromisoformat(text)


def day_before(text: str) -> str:
    return (d(text) - timedelta(days=1)).isoformat()


def day_after(text: str) -> str:
    return (d(text) + timedelta(days=1)).isoformat()


@dataclass
class Story:
    victim: str = "victim-001"
    case: str = "case-001"
    settings: RuleSettings = field(default_factory=RuleSettings)
    facts: list[Fact] = field(default_factory=list)
    prefix: str = "ev"

    def _id(self) -> str:
        return f"{self.prefix}-{self.victim}-{len(self.facts) + 1:03d}"

    def _add(self, fact: Fact) -> str:
        self.facts.append(fact)
        return fact.event_id

    # --- intake ---

    def signal(
        self,
        on: str,
        position: ResidencePosition = IRREGULAR,
        nationality: NationalityGroup = THIRD,
    ) -> str:
        return self._add(
            SignalRegistered(
                event_id=self._id(),
                occurred_on=d(on),
                victim_id=self.victim,
                nationality_group=nationality,
                residence_position=position,
            )
        )

    def declined(self, on: str) -> str:
        return self._add(
            ReflectionPeriodDeclined(event_id=self._id(), occurred_on=d(on), victim_id=self.victim)
        )

    def report(self, on: str, case: str | None = None, capacity: ReportingCapacity = VICTIM) -> str:
        return self._add(
            ReportFiled(
                event_id=self._id(),
                occurred_on=d(on),
                victim_id=self.victim,
                case_id=case or self.case,
                capacity=capacity,
            )
        )

    def cooperation(
        self, on: str, case: str | None = None, capacity: ReportingCapacity = VICTIM
    ) -> str:
        return self._add(
            CooperationDeclared(
                event_id=self._id(),
                occurred_on=d(on),
                victim_id=self.victim,
                case_id=case or self.case,
                capacity=capacity,
            )
        )

    def cooperation_impossible(
        self,
        on: str,
        reason: CooperationImpossibleReason = CooperationImpossibleReason.SERIOUS_THREAT,
    ) -> str:
        return self._add(
            CooperationImpossibleRecorded(
                event_id=self._id(), occurred_on=d(on), victim_id=self.victim, reason=reason
            )
        )

    def withdrawn(self, on: str, case: str | None = None) -> str:
        return self._add(
            ReportWithdrawn(
                event_id=self._id(),
                occurred_on=d(on),
                victim_id=self.victim,
                case_id=case or self.case,
            )
        )

    # --- the IND ---

    def reflection_granted(self, on: str) -> str:
        return self._add(
            ReflectionPeriodGranted(event_id=self._id(), occurred_on=d(on), victim_id=self.victim)
        )

    def reflection_ended(self, on: str, reason: ReflectionEndReason) -> str:
        return self._add(
            ReflectionPeriodEnded(
                event_id=self._id(), occurred_on=d(on), victim_id=self.victim, reason=reason
            )
        )

    def no_eu_right(self, on: str) -> str:
        return self._add(
            NoEuResidenceRightFound(event_id=self._id(), occurred_on=d(on), victim_id=self.victim)
        )

    def permit(
        self, valid_from: str, valid_until: str, on: str | None = None, case: str | None = None
    ) -> str:
        return self._add(
            TemporaryPermitGranted(
                event_id=self._id(),
                occurred_on=d(on or valid_from),
                victim_id=self.victim,
                case_id=case or self.case,
                valid_from=d(valid_from),
                valid_until=d(valid_until),
            )
        )

    def extended(self, on: str, valid_until: str, case: str | None = None) -> str:
        return self._add(
            TemporaryPermitExtended(
                event_id=self._id(),
                occurred_on=d(on),
                victim_id=self.victim,
                case_id=case or self.case,
                valid_until=d(valid_until),
            )
        )

    def permit_held(self, valid_from: str, through: str, case: str | None = None) -> list[str]:
        """The IND grants the temporary permit from ``valid_from`` for a year, on that day, and
        extends it by a year at a time — each extension decided 31 days before the permit would
        end, the day before it falls due, so no extension is due in between — until it is valid
        through ``through``.
        Returns the grant's and the extensions' event ids."""
        until = add_years(d(valid_from), 1)
        ids = [self.permit(valid_from, until.isoformat(), case=case)]
        while until < d(through):
            decided_on = until - timedelta(days=31)
            until = add_years(until, 1)
            ids.append(self.extended(decided_on.isoformat(), until.isoformat(), case=case))
        return ids

    def permit_ended(self, on: str, end_date: str) -> str:
        return self._add(
            TemporaryPermitEnded(
                event_id=self._id(),
                occurred_on=d(on),
                victim_id=self.victim,
                case_id=self.case,
                end_date=d(end_date),
            )
        )

    def permit_refused(self, on: str) -> str:
        return self._add(
            TemporaryPermitRefused(
                event_id=self._id(), occurred_on=d(on), victim_id=self.victim, case_id=self.case
            )
        )

    def non_temporary_granted(self, on: str) -> str:
        return self._add(
            NonTemporaryPermitGranted(event_id=self._id(), occurred_on=d(on), victim_id=self.victim)
        )

    def non_temporary_refused(self, on: str) -> str:
        return self._add(
            NonTemporaryPermitRefused(event_id=self._id(), occurred_on=d(on), victim_id=self.victim)
        )

    def presence(self, on: str, necessary: bool, case: str | None = None) -> str:
        return self._add(
            PresenceAssessed(
                event_id=self._id(),
                occurred_on=d(on),
                victim_id=self.victim,
                case_id=case or self.case,
                presence_necessary=necessary,
            )
        )

    # --- the case ---

    def step(self, on: str, step: CaseStep, case: str | None = None, **fields: object) -> str:
        return self._add(
            CaseFact(
                event_id=self._id(),
                occurred_on=d(on),
                case_id=case or self.case,
                step=step,
                **fields,  # type: ignore[arg-type]
            )
        )

    def investigation_opened(self, on: str) -> str:
        return self.step(on, CaseStep.INVESTIGATION_OPENED)

    def submitted(self, on: str, *suspects: str) -> str:
        return self.step(on, CaseStep.CASE_SUBMITTED, suspect_ids=tuple(suspects))

    def investigation_closed(self, on: str, reason: InvestigationCloseReason) -> str:
        return self.step(on, CaseStep.INVESTIGATION_CLOSED, close_reason=reason)

    def no_investigation(self, on: str) -> str:
        return self.step(on, CaseStep.NO_INVESTIGATION)

    def registered(self, on: str, suspect: str = "suspect-001") -> str:
        return self.step(on, CaseStep.CASE_REGISTERED, suspect_id=suspect)

    def summoned(self, on: str, suspect: str = "suspect-001") -> str:
        return self.step(on, CaseStep.SUSPECT_SUMMONED, suspect_id=suspect)

    def dismissed(self, on: str, suspect: str = "suspect-001") -> str:
        return self.step(on, CaseStep.CASE_DISMISSED, suspect_id=suspect)

    def disposed(self, on: str, kind: OtherDisposalKind, suspect: str = "suspect-001") -> str:
        return self.step(on, CaseStep.OTHER_DISPOSAL, suspect_id=suspect, disposal_kind=kind)

    def reopened(self, on: str, suspect: str = "suspect-001") -> str:
        return self.step(on, CaseStep.CASE_REOPENED, suspect_id=suspect)

    def verdict(
        self,
        on: str,
        outcome: VerdictOutcome,
        suspect: str = "suspect-001",
        instance: CourtInstance = CourtInstance.FIRST_INSTANCE,
    ) -> str:
        return self.step(
            on, CaseStep.VERDICT_DELIVERED, suspect_id=suspect, outcome=outcome, instance=instance
        )

    def appeal(self, on: str, suspect: str = "suspect-001") -> str:
        return self.step(on, CaseStep.APPEAL_LODGED, suspect_id=suspect)

    def final(self, on: str, suspect: str = "suspect-001") -> str:
        return self.step(on, CaseStep.CASE_FINAL, suspect_id=suspect)

    # --- corrections (by the fact's owner; the chain key is the fact as first stated) ---

    def _correction(self, on: str, fact_id: str, annulled: bool, **fields: object) -> str:
        original = next(f for f in self.facts if f.event_id == fact_id)
        if isinstance(original, Correction):
            original = next(f for f in self.facts if f.event_id == original.original_event_id)
        earlier = [
            f
            for f in self.facts
            if isinstance(f, Correction) and f.original_event_id == original.event_id
        ]
        victim = getattr(original, "victim_id", None)
        by_case = isinstance(original, CaseFact | PresenceAssessed)
        new_date = fields.pop("fact_occurred_on", None)
        return self._add(
            Correction(
                event_id=self._id(),
                occurred_on=d(on),
                service="prosecution" if by_case else "intake",
                original_event_id=original.event_id,
                corrected_event_id=fact_id,
                corrected_event_type=type(original).__name__,
                annulled=annulled,
                fact_occurred_on=d(str(new_date)) if new_date else original.occurred_on,
                amended=tuple(fields.items()),
                position=len(earlier) + 2,
                victim_id=None if by_case else victim,
                case_id=getattr(original, "case_id", None) if by_case else None,
            )
        )

    def annulled(self, on: str, fact_id: str) -> str:
        """The owner annuls the fact ``fact_id`` on ``on``."""
        return self._correction(on, fact_id, annulled=True)

    def amended(
        self, on: str, fact_id: str, fact_occurred_on: str | None = None, **fields: object
    ) -> str:
        """The owner amends ``fact_id`` (the fact or an amendment of it) on ``on``: its new
        date and domain fields."""
        return self._correction(
            on, fact_id, annulled=False, fact_occurred_on=fact_occurred_on, **fields
        )

    # --- when / then ---

    def on(self, day: str) -> list[TriggerDecision]:
        return evaluate(self.facts, d(day), settings=self.settings)

    def fired(self, day: str, kind: TriggerKind | None = None) -> list[tuple[str, str]]:
        """(kind, fires_on) of the triggers fired by ``day``, optionally of one kind."""
        return [
            (t.kind.value, t.fires_on.isoformat())
            for t in self.on(day)
            if kind is None or t.kind is kind
        ]

    def only(self, day: str, kind: TriggerKind) -> TriggerDecision:
        found = [t for t in self.on(day) if t.kind is kind]
        assert len(found) == 1, found
        return found[0]

    def next_deadline(self, day: str) -> date | None:
        return next_deadline(self.facts, d(day), settings=self.settings)

    def file(self, day: str) -> ResidenceFile:
        return residence_file(self.facts, self.victim, d(day), settings=self.settings)
