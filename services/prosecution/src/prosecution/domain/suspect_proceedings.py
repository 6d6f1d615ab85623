"""The OM's proceedings against one suspect in one case, up to the final verdict. Pure: no I/O.

The OM registers a case per suspect (inschrijving), so the aggregate is one (case, suspect):
the decisions about a suspect are decided together (a verdict needs a summons, a summons and a
dismissal exclude each other), while another suspect in the same case has proceedings of
their own.

Late registrations are normal: the order in which facts arrive is not the order of the facts.
The rules compare business dates (``occurred_on``) of facts that depend on each other (a
verdict cannot be dated before the summons it follows); they never compare arrival order.
Facts the police own (the submission of the case) are not required: the OM may register a case
before the police's submission has reached the bus.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, ClassVar
from uuid import UUID

from ketenzicht_common.domain import (
    ChainAggregate,
    ChainCreated,
    FollowsCorrections,
    Provenance,
    provenance_of,
    stable_id,
)
from ketenzicht_common.errors import AlreadyExists, PreconditionFailed
from prosecution.domain.prosecution_case import ProsecutionCase

FIRST_INSTANCE = "FIRST_INSTANCE"
APPEAL = "APPEAL"
SUMMONED = "SUMMONED"
DISMISSED = "DISMISSED"
OTHER_DISPOSAL = "OTHER_DISPOSAL"


class SuspectProceedings(FollowsCorrections, ChainAggregate):
    """Everything the OM (and the court, as the OM registers it) decides about one suspect.

    Its state is that of its facts as they now stand: a correction restates it
    (`FollowsCorrections`), so every check below reads the corrected facts, and a correction
    after which a later fact could not stand is refused."""

    TOPIC = "prosecution:SuspectProceedings"

    class CaseRegistered(ChainCreated):
        """Instroom/inschrijving of the case against the suspect at the OM."""

        TOPIC = "prosecution:CaseRegistered.v1"
        case_id: str
        suspect_id: str

        def apply(self, proceedings: SuspectProceedings) -> None:
            proceedings.case_id = self.case_id
            proceedings.suspect_id = self.suspect_id
            proceedings.registered_on = self.occurred_on
            proceedings.registered_by = self.provenance.get("organisation", "")
            proceedings.note(self.occurred_on)

    class ParketnummerRecorded(ChainAggregate.Event):
        """The parketnummer in the clear, as stores written before the numbers were sealed
        hold it. Private. No longer recorded: kept so that such a store still loads (its
        numbers cannot be forgotten by destroying a key; see ADR 0020)."""

        TOPIC = "prosecution:Private.ParketnummerRecorded.v1"
        parketnummer: str

        def apply(self, proceedings: SuspectProceedings) -> None:
            proceedings.legacy_parketnummer = self.parketnummer

    class ParketnummerSealed(ChainAggregate.Event):
        """The OM's own parketnummer of the proceedings, sealed under the key of these
        proceedings in the OM's key store (`ketenzicht_common.subject_keys`). Private: never
        on the bus; without the key it is noise."""

        TOPIC = "prosecution:Private.ParketnummerSealed.v1"
        sealed: str

        def apply(self, proceedings: SuspectProceedings) -> None:
            proceedings.sealed_parketnummer = self.sealed

    class ParketnummerForgotten(ChainAggregate.Event):
        """The key that sealed the parketnummer was destroyed (crypto-shredding): on an
        erasure order of the OM, or because its retention term passed. Private; it names the
        basis only (``ERASURE_ORDER`` with the order's id, or ``RETENTION`` with the term's
        code), never the number."""

        TOPIC = "prosecution:Private.ParketnummerForgotten.v1"
        basis: str
        term_code: str
        order_id: str

        def apply(self, proceedings: SuspectProceedings) -> None:
            proceedings.parketnummer_forgotten_on = self.occurred_on

    class SuspectSummoned(ChainAggregate.Event):
        """Dagvaarding: the OM prosecutes."""

        TOPIC = "prosecution:SuspectSummoned.v1"
        case_id: str
        suspect_id: str

        def apply(self, proceedings: SuspectProceedings) -> None:
            proceedings.decide(SUMMONED, self.occurred_on)
            proceedings.summoned_on = self.occurred_on

    class CaseDismissed(ChainAggregate.Event):
        """Sepot: technical or policy, with the OM's code."""

        TOPIC = "prosecution:CaseDismissed.v1"
        case_id: str
        suspect_id: str
        kind: str
        code: str

        def apply(self, proceedings: SuspectProceedings) -> None:
            proceedings.decide(DISMISSED, self.occurred_on)
            proceedings.dismissal = (self.kind, self.code)

    class OtherDisposalDecided(ChainAggregate.Event):
        """Transaction, joinder (voeging) or transfer (overdracht)."""

        TOPIC = "prosecution:OtherDisposalDecided.v1"
        case_id: str
        suspect_id: str
        kind: str

        def apply(self, proceedings: SuspectProceedings) -> None:
            proceedings.decide(OTHER_DISPOSAL, self.occurred_on)
            proceedings.disposal_kind = self.kind

    class CaseReopened(ChainAggregate.Event):
        """A dismissed or otherwise disposed case against the suspect is taken up again."""

        TOPIC = "prosecution:CaseReopened.v1"
        case_id: str
        suspect_id: str

        def apply(self, proceedings: SuspectProceedings) -> None:
            proceedings.decision = ""
            proceedings.dismissal = None
            proceedings.disposal_kind = ""
            proceedings.reopenings.append(self.occurred_on)
            proceedings.note(self.occurred_on)

    class CourtHearingHeld(ChainAggregate.Event):
        """Terechtzitting, in first instance or on appeal."""

        TOPIC = "prosecution:CourtHearingHeld.v1"
        case_id: str
        suspect_id: str
        instance: str

        def apply(self, proceedings: SuspectProceedings) -> None:
            proceedings.hearings.append((self.instance, self.occurred_on))
            proceedings.note(self.occurred_on)

    class VerdictDelivered(ChainAggregate.Event):
        """Vonnis (first instance) or arrest (appeal)."""

        TOPIC = "prosecution:VerdictDelivered.v1"
        case_id: str
        suspect_id: str
        instance: str
        outcome: str

        def apply(self, proceedings: SuspectProceedings) -> None:
            proceedings.verdicts[self.instance] = (self.outcome, self.occurred_on)
            proceedings.note(self.occurred_on)

    class AppealLodged(ChainAggregate.Event):
        """Hoger beroep against the first-instance verdict."""

        TOPIC = "prosecution:AppealLodged.v1"
        case_id: str
        suspect_id: str

        def apply(self, proceedings: SuspectProceedings) -> None:
            proceedings.appeal_lodged_on = self.occurred_on
            proceedings.note(self.occurred_on)

    class CaseFinal(ChainAggregate.Event):
        """Onherroepelijk: the case against the suspect is final."""

        TOPIC = "prosecution:CaseFinal.v1"
        case_id: str
        suspect_id: str

        def apply(self, proceedings: SuspectProceedings) -> None:
            proceedings.final_on = self.occurred_on
            proceedings.note(self.occurred_on)

    # The OM's corrections: ProsecutionCase's two event classes, set after this class is made
    # (below). A topic resolves to one class, and the library gives every event class in an
    # aggregate's body a subclass of its own; an event's apply does not depend on its
    # aggregate's class.
    FactAnnulled: ClassVar[type[ProsecutionCase.FactAnnulled]]
    FactAmended: ClassVar[type[ProsecutionCase.FactAmended]]

    def __init__(self) -> None:
        self.case_id = ""
        self.suspect_id = ""
        self.sealed_parketnummer = ""
        """The parketnummer sealed (``subject_keys``); "" if the OM registered none."""
        self.legacy_parketnummer = ""
        self.parketnummer_forgotten_on: date | None = None
        self.registered_on = date.min
        self.registered_by = ""
        self.decision = ""
        """The standing decision: SUMMONED, DISMISSED, OTHER_DISPOSAL or none yet."""
        self.decided_on: date | None = None
        self.dismissal: tuple[str, str] | None = None
        self.disposal_kind = ""
        self.reopenings: list[date] = []
        self.summoned_on: date | None = None
        self.hearings: list[tuple[str, date]] = []
        self.verdicts: dict[str, tuple[str, date]] = {}
        self.appeal_lodged_on: date | None = None
        self.final_on: date | None = None
        self.last_fact_on = date.min
        self.registration_annulled = False
        """The OM annulled the registration (e.g. booked against the wrong suspect): no fact
        can follow it; the OM registers the case against the right one."""

    # -- identity and state -------------------------------------------------------------------

    @staticmethod
    def id_for(case_id: str, suspect_id: str) -> UUID:
        return stable_id("prosecution", "case", case_id, "suspect", suspect_id)

    @classmethod
    def register(
        cls,
        case_id: str,
        suspect_id: str,
        provenance: Provenance,
        occurred_on: date,
        sealed_parketnummer: str = "",
    ) -> SuspectProceedings:
        """Register the case against a suspect, whether or not the police's submission of it
        has reached this service: events on the bus can arrive late. ``sealed_parketnummer``
        is the OM's number as the key store sealed it: the domain never sees it in the clear."""
        proceedings: SuspectProceedings = cls.start(
            cls.id_for(case_id, suspect_id),
            cls.CaseRegistered,
            provenance,
            occurred_on,
            case_id=case_id,
            suspect_id=suspect_id,
        )
        if sealed_parketnummer:
            proceedings.record(
                cls.ParketnummerSealed, provenance, occurred_on, sealed=sealed_parketnummer
            )
        return proceedings

    @staticmethod
    def key_subject(case_id: str, suspect_id: str) -> str:
        """Whose key seals the parketnummer: these proceedings. A parketnummer is the OM's
        number of one suspect's proceedings in one case, and the OM's term runs per
        proceedings; a key per victim would seal one number under several keys and forget
        it with none of them."""
        return f"{case_id}/{suspect_id}"

    @property
    def has_parketnummer(self) -> bool:
        return bool(self.sealed_parketnummer or self.legacy_parketnummer)

    def forget_parketnummer(
        self, provenance: Provenance, occurred_on: date, basis: str, term_code: str, order_id: str
    ) -> None:
        """Record that the key of the parketnummer was destroyed (the caller destroys it)."""
        if not self.sealed_parketnummer:
            raise self._refuse(
                "NO_SEALED_PARKETNUMMER",
                "these proceedings have no sealed parketnummer to forget",
            )
        if self.parketnummer_forgotten_on is not None:
            raise AlreadyExists("the parketnummer of these proceedings is already forgotten")
        self.record(
            self.ParketnummerForgotten,
            provenance,
            occurred_on,
            basis=basis,
            term_code=term_code,
            order_id=order_id,
        )

    def note(self, day: date) -> None:
        self.last_fact_on = max(self.last_fact_on, day)

    def decide(self, decision: str, day: date) -> None:
        self.decision = decision
        self.decided_on = day
        self.note(day)

    @property
    def reopened_on(self) -> date | None:
        return max(self.reopenings, default=None)

    # -- checks -------------------------------------------------------------------------------

    def _refuse(self, reason: str, message: str) -> PreconditionFailed:
        return PreconditionFailed(reason, message, subject=f"{self.case_id}/{self.suspect_id}")

    def _check_fact(self, day: date, what: str) -> None:
        """What every fact after the registration needs: a case that is not final, and a date
        not before the registration."""
        if self.registration_annulled:
            raise self._refuse(
                "REGISTRATION_ANNULLED",
                f"the registration of the case against suspect {self.suspect_id} is "
                f"annulled: no {what}",
            )
        if self.final_on is not None:
            raise self._refuse(
                "CASE_FINAL",
                f"the case against suspect {self.suspect_id} is final "
                f"({self.final_on.isoformat()}): no {what} after that",
            )
        if day < self.registered_on:
            raise self._refuse(
                "DATE_BEFORE_REGISTRATION",
                f"{what} cannot be dated before the OM registered the case "
                f"({self.registered_on.isoformat()})",
            )

    def _check_open_for_decision(self, day: date, what: str, same: str) -> None:
        """A summons, a dismissal and another disposal exclude each other until a re-opening."""
        self._check_fact(day, what)
        if self.decision == same:
            raise AlreadyExists(f"{what} is already recorded for suspect {self.suspect_id}")
        if self.decision == SUMMONED:
            raise self._refuse(
                "SUSPECT_SUMMONED", f"suspect {self.suspect_id} is summoned: no {what}"
            )
        if self.decision == DISMISSED:
            raise self._refuse(
                "CASE_DISMISSED",
                f"the case against suspect {self.suspect_id} is dismissed: "
                f"re-open it before a {what}",
            )
        if self.decision == OTHER_DISPOSAL:
            raise self._refuse(
                "CASE_DISPOSED_OF",
                f"the case against suspect {self.suspect_id} is disposed of "
                f"otherwise: re-open it before a {what}",
            )
        reopened_on = self.reopened_on
        if reopened_on is not None and day < reopened_on:
            raise self._refuse(
                "DATE_BEFORE_REOPENING",
                f"a {what} cannot be dated before the case was re-opened "
                f"({reopened_on.isoformat()})",
            )

    def _check_summoned(self, day: date, what: str) -> date:
        if self.summoned_on is None:
            raise self._refuse(
                "NOT_SUMMONED", f"suspect {self.suspect_id} was not summoned: no {what}"
            )
        if day < self.summoned_on:
            raise self._refuse(
                "DATE_BEFORE_SUMMONS",
                f"a {what} cannot be dated before the summons it follows "
                f"({self.summoned_on.isoformat()})",
            )
        return self.summoned_on

    def _check_appeal(self, day: date, what: str) -> None:
        if FIRST_INSTANCE not in self.verdicts:
            raise self._refuse(
                "NO_FIRST_INSTANCE_VERDICT",
                f"no first-instance verdict for suspect {self.suspect_id}: no {what}",
            )
        if self.appeal_lodged_on is None:
            raise self._refuse(
                "APPEAL_NOT_LODGED",
                f"no appeal was lodged for suspect {self.suspect_id}: no {what}",
            )
        if day < self.appeal_lodged_on:
            raise self._refuse(
                "DATE_BEFORE_APPEAL",
                f"a {what} cannot be dated before the appeal was lodged "
                f"({self.appeal_lodged_on.isoformat()})",
            )

    # -- commands -----------------------------------------------------------------------------

    def _record(
        self,
        event_class: type[ChainAggregate.Event],
        provenance: Provenance,
        occurred_on: date,
        **facts: Any,
    ) -> None:
        self.record(
            event_class,
            provenance,
            occurred_on,
            case_id=self.case_id,
            suspect_id=self.suspect_id,
            **facts,
        )

    def record_correction(
        self,
        event_class: type[ChainAggregate.Event],
        provenance: Provenance,
        occurred_on: date,
        fields: Mapping[str, Any],
    ) -> None:
        """Record a correction ``ketenzicht_common.corrections.correct`` has checked, unless
        a fact recorded at or after the corrected one could then not stand."""
        self.check_correction_fits(fields, f"{self.case_id}/{self.suspect_id}")
        self._record(event_class, provenance, occurred_on, **fields)

    def creation_annulled(self) -> None:
        self.registration_annulled = True

    def restate(self, event: Any) -> bool:
        """State a fact again through its command (`FollowsCorrections`)."""
        by = provenance_of(event)
        day = event.occurred_on
        match type(event).__name__:
            case "SuspectSummoned":
                self.summon(by, day)
            case "CaseDismissed":
                self.dismiss(by, day, event.kind, event.code)
            case "OtherDisposalDecided":
                self.dispose_otherwise(by, day, event.kind)
            case "CaseReopened":
                self.reopen(by, day)
            case "CourtHearingHeld":
                self.hold_court_hearing(by, day, event.instance)
            case "VerdictDelivered":
                self.deliver_verdict(by, day, event.instance, event.outcome)
            case "AppealLodged":
                self.lodge_appeal(by, day)
            case "CaseFinal":
                self.mark_final(by, day)
            case _:
                return False  # the registration (applied as it stands) or private
        return True

    def summon(self, provenance: Provenance, occurred_on: date) -> None:
        self._check_open_for_decision(occurred_on, "summons", SUMMONED)
        self._record(self.SuspectSummoned, provenance, occurred_on)

    def dismiss(self, provenance: Provenance, occurred_on: date, kind: str, code: str) -> None:
        self._check_open_for_decision(occurred_on, "dismissal", DISMISSED)
        self._record(self.CaseDismissed, provenance, occurred_on, kind=kind, code=code)

    def dispose_otherwise(self, provenance: Provenance, occurred_on: date, kind: str) -> None:
        self._check_open_for_decision(occurred_on, "other disposal", OTHER_DISPOSAL)
        self._record(self.OtherDisposalDecided, provenance, occurred_on, kind=kind)

    def reopen(self, provenance: Provenance, occurred_on: date) -> None:
        self._check_fact(occurred_on, "re-opening")
        if self.decision not in (DISMISSED, OTHER_DISPOSAL):
            raise self._refuse(
                "NOT_DISPOSED_OF",
                f"the case against suspect {self.suspect_id} is neither "
                "dismissed nor disposed of: nothing to re-open",
            )
        assert self.decided_on is not None
        if occurred_on < self.decided_on:
            raise self._refuse(
                "DATE_BEFORE_DECISION",
                "a re-opening cannot be dated before the decision it undoes "
                f"({self.decided_on.isoformat()})",
            )
        self._record(self.CaseReopened, provenance, occurred_on)

    def hold_court_hearing(self, provenance: Provenance, occurred_on: date, instance: str) -> None:
        # A hearing that took place before the case became final may be registered late; it
        # changes nothing about how the case ended.
        if self.final_on is None or occurred_on > self.final_on:
            self._check_fact(occurred_on, "court hearing")
        self._check_summoned(occurred_on, "court hearing")
        if instance == APPEAL:
            self._check_appeal(occurred_on, "appeal hearing")
        self._record(self.CourtHearingHeld, provenance, occurred_on, instance=instance)

    def deliver_verdict(
        self, provenance: Provenance, occurred_on: date, instance: str, outcome: str
    ) -> None:
        self._check_fact(occurred_on, "verdict")
        self._check_summoned(occurred_on, "verdict")
        if instance == APPEAL:
            self._check_appeal(occurred_on, "appeal verdict")
        if instance in self.verdicts:
            raise AlreadyExists(
                f"the {instance.lower().replace('_', '-')} verdict for suspect "
                f"{self.suspect_id} is already recorded"
            )
        self._record(
            self.VerdictDelivered, provenance, occurred_on, instance=instance, outcome=outcome
        )

    def lodge_appeal(self, provenance: Provenance, occurred_on: date) -> None:
        self._check_fact(occurred_on, "appeal")
        first = self.verdicts.get(FIRST_INSTANCE)
        if first is None:
            raise self._refuse(
                "NO_FIRST_INSTANCE_VERDICT",
                f"no first-instance verdict for suspect {self.suspect_id}: an appeal needs one",
            )
        if occurred_on < first[1]:
            raise self._refuse(
                "DATE_BEFORE_VERDICT",
                "an appeal cannot be dated before the first-instance verdict "
                f"({first[1].isoformat()})",
            )
        if self.appeal_lodged_on is not None:
            raise AlreadyExists(f"an appeal is already lodged for suspect {self.suspect_id}")
        self._record(self.AppealLodged, provenance, occurred_on)

    def mark_final(self, provenance: Provenance, occurred_on: date) -> None:
        if self.final_on is not None:
            raise AlreadyExists(f"the case against suspect {self.suspect_id} is already final")
        self._check_fact(occurred_on, "finality")
        if not self.verdicts:
            raise self._refuse(
                "NO_VERDICT", f"no verdict for suspect {self.suspect_id}: nothing can become final"
            )
        if self.appeal_lodged_on is not None and APPEAL not in self.verdicts:
            raise self._refuse(
                "APPEAL_PENDING", f"the appeal of suspect {self.suspect_id} awaits its verdict"
            )
        if occurred_on < self.last_fact_on:
            raise self._refuse(
                "DATE_BEFORE_LAST_FACT",
                "finality cannot be dated before a fact already recorded "
                f"({self.last_fact_on.isoformat()})",
            )
        self._record(self.CaseFinal, provenance, occurred_on)


