"""Everything the rules know of one victim, gathered from the facts (dossier).

The victim's own facts (intake, the IND, the OM's presence assessment) and the steps of every
case the victim reported or cooperated in. A case's steps may be known before the victim's
report is (facts arrive out of order); the history is always built from the full set, sorted
by business date and event id, so the order of arrival never matters.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from residence.domain.case_timeline import CaseTimeline
from residence.domain.categories import NationalityGroup, ReportingCapacity, ResidencePosition
from residence.domain.corrections import apply_corrections
from residence.domain.model import (
    CaseFact,
    CooperationDeclared,
    CooperationImpossibleRecorded,
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
    VictimFact,
)


@dataclass(frozen=True, slots=True)
class VictimCase:
    """The victim's part in one case: since the first report or cooperation, until withdrawn.

    One application per victim and case: a second report in the same case adds nothing; the
    first withdrawal after it ends the victim's part. ``capacity`` is WITNESS only when every
    report and cooperation in the case is a witness's (getuige-aangever).
    """

    case_id: str
    since: date
    event_id: str
    withdrawn_on: date | None
    withdrawal_event_id: str | None
    capacity: ReportingCapacity = ReportingCapacity.VICTIM

    @property
    def as_witness(self) -> bool:
        return self.capacity is ReportingCapacity.WITNESS

    def active_on(self, day: date) -> bool:
        return self.since <= day and (self.withdrawn_on is None or day < self.withdrawn_on)


@dataclass(frozen=True, slots=True)
class PermitRecord:
    """One temporary permit as the IND reported it, with each valid-until it has had.

    ``untils`` holds (the business date the value was set, valid until, event id), the grant
    first; extensions after it in business-date order. ``ended_on`` is the earliest end date
    the IND reported for it (possibly retroactive).
    """

    case_id: str
    grant_event_id: str
    granted_on: date
    valid_from: date
    untils: tuple[tuple[date, date, str], ...]
    ended_on: date | None
    end_event_id: str | None

    @property
    def valid_until(self) -> date:
        return self.untils[-1][1]

    @property
    def last_day(self) -> date:
        """The last day the permit is held, after extensions and any reported end."""
        if self.ended_on is None:
            return self.valid_until
        return min(self.valid_until, self.ended_on)

    @property
    def event_ids(self) -> tuple[str, ...]:
        ids = [event_id for _, _, event_id in self.untils]
        if self.end_event_id is not None:
            ids.append(self.end_event_id)
        return tuple(ids)


@dataclass(frozen=True, slots=True)
class VictimHistory:
    victim_id: str
    signals: tuple[SignalRegistered, ...]
    declines: tuple[ReflectionPeriodDeclined, ...]
    reflection_grants: tuple[ReflectionPeriodGranted, ...]
    reflection_ends: tuple[ReflectionPeriodEnded, ...]
    cases: tuple[VictimCase, ...]
    timelines: Mapping[str, CaseTimeline]
    presence: tuple[PresenceAssessed, ...]
    permits: tuple[PermitRecord, ...]
    refusals: tuple[TemporaryPermitRefused, ...]
    non_temporary_grants: tuple[NonTemporaryPermitGranted, ...]
    non_temporary_refusals: tuple[NonTemporaryPermitRefused, ...] = ()
    cooperation_impossible: tuple[CooperationImpossibleRecorded, ...] = ()
    eu_right_findings: tuple[NoEuResidenceRightFound, ...] = ()

    def nationality_on(self, day: date) -> NationalityGroup | None:
        """The nationality group of the latest signal on or before ``day`` (else the first)."""
        if not self.signals:
            return None
        known = [signal for signal in self.signals if signal.occurred_on <= day]
        return (known[-1] if known else self.signals[0]).nationality_group

    def reports_only_as_witness(self) -> bool:
        """The victim reported or cooperated, and only ever as a witness (getuige-aangever)."""
        return bool(self.cases) and all(case.as_witness for case in self.cases)

    def presence_necessary_since(self, case_id: str) -> date | None:
        """The first day the OM judged the person's presence necessary for the case."""
        return next(
            (p.occurred_on for p in self.presence if p.case_id == case_id and p.presence_necessary),
            None,
        )

    def cases_running_on(self, day: date) -> list[VictimCase]:
        """The victim's cases that run on ``day`` and that the victim still takes part in; a
        witness's case only once the OM found the witness's presence necessary (only then is
        it a basis for the permit, R5/R7)."""
        running = []
        for case in self.cases:
            if not case.active_on(day) or not self.timeline(case.case_id).runs_on(day):
                continue
            if case.as_witness:
                necessary = self.presence_necessary_since(case.case_id)
                if necessary is None or necessary > day:
                    continue
            running.append(case)
        return running

    def position_on(self, day: date) -> ResidencePosition | None:
        """The residence position of the latest signal on or before ``day``.

        A signal registered later than the fact it is needed for still tells the position
        then (late registrations are normal), so without an earlier signal the first is used.
        """
        if not self.signals:
            return None
        known = [signal for signal in self.signals if signal.occurred_on <= day]
        return (known[-1] if known else self.signals[0]).residence_position

    def is_dublin_claimant_on(self, day: date) -> bool:
        return self.position_on(day) is ResidencePosition.DUBLIN_CLAIMANT

    def timeline(self, case_id: str) -> CaseTimeline:
        return self.timelines[case_id]

    def non_temporary_granted_by(self, day: date) -> bool:
        return any(grant.occurred_on <= day for grant in self.non_temporary_grants)


