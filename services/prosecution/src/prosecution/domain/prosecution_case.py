"""What the OM knows of a case as a whole: its suspects, and the facts about its victims.
Pure: no I/O.

The examining magistrate's hearing of a victim (verhoor door de rechter-commissaris) and the
presence assessment of a Dublin claimant concern a victim in the case, not one suspect, so
they live in one aggregate per case. Neither needs a suspect registered first: the OM's
systems may enter a hearing before the registration, and arrival order is not fact order.
"""

from __future__ import annotations

from collections.abc import Mapping
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
from ketenzicht_common.errors import AlreadyExists


class ProsecutionCase(FollowsCorrections, ChainAggregate):
    """The OM's view of one case pseudonym. Its state is that of its facts as they now stand
    (`FollowsCorrections`)."""

    TOPIC = "prosecution:ProsecutionCase"

    class Opened(ChainCreated):
        """The case became known to the OM's service. Private: no fact about it."""

        TOPIC = "prosecution:ProsecutionCase.Opened.v1"
        case_id: str

        def apply(self, case: ProsecutionCase) -> None:
            case.case_id = self.case_id

    class SuspectAdded(ChainAggregate.Event):
        """A suspect was registered in the case. Private: the public fact is CaseRegistered on
        the suspect's proceedings; this only lets the case list its suspects."""

        TOPIC = "prosecution:Private.SuspectAdded.v1"
        suspect_id: str

        def apply(self, case: ProsecutionCase) -> None:
            case.suspects[self.suspect_id] = self.occurred_on

    class ExaminingMagistrateHearingHeld(ChainAggregate.Event):
        """Verhoor van het slachtoffer door de rechter-commissaris."""

        TOPIC = "prosecution:ExaminingMagistrateHearingHeld.v1"
        case_id: str
        victim_id: str

        def apply(self, case: ProsecutionCase) -> None:
            case.hearings.setdefault(self.victim_id, []).append(self.occurred_on)

    class PresenceAssessed(ChainAggregate.Event):
        """For a Dublin claimant: is the victim's presence necessary for the case?"""

        TOPIC = "prosecution:PresenceAssessed.v1"
        case_id: str
        victim_id: str
        presence_necessary: bool

        def apply(self, case: ProsecutionCase) -> None:
            case.presence[self.victim_id] = (self.presence_necessary, self.occurred_on)

    # The OM's corrections of its facts, of the case's and (shared: see SuspectProceedings)
    # of the proceedings against a suspect. ``suspect_id`` is None for a fact of the case.
    class FactAnnulled(FactAnnulledEvent):
        """The OM annuls one of its facts (nietig): it never happened, or not in this case or
        against this suspect. The state of the aggregate that holds the fact is restated
        without it."""

        TOPIC = "prosecution:FactAnnulled.v1"
        case_id: str
        suspect_id: str | None

    class FactAmended(FactAmendedEvent):
        """The OM amends one of its facts (herstel): a corrected date or category. The state of
        the aggregate that holds the fact is restated with it."""

        TOPIC = "prosecution:FactAmended.v1"
        case_id: str
        suspect_id: str | None

    def __init__(self) -> None:
        self.case_id = ""
        self.suspects: dict[str, date] = {}
        self.hearings: dict[str, list[date]] = {}
        self.presence: dict[str, tuple[bool, date]] = {}

    @staticmethod
    def id_for(case_id: str) -> UUID:
        return stable_id("prosecution", "case", case_id)

    @classmethod
    def create(cls, case_id: str, provenance: Provenance, occurred_on: date) -> ProsecutionCase:
        case: ProsecutionCase = cls.start(
            cls.id_for(case_id), cls.Opened, provenance, occurred_on, case_id=case_id
        )
        return case

    def add_suspect(self, provenance: Provenance, occurred_on: date, suspect_id: str) -> None:
        if suspect_id not in self.suspects:
            self.record(self.SuspectAdded, provenance, occurred_on, suspect_id=suspect_id)

    def hold_examining_magistrate_hearing(
        self, provenance: Provenance, occurred_on: date, victim_id: str
    ) -> None:
        # A victim may be heard more than once; a retry is caught by its command id instead.
        self.record(
            self.ExaminingMagistrateHearingHeld,
            provenance,
            occurred_on,
            case_id=self.case_id,
            victim_id=victim_id,
        )

    def assess_presence(
        self, provenance: Provenance, occurred_on: date, victim_id: str, necessary: bool
    ) -> None:
        # One assessment per victim and case: the IND's Dublin track (R8) rests on it.
        if victim_id in self.presence:
            raise AlreadyExists(
                f"the presence of victim {victim_id} in case {self.case_id} was already assessed"
            )
        self.record(
            self.PresenceAssessed,
            provenance,
            occurred_on,
            case_id=self.case_id,
            victim_id=victim_id,
            presence_necessary=necessary,
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
        self.check_correction_fits(fields, self.case_id)
        self.record(
            event_class, provenance, occurred_on, case_id=self.case_id, suspect_id=None, **fields
        )

    def restate(self, event: Any) -> bool:
        """State a fact again through its command (`FollowsCorrections`)."""
        by = provenance_of(event)
        match type(event).__name__:
            case "ExaminingMagistrateHearingHeld":
                self.hold_examining_magistrate_hearing(by, event.occurred_on, event.victim_id)
            case "PresenceAssessed":
                self.assess_presence(
                    by, event.occurred_on, event.victim_id, event.presence_necessary
                )
            case _:
                return False  # private: no fact
        return True


CORRECTION_TOPICS = frozenset(
    {ProsecutionCase.FactAnnulled.TOPIC, ProsecutionCase.FactAmended.TOPIC}
)

PRIVATE_TOPICS = frozenset(
    {
        ProsecutionCase.Opened.TOPIC,
        ProsecutionCase.SuspectAdded.TOPIC,
    }
)