SuspectProceedings.FactAnnulled = ProsecutionCase.FactAnnulled
SuspectProceedings.FactAmended = ProsecutionCase.FactAmended


class Parketnummer(ChainAggregate):
    """Which proceedings an OM parketnummer belonged to, in stores written before the numbers
    were sealed. Private: never on the bus. No longer created: its id was an unkeyed hash of
    the number, which anyone with the store recomputes by trying every number; the lookup is
    now the OM key store's blind index (docs/adr/0020-crypto-shredding-of-source-identifiers.md).
    Kept so that such a store still loads and answers.
    """

    TOPIC = "prosecution:Parketnummer"

    class Opened(ChainCreated):
        TOPIC = "prosecution:Parketnummer.Opened.v1"
        case_id: str
        suspect_id: str

        def apply(self, number: Parketnummer) -> None:
            number.case_id = self.case_id
            number.suspect_id = self.suspect_id
            number.organisation = self.provenance["organisation"]

    def __init__(self) -> None:
        self.case_id = ""
        self.suspect_id = ""
        self.organisation = ""
        """The OM organisation that registered the number: the only one that may look it up."""

    @staticmethod
    def id_for(parketnummer: str) -> UUID:
        return stable_id("prosecution", "parketnummer", parketnummer)

    @classmethod
    def link(
        cls,
        parketnummer: str,
        case_id: str,
        suspect_id: str,
        provenance: Provenance,
        occurred_on: date,
    ) -> Parketnummer:
        number: Parketnummer = cls.start(
            cls.id_for(parketnummer),
            cls.Opened,
            provenance,
            occurred_on,
            case_id=case_id,
            suspect_id=suspect_id,
        )
        return number