F = TypeVar("F", bound=Fact)
V = TypeVar("V", bound=VictimFact)


def ordered(facts: Iterable[F]) -> tuple[F, ...]:
    """Facts in the order the rules read them: business date, then event id."""
    return tuple(sorted(facts, key=lambda fact: fact.order))


def _victim_cases(
    cooperations: Iterable[ReportFiled | CooperationDeclared],
    withdrawals: Iterable[ReportWithdrawn],
) -> tuple[VictimCase, ...]:
    # The victim's part in a case starts with the first report made as a victim; only where
    # every report was a witness's does it start with the first of those.
    first: dict[str, ReportFiled | CooperationDeclared] = {}
    as_victim: set[str] = set()
    for cooperation in ordered(cooperations):
        if cooperation.capacity is ReportingCapacity.VICTIM:
            if cooperation.case_id not in as_victim:
                first[cooperation.case_id] = cooperation
            as_victim.add(cooperation.case_id)
        else:
            first.setdefault(cooperation.case_id, cooperation)
    cases: list[VictimCase] = []
    for case_id, cooperation in first.items():
        withdrawal = next(
            (
                w
                for w in ordered(withdrawals)
                if w.case_id == case_id and w.occurred_on >= cooperation.occurred_on
            ),
            None,
        )
        cases.append(
            VictimCase(
                case_id=case_id,
                since=cooperation.occurred_on,
                event_id=cooperation.event_id,
                withdrawn_on=None if withdrawal is None else withdrawal.occurred_on,
                withdrawal_event_id=None if withdrawal is None else withdrawal.event_id,
                capacity=(
                    ReportingCapacity.VICTIM if case_id in as_victim else ReportingCapacity.WITNESS
                ),
            )
        )
    return tuple(sorted(cases, key=lambda c: (c.since, c.event_id)))


