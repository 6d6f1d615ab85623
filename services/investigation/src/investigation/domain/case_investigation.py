"""Everything the police's investigation (opsporing) knows of one case. Pure: no I/O.

One aggregate per case pseudonym: the facts of one investigation are decided together (a
suspect is submitted only once identified, nothing is dated before the opening), while the
victim's own track lives in intake and the OM's part in prosecution.

Late registrations are normal: the order in which facts arrive is not the order of the facts.
So the rules compare business dates (``occurred_on``), not arrival: a police interview dated
while the investigation was open is accepted even when it arrives after the close.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from ketenzicht_common.domain import (
    ChainAggregate,
    ChainCreated,
    FactAmendedEvent,
    FactAnnulledEvent,
    FollowsCorrections,
    Provenance,
    provenance_of,
    stable_id,
)
from ketenzicht_common.errors import AlreadyExists, PreconditionFailed

SUBMITTED = "SUBMITTED"


@dataclass
class Period:
    """One stretch of investigation, from an opening to its close (if any)."""

    opened_on: date
    closed_on: date | None = None
    close_reason: str = ""

    def covers(self, day: date) -> bool:
        return self.opened_on <= day and (self.closed_on is None or day <= self.closed_on)


@dataclass
class Suspension:
    """Schorsing: the investigation stands still from ``start`` until ``end`` (exclusive)."""

    start: date
    end: date | None = None

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day < self.end)


class CaseInvestigation(FollowsCorrections, ChainAggregate):
    """The investigation of one case by police, KMar or the Labour Inspectorate.

    Its state is that of its facts as they now stand: a correction restates it
    (`FollowsCorrections`), so every check below reads the corrected facts, and a correction
    after which a later fact could not stand is refused."""

    TOPIC = "investigation:CaseInvestigation"

    class Opened(ChainCreated):
        """The case entered the chain and ketenzicht issued its pseudonym (``OpenCase``).
        Private: no fact about it."""

        TOPIC = "investigation:CaseInvestigation.Opened.v1"
        case_id: str

        def apply(self, case: CaseInvestigation) -> None:
            case.case_id = self.case_id
            case.registered_on = self.occurred_on
            case.registered_by = self.provenance["organisation"]

    class PoliceRegistrationNumberRecorded(ChainAggregate.Event):
        """The police's registration number in the clear, as stores written before the numbers
        were sealed hold it. Private. No longer recorded: kept so that such a store still loads
        (its numbers cannot be forgotten by destroying a key; see ADR 0020)."""

        TOPIC = "investigation:Private.PoliceRegistrationNumberRecorded.v1"
        police_registration_number: str

        def apply(self, case: CaseInvestigation) -> None:
            case.legacy_registration_number = self.police_registration_number
            case.registered_by = self.provenance["organisation"]

    class PoliceRegistrationNumberSealed(ChainAggregate.Event):
        """The police's own registration number of the case, sealed under the case's key in
        the police's key store (`ketenzicht_common.subject_keys`). Private: never on the bus;
        without the key it is noise."""

        TOPIC = "investigation:Private.PoliceRegistrationNumberSealed.v1"
        sealed: str

        def apply(self, case: CaseInvestigation) -> None:
            case.sealed_registration_number = self.sealed

    class PoliceRegistrationNumberForgotten(ChainAggregate.Event):
        """The key that sealed the registration number was destroyed (crypto-shredding): on an
        erasure order of the organisation that registered the case, or because its retention
        term passed. Private; it names the basis only (``ERASURE_ORDER`` with the order's id,
        or ``RETENTION`` with the term's code), never the number."""

        TOPIC = "investigation:Private.PoliceRegistrationNumberForgotten.v1"
        basis: str
        term_code: str
        order_id: str

        def apply(self, case: CaseInvestigation) -> None:
            case.registration_number_forgotten_on = self.occurred_on

    class InvestigationOpened(ChainAggregate.Event):
        """Start (or restart) of the opsporingsonderzoek."""

        TOPIC = "investigation:InvestigationOpened.v1"
        case_id: str

        def apply(self, case: CaseInvestigation) -> None:
            case.periods.append(Period(self.occurred_on))
            case.not_investigated = False
            case.last_fact_on = None

    class SuspectIdentified(ChainAggregate.Event):
        """A verdachte is identified (pseudonymous id)."""

        TOPIC = "investigation:SuspectIdentified.v1"
        case_id: str
        suspect_id: str

        def apply(self, case: CaseInvestigation) -> None:
            case.suspects[self.suspect_id] = self.occurred_on
            case.note(self.occurred_on)

    class VictimHeard(ChainAggregate.Event):
        """Verhoor of the victim by the police, with or without the police psychologist."""

        TOPIC = "investigation:VictimHeard.v1"
        case_id: str
        victim_id: str
        with_police_psychologist: bool

        def apply(self, case: CaseInvestigation) -> None:
            case.heard_victims.setdefault(self.victim_id, []).append(self.occurred_on)
            case.note(self.occurred_on)

    class InvestigationSuspended(ChainAggregate.Event):
        """Schorsing of the investigation (e.g. no capacity, waiting for a legal request)."""

        TOPIC = "investigation:InvestigationSuspended.v1"
        case_id: str

        def apply(self, case: CaseInvestigation) -> None:
            # A late suspension dated within a period that is already closed ended with it.
            period = next(p for p in reversed(case.periods) if p.covers(self.occurred_on))
            case.suspensions.append(Suspension(self.occurred_on, period.closed_on))
            case.note(self.occurred_on)

    class InvestigationResumed(ChainAggregate.Event):
        TOPIC = "investigation:InvestigationResumed.v1"
        case_id: str

        def apply(self, case: CaseInvestigation) -> None:
            open_suspension = case.open_suspension
            assert open_suspension is not None
            open_suspension.end = self.occurred_on
            case.note(self.occurred_on)

    class CaseSubmittedToProsecution(ChainAggregate.Event):
        """Inzending van het proces-verbaal aan het OM, for the listed suspects."""

        TOPIC = "investigation:CaseSubmittedToProsecution.v1"
        case_id: str
        suspect_ids: list[str]

        def apply(self, case: CaseInvestigation) -> None:
            for suspect_id in self.suspect_ids:
                case.submitted.setdefault(suspect_id, self.occurred_on)
            case.note(self.occurred_on)

    class InvestigationClosed(ChainAggregate.Event):
        """The investigation ends: no leads, no jurisdiction, or submitted to the OM."""

        TOPIC = "investigation:InvestigationClosed.v1"
        case_id: str
        reason: str

        def apply(self, case: CaseInvestigation) -> None:
            period = case.periods[-1]
            period.closed_on = self.occurred_on
            period.close_reason = self.reason
            # Closing ends a suspension that is still running.
            open_suspension = case.open_suspension
            if open_suspension is not None:
                open_suspension.end = self.occurred_on

    class NoInvestigationDecided(ChainAggregate.Event):
        """Besluit om niet op te sporen: the police or OM decide not to investigate a report."""

        TOPIC = "investigation:NoInvestigationDecided.v1"
        case_id: str

        def apply(self, case: CaseInvestigation) -> None:
            case.no_investigation_on = self.occurred_on
            case.not_investigated = True

    class FactAnnulled(FactAnnulledEvent):
        """The police annul one of their facts of this case (nietig): it never happened, or
        not in this case. The case's state is restated without it."""

        TOPIC = "investigation:FactAnnulled.v1"
        case_id: str

    class FactAmended(FactAmendedEvent):
        """The police amend one of their facts of this case (herstel): a corrected date or
        category. The case's state is restated with it."""

        TOPIC = "investigation:FactAmended.v1"
        case_id: str

    def __init__(self) -> None:
        self.case_id = ""
        self.registered_on: date | None = None
        self.registered_by = ""
        """The organisation that registered the case (and owns its registration number)."""
        self.sealed_registration_number = ""
        """The police registration number sealed (``subject_keys``): the domain never sees it
        in the clear."""
        self.legacy_registration_number = ""
        """The number in the clear, in a store written before the numbers were sealed."""
        self.registration_number_forgotten_on: date | None = None
        self.periods: list[Period] = []
        self.suspects: dict[str, date] = {}
        self.heard_victims: dict[str, list[date]] = {}
        self.suspensions: list[Suspension] = []
        self.submitted: dict[str, date] = {}
        self.no_investigation_on: date | None = None
        self.not_investigated = False
        self.last_fact_on: date | None = None
        """The latest business date of a fact in the current period, for the close."""

    # -- identity and state -------------------------------------------------------------------

    @staticmethod
    def id_for(case_id: str) -> UUID:
        return stable_id("investigation", "case", case_id)

    @staticmethod
    def key_subject(case_id: str) -> str:
        """Whose key seals the registration number: the case. The police's number numbers a
        case (one investigation, whatever its victims and suspects), and the Wpg term runs
        per investigation; a key per victim would seal one number under several keys."""
        return case_id

    @classmethod
    def register(
        cls,
        case_id: str,
        sealed_registration_number: str,
        provenance: Provenance,
        occurred_on: date,
    ) -> CaseInvestigation:
        """A case enters the chain under the pseudonym ketenzicht issued for it, with the
        source's own number kept beside it, sealed (docs/adr/0023, 0020): the domain never
        sees it in the clear."""
        case: CaseInvestigation = cls.start(
            cls.id_for(case_id), cls.Opened, provenance, occurred_on, case_id=case_id
        )
        case.record(
            cls.PoliceRegistrationNumberSealed,
            provenance,
            occurred_on,
            sealed=sealed_registration_number,
        )
        return case

    def forget_registration_number(
        self, provenance: Provenance, occurred_on: date, basis: str, term_code: str, order_id: str
    ) -> None:
        """Record that the key of the registration number was destroyed (the caller destroys
        it)."""
        if not self.sealed_registration_number:
            raise self._refuse(
                "NO_SEALED_REGISTRATION_NUMBER",
                "this case has no sealed police registration number to forget",
            )
        if self.registration_number_forgotten_on is not None:
            raise AlreadyExists("the police registration number of this case is already forgotten")
        self.record(
            self.PoliceRegistrationNumberForgotten,
            provenance,
            occurred_on,
            basis=basis,
            term_code=term_code,
            order_id=order_id,
        )

    @property
    def ended_on(self) -> date | None:
        """The day the investigation last ended (its last close, or a decision not to
        investigate, the later of the two), or None while it is open or never ended."""
        if self.is_open:
            return None
        last_close = self.periods[-1].closed_on if self.periods else None
        ends = [d for d in (last_close, self.no_investigation_on) if d is not None]
        return max(ends, default=None)

    def note(self, day: date) -> None:
        if self.last_fact_on is None or day > self.last_fact_on:
            self.last_fact_on = day

    @property
    def is_open(self) -> bool:
        return bool(self.periods) and self.periods[-1].closed_on is None

    @property
    def open_suspension(self) -> Suspension | None:
        return next((s for s in self.suspensions if s.end is None), None)

    @property
    def status(self) -> str:
        """OPEN, SUSPENDED, CLOSED or NOT_INVESTIGATED (as the proto's InvestigationStatus)."""
        if self.is_open:
            return "SUSPENDED" if self.open_suspension is not None else "OPEN"
        return "NOT_INVESTIGATED" if self.not_investigated else "CLOSED"

    @property
    def first_opened_on(self) -> date | None:
        return self.periods[0].opened_on if self.periods else None

    def suspended_on(self, day: date) -> bool:
        return any(s.covers(day) for s in self.suspensions)

    # -- checks -------------------------------------------------------------------------------

    def _refuse(self, reason: str, message: str) -> PreconditionFailed:
        return PreconditionFailed(reason, message, subject=self.case_id)

    def _check_under_investigation(self, day: date, what: str) -> None:
        """A fact of the investigation needs an investigation that ran on its date."""
        if not self.periods:
            raise self._refuse(
                "INVESTIGATION_NOT_OPENED",
                f"{what} needs an opened investigation in case {self.case_id}",
            )
        first = self.periods[0].opened_on
        if day < first:
            raise self._refuse(
                "DATE_BEFORE_OPENING",
                f"{what} cannot be dated before the investigation was opened ({first.isoformat()})",
            )
        if not any(p.covers(day) for p in self.periods):
            raise self._refuse(
                "INVESTIGATION_CLOSED",
                f"the investigation of case {self.case_id} was closed on that date",
            )

    # -- commands -----------------------------------------------------------------------------

    def _record(
        self,
        event_class: type[ChainAggregate.Event],
        provenance: Provenance,
        occurred_on: date,
        **facts: Any,
    ) -> None:
        self.record(event_class, provenance, occurred_on, case_id=self.case_id, **facts)

    def record_correction(
        self,
        event_class: type[ChainAggregate.Event],
        provenance: Provenance,
        occurred_on: date,
        fields: Mapping[str, Any],
    ) -> None:
        """Record a correction ``ketenzicht_common.corrections.correct`` has checked, unless
        a fact recorded at or after the corrected one could then not stand."""
        self.check_correction_fits(fields, self.case_id)
        self._record(event_class, provenance, occurred_on, **fields)

    def restate(self, event: Any) -> bool:
        """State a fact again through its command (`FollowsCorrections`)."""
        by = provenance_of(event)
        day = event.occurred_on
        match type(event).__name__:
            case "InvestigationOpened":
                self.open_investigation(by, day)
            case "SuspectIdentified":
                self.identify_suspect(by, day, event.suspect_id)
            case "VictimHeard":
                self.hear_victim(by, day, event.victim_id, event.with_police_psychologist)
            case "InvestigationSuspended":
                self.suspend(by, day)
            case "InvestigationResumed":
                self.resume(by, day)
            case "CaseSubmittedToProsecution":
                self.submit_to_prosecution(by, day, list(event.suspect_ids))
            case "InvestigationClosed":
                self.close(by, day, event.reason)
            case "NoInvestigationDecided":
                self.decide_no_investigation(by, day)
            case _:
                return False  # private: no fact
        return True

    def check_open(self, occurred_on: date) -> None:
        """Whether the investigation may be opened on that date."""
        if self.is_open:
            raise AlreadyExists(f"the investigation of case {self.case_id} is already open")
        if self.periods:
            closed_on = self.periods[-1].closed_on
            assert closed_on is not None
            if occurred_on < closed_on:
                raise self._refuse(
                    "DATE_BEFORE_CLOSE",
                    "a re-opening cannot be dated before the investigation was "
                    f"closed ({closed_on.isoformat()})",
                )
        if self.no_investigation_on is not None and occurred_on < self.no_investigation_on:
            raise self._refuse(
                "NO_INVESTIGATION_DECIDED",
                "an investigation cannot be opened before the decision not to "
                f"investigate ({self.no_investigation_on.isoformat()})",
            )

    def open_investigation(self, provenance: Provenance, occurred_on: date) -> None:
        """Open, or re-open after a close. The victim's report belongs to intake, which this
        service never reads, and may still be on its way over the bus: it is not required."""
        self.check_open(occurred_on)
        self._record(self.InvestigationOpened, provenance, occurred_on)

    def identify_suspect(self, provenance: Provenance, occurred_on: date, suspect_id: str) -> None:
        self._check_under_investigation(occurred_on, "identifying a suspect")
        if suspect_id in self.suspects:
            raise AlreadyExists(
                f"suspect {suspect_id} is already identified in case {self.case_id}"
            )
        self._record(self.SuspectIdentified, provenance, occurred_on, suspect_id=suspect_id)

    def hear_victim(
        self,
        provenance: Provenance,
        occurred_on: date,
        victim_id: str,
        with_police_psychologist: bool,
    ) -> None:
        # A victim may be heard more than once; a retry is caught by its command id instead.
        self._check_under_investigation(occurred_on, "a police interview")
        self._record(
            self.VictimHeard,
            provenance,
            occurred_on,
            victim_id=victim_id,
            with_police_psychologist=with_police_psychologist,
        )

    def suspend(self, provenance: Provenance, occurred_on: date) -> None:
        self._check_under_investigation(occurred_on, "a suspension")
        # One open suspension at a time, so that a resumption knows which one it ends.
        if self.open_suspension is not None or self.suspended_on(occurred_on):
            raise AlreadyExists(f"the investigation of case {self.case_id} is already suspended")
        self._record(self.InvestigationSuspended, provenance, occurred_on)

    def resume(self, provenance: Provenance, occurred_on: date) -> None:
        suspension = self.open_suspension
        if suspension is None:
            raise self._refuse(
                "NOT_SUSPENDED", f"the investigation of case {self.case_id} is not suspended"
            )
        if occurred_on < suspension.start:
            raise self._refuse(
                "DATE_BEFORE_SUSPENSION",
                "a resumption cannot be dated before its suspension "
                f"({suspension.start.isoformat()})",
            )
        self._record(self.InvestigationResumed, provenance, occurred_on)

    def submit_to_prosecution(
        self, provenance: Provenance, occurred_on: date, suspect_ids: list[str]
    ) -> None:
        """Send the proces-verbaal to the OM. No suspects named: every identified one."""
        self._check_under_investigation(occurred_on, "a submission to the OM")
        if self.suspended_on(occurred_on):
            raise self._refuse(
                "INVESTIGATION_SUSPENDED",
                f"the investigation of case {self.case_id} is suspended on that date",
            )
        named = sorted(set(suspect_ids)) if suspect_ids else sorted(self.suspects)
        if not named:
            raise self._refuse("NO_SUSPECT", f"no suspect is identified in case {self.case_id}")
        unknown = [s for s in named if s not in self.suspects]
        if unknown:
            raise self._refuse(
                "SUSPECT_NOT_IDENTIFIED",
                f"suspect {unknown[0]} is not identified in case {self.case_id}",
            )
        too_early = [s for s in named if occurred_on < self.suspects[s]]
        if too_early:
            raise self._refuse(
                "DATE_BEFORE_IDENTIFICATION",
                f"suspect {too_early[0]} was identified after that date",
            )
        if all(s in self.submitted for s in named):
            raise AlreadyExists(f"every named suspect of case {self.case_id} is already submitted")
        self._record(self.CaseSubmittedToProsecution, provenance, occurred_on, suspect_ids=named)

    def close(self, provenance: Provenance, occurred_on: date, reason: str) -> None:
        if not self.periods:
            raise self._refuse(
                "INVESTIGATION_NOT_OPENED", f"no investigation was opened in case {self.case_id}"
            )
        if not self.is_open:
            raise self._refuse(
                "INVESTIGATION_CLOSED",
                f"the investigation of case {self.case_id} is already closed",
            )
        period = self.periods[-1]
        if occurred_on < period.opened_on:
            raise self._refuse(
                "DATE_BEFORE_OPENING",
                "a close cannot be dated before the investigation was opened "
                f"({period.opened_on.isoformat()})",
            )
        if self.last_fact_on is not None and occurred_on < self.last_fact_on:
            raise self._refuse(
                "DATE_BEFORE_LAST_FACT",
                "a close cannot be dated before a fact already recorded in this "
                f"investigation ({self.last_fact_on.isoformat()})",
            )
        if reason == SUBMITTED and not any(d <= occurred_on for d in self.submitted.values()):
            raise self._refuse(
                "NOT_SUBMITTED", f"case {self.case_id} was not submitted to the OM by that date"
            )
        self._record(self.InvestigationClosed, provenance, occurred_on, reason=reason)

    def decide_no_investigation(self, provenance: Provenance, occurred_on: date) -> None:
        if self.is_open:
            raise self._refuse(
                "INVESTIGATION_OPEN", f"an investigation of case {self.case_id} is open"
            )
        if self.not_investigated:
            raise AlreadyExists(f"not investigating case {self.case_id} was already decided")
        if self.periods:
            closed_on = self.periods[-1].closed_on
            assert closed_on is not None
            if occurred_on < closed_on:
                raise self._refuse(
                    "DATE_BEFORE_CLOSE",
                    "the decision cannot be dated before the investigation was "
                    f"closed ({closed_on.isoformat()})",
                )
        self._record(self.NoInvestigationDecided, provenance, occurred_on)


class PoliceRegistration(ChainAggregate):
    """Which case pseudonym was issued for a police registration number, in stores written
    before the numbers were sealed. Private: never on the bus. No longer created: its id was
    an unkeyed hash of the number, which anyone with the store recomputes by trying every
    number; the lookup is now the police key store's blind index
    (docs/adr/0020-crypto-shredding-of-source-identifiers.md). Kept so that such a store still
    loads and answers.
    """

    TOPIC = "investigation:PoliceRegistration"

    class Opened(ChainCreated):
        TOPIC = "investigation:PoliceRegistration.Opened.v1"
        case_id: str

        def apply(self, registration: PoliceRegistration) -> None:
            registration.case_id = self.case_id
            registration.organisation = self.provenance["organisation"]

    def __init__(self) -> None:
        self.case_id = ""
        self.organisation = ""
        """The organisation that registered the number: the only one that may look it up."""

    @staticmethod
    def id_for(number: str) -> UUID:
        return stable_id("investigation", "police-registration-number", number)

    @classmethod
    def link(
        cls, number: str, case_id: str, provenance: Provenance, occurred_on: date
    ) -> PoliceRegistration:
        registration: PoliceRegistration = cls.start(
            cls.id_for(number), cls.Opened, provenance, occurred_on, case_id=case_id
        )
        return registration


CORRECTION_TOPICS = frozenset(
    {CaseInvestigation.FactAnnulled.TOPIC, CaseInvestigation.FactAmended.TOPIC}
)

PRIVATE_TOPICS = frozenset(
    {
        CaseInvestigation.Opened.TOPIC,
        CaseInvestigation.PoliceRegistrationNumberRecorded.TOPIC,
        CaseInvestigation.PoliceRegistrationNumberSealed.TOPIC,
        CaseInvestigation.PoliceRegistrationNumberForgotten.TOPIC,
        PoliceRegistration.Opened.TOPIC,
    }
)
"""Topics that stay in the investigation store: they hold no chain fact or a source id."""