def _permits(
    grants: Iterable[TemporaryPermitGranted],
    extensions: Iterable[TemporaryPermitExtended],
    ends: Iterable[TemporaryPermitEnded],
) -> tuple[PermitRecord, ...]:
    """Each grant with the extensions and ends of its case that belong to it.

    An extension or end belongs to the latest grant of the same case decided on or before it
    (by business date); one dated before every grant of its case belongs to the first grant.
    """
    by_case: dict[str, list[TemporaryPermitGranted]] = defaultdict(list)
    for grant in ordered(grants):
        by_case[grant.case_id].append(grant)

    def owner(case_id: str, day: date) -> TemporaryPermitGranted | None:
        candidates = by_case.get(case_id, [])
        earlier = [grant for grant in candidates if grant.occurred_on <= day]
        if earlier:
            return earlier[-1]
        return candidates[0] if candidates else None

    untils: dict[str, list[tuple[date, date, str]]] = {
        grant.event_id: [(grant.occurred_on, grant.valid_until, grant.event_id)]
        for grants_of_case in by_case.values()
        for grant in grants_of_case
    }
    for extension in ordered(extensions):
        extended = owner(extension.case_id, extension.occurred_on)
        if extended is not None:
            untils[extended.event_id].append(
                (extension.occurred_on, extension.valid_until, extension.event_id)
            )
    end_of: dict[str, TemporaryPermitEnded] = {}
    for end in ordered(ends):
        ended = owner(end.case_id, end.occurred_on)
        if ended is None:
            continue
        known = end_of.get(ended.event_id)
        if known is None or end.end_date < known.end_date:
            end_of[ended.event_id] = end
    records = []
    for grants_of_case in by_case.values():
        for grant in grants_of_case:
            end_fact = end_of.get(grant.event_id)
            records.append(
                PermitRecord(
                    case_id=grant.case_id,
                    grant_event_id=grant.event_id,
                    granted_on=grant.occurred_on,
                    valid_from=grant.valid_from,
                    untils=tuple(sorted(untils[grant.event_id])),
                    ended_on=None if end_fact is None else end_fact.end_date,
                    end_event_id=None if end_fact is None else end_fact.event_id,
                )
            )
    return tuple(sorted(records, key=lambda r: (r.valid_from, r.grant_event_id)))


def build_histories(facts: Iterable[Fact]) -> dict[str, VictimHistory]:
    """One history per victim named in the facts, each with the steps of the victim's cases:
    the facts as they stand after their corrections (`corrections.apply_corrections`)."""
    victim_facts: dict[str, list[VictimFact]] = defaultdict(list)
    case_facts: dict[str, list[CaseFact]] = defaultdict(list)
    for fact in apply_corrections(facts).facts:
        if isinstance(fact, VictimFact):
            victim_facts[fact.victim_id].append(fact)
        elif isinstance(fact, CaseFact):
            case_facts[fact.case_id].append(fact)
    histories: dict[str, VictimHistory] = {}
    for victim_id in sorted(victim_facts):
        histories[victim_id] = _history(victim_id, victim_facts[victim_id], case_facts)
    return histories


def _history(
    victim_id: str, facts: list[VictimFact], case_facts: Mapping[str, list[CaseFact]]
) -> VictimHistory:
    def of(kind: type[V]) -> list[V]:
        return [fact for fact in facts if isinstance(fact, kind)]

    cases = _victim_cases(
        [f for f in facts if isinstance(f, ReportFiled | CooperationDeclared)],
        of(ReportWithdrawn),
    )
    return VictimHistory(
        victim_id=victim_id,
        signals=ordered(of(SignalRegistered)),
        declines=ordered(of(ReflectionPeriodDeclined)),
        reflection_grants=ordered(of(ReflectionPeriodGranted)),
        reflection_ends=ordered(of(ReflectionPeriodEnded)),
        cases=cases,
        timelines={
            case.case_id: CaseTimeline.of(case.case_id, case_facts.get(case.case_id, []))
            for case in cases
        },
        presence=ordered(of(PresenceAssessed)),
        permits=_permits(
            of(TemporaryPermitGranted), of(TemporaryPermitExtended), of(TemporaryPermitEnded)
        ),
        refusals=ordered(of(TemporaryPermitRefused)),
        non_temporary_grants=ordered(of(NonTemporaryPermitGranted)),
        non_temporary_refusals=ordered(of(NonTemporaryPermitRefused)),
        cooperation_impossible=ordered(of(CooperationImpossibleRecorded)),
        eu_right_findings=ordered(of(NoEuResidenceRightFound)),
    )
