"""Everything intake knows of one possible victim, from the first signal on. Pure: no I/O.

One aggregate per victim pseudonym: the victim's facts are decided together (a report needs
a signal, a second report in the same case is refused), while facts about other victims and
about the case itself live elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any
from uuid import UUID

from intake.domain.reflection_offer import (
    DEFAULT_OFFER_SETTINGS,
    REFUSAL_REASON,
    ReflectionOfferSettings,
    SignalSituation,
    reflection_offer_refusal,
)
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
from ketenzicht_common.errors import AlreadyExists, NotTheOwner, PreconditionFailed

PILOT_INTERVENTION_EVENTS = {
    "POLICE_PSYCHOLOGIST": "PolicePsychologistDeployed",
    "SAFETY_COORDINATOR": "SafetyCoordinatorAssigned",
    "PEER_SUPPORT": "PeerSupportAssigned",
}
PILOT_INTERVENTIONS = {event: kind for kind, event in PILOT_INTERVENTION_EVENTS.items()}


class VictimTrack(FollowsCorrections, ChainAggregate):
    """The victim's track in intake (police, KMar, Labour Inspectorate).

    Its state is that of its facts as they now stand: a correction restates it
    (`FollowsCorrections`), so every check below reads the corrected facts."""

    CORRECTION_TOLERATES = frozenset({REFUSAL_REASON})
    """R4 on an offer already made: the offer happened, and what the corrected signal means
    for it is residence's finding; only an order of facts stops a correction."""

    TOPIC = "intake:VictimTrack"

    class Opened(ChainCreated):
        """The pseudonym was issued. Private to intake: it carries no fact about the case."""

        TOPIC = "intake:VictimTrack.Opened.v1"
        victim_id: str

        def apply(self, track: VictimTrack) -> None:
            track.victim_id = self.victim_id

    class SignalRegistered(ChainAggregate.Event):
        """Melding/signaal: a possible victim comes into view."""

        TOPIC = "intake:SignalRegistered.v1"
        victim_id: str
        signal_id: str
        source_organisation: str
        form: str
        minor: bool
        nationality_group: str
        residence_position: str
        region: str

        def apply(self, track: VictimTrack) -> None:
            track.signals.append(self.occurred_on)
            track.signalled_by.add(self.provenance.get("organisation", ""))
            track.situations.append(
                SignalSituation(self.occurred_on, self.nationality_group, self.residence_position)
            )
            track.out_of_sight = False
            track.reflection_offered = False
            track.reflection_declined = False
            track.cooperation_impossible = set()

    class InformativeInterviewHeld(ChainAggregate.Event):
        """Informatief gesprek."""

        TOPIC = "intake:InformativeInterviewHeld.v1"
        victim_id: str

    class ReflectionPeriodOffered(ChainAggregate.Event):
        """B8 bedenktijd offered."""

        TOPIC = "intake:ReflectionPeriodOffered.v1"
        victim_id: str

        def apply(self, track: VictimTrack) -> None:
            track.reflection_offered = True

    class ReflectionPeriodDeclined(ChainAggregate.Event):
        TOPIC = "intake:ReflectionPeriodDeclined.v1"
        victim_id: str

        def apply(self, track: VictimTrack) -> None:
            track.reflection_declined = True

    class ReportFiled(ChainAggregate.Event):
        """Aangifte, optionally under number, by the victim or a witness (getuige-aangever).

        Class version 2 added ``capacity``; a version 1 event in the store was a victim's."""

        TOPIC = "intake:ReportFiled.v1"
        class_version = 2
        victim_id: str
        case_id: str
        under_number: bool
        capacity: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["capacity"] = "VICTIM"

        def apply(self, track: VictimTrack) -> None:
            track.reports[self.case_id] = self.occurred_on
            track.capacities.append((self.occurred_on, self.capacity))

    class CooperationDeclared(ChainAggregate.Event):
        """Medewerking anders dan door aangifte; ``capacity`` as in `ReportFiled` (class
        version 2, a version 1 event was a victim's)."""

        TOPIC = "intake:CooperationDeclared.v1"
        class_version = 2
        victim_id: str
        case_id: str
        capacity: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["capacity"] = "VICTIM"

        def apply(self, track: VictimTrack) -> None:
            track.cooperations[self.case_id] = self.occurred_on
            track.capacities.append((self.occurred_on, self.capacity))

    class CooperationImpossibleRecorded(ChainAggregate.Event):
        """Aangifte of medewerking niet mogelijk (Vc 2000 B8/3): a serious threat, or a medical
        or psychological limitation. The reason is a category only."""

        TOPIC = "intake:CooperationImpossibleRecorded.v1"
        victim_id: str
        reason: str

        def apply(self, track: VictimTrack) -> None:
            track.cooperation_impossible.add(self.reason)

    class ReportWithdrawn(ChainAggregate.Event):
        TOPIC = "intake:ReportWithdrawn.v1"
        victim_id: str
        case_id: str

        def apply(self, track: VictimTrack) -> None:
            track.withdrawn.add(self.case_id)

    class VictimOutOfSight(ChainAggregate.Event):
        """Slachtoffer uit zicht."""

        TOPIC = "intake:VictimOutOfSight.v1"
        victim_id: str

        def apply(self, track: VictimTrack) -> None:
            track.out_of_sight = True

    class IndividualAssessmentCompleted(ChainAggregate.Event):
        """Individuele Beoordeling."""

        TOPIC = "intake:IndividualAssessmentCompleted.v1"
        victim_id: str
        measures: list[str]

    class PilotEnrolled(ChainAggregate.Event):
        """Pilot aangiftebereidheid."""

        TOPIC = "intake:PilotEnrolled.v1"
        victim_id: str
        cohort: str

        def apply(self, track: VictimTrack) -> None:
            track.pilot_cohort = self.cohort

    class PolicePsychologistDeployed(ChainAggregate.Event):
        TOPIC = "intake:PolicePsychologistDeployed.v1"
        victim_id: str

    class SafetyCoordinatorAssigned(ChainAggregate.Event):
        TOPIC = "intake:SafetyCoordinatorAssigned.v1"
        victim_id: str

    class PeerSupportAssigned(ChainAggregate.Event):
        TOPIC = "intake:PeerSupportAssigned.v1"
        victim_id: str

    class MatchLinkForgotten(ChainAggregate.Event):
        """The victim's key was destroyed on an erasure order of an organisation that signalled
        them, and with it the blind index of the match token (ADR 0028, ADR 0020): no later
        signal is matched to this victim. Private; it names the order, never the token."""

        TOPIC = "intake:Private.MatchLinkForgotten.v1"
        victim_id: str
        order_id: str

        def apply(self, track: VictimTrack) -> None:
            track.match_link_forgotten_on = self.occurred_on

    class FactAnnulled(FactAnnulledEvent):
        """The organisation that stated a fact about the victim annuls it (nietig): it never
        happened, or not to this victim. The track's state is restated without it."""

        TOPIC = "intake:FactAnnulled.v1"
        victim_id: str

    class FactAmended(FactAmendedEvent):
        """The organisation that stated a fact about the victim amends it (herstel): a
        corrected date or category. The track's state is restated with it."""

        TOPIC = "intake:FactAmended.v1"
        victim_id: str

    def __init__(self) -> None:
        self.victim_id = ""
        self.signals: list[date] = []
        self.situations: list[SignalSituation] = []
        """The categories of every signal, in the order recorded (R4 reads the one in force)."""
        self.capacities: list[tuple[date, str]] = []
        """Date and capacity (VICTIM, WITNESS) of every report and cooperation."""
        self.cooperation_impossible: set[str] = set()
        """The reasons recorded since the latest signal."""
        self.reflection_offered = False
        self.reflection_declined = False
        self.reports: dict[str, date] = {}
        self.cooperations: dict[str, date] = {}
        self.withdrawn: set[str] = set()
        self.out_of_sight = False
        self.pilot_cohort = ""
        self.signalled_by: set[str] = set()
        """The organisations whose signals about the victim stand (corrected)."""
        self.match_link_forgotten_on: date | None = None

    @staticmethod
    def id_for(victim_id: str) -> UUID:
        return stable_id("intake", "victim", victim_id)

    @classmethod
    def open(cls, victim_id: str, provenance: Provenance, occurred_on: date) -> VictimTrack:
        track: VictimTrack = cls.start(
            cls.id_for(victim_id), cls.Opened, provenance, occurred_on, victim_id=victim_id
        )
        return track

    @property
    def first_signal_on(self) -> date:
        return min(self.signals)

    def _check_after_signal(self, occurred_on: date, what: str) -> None:
        if not self.signals:
            # Every signal of the victim was annulled.
            raise PreconditionFailed(
                "NO_SIGNAL",
                f"{what} needs a signal of the victim that stands",
                subject=self.victim_id,
            )
        # Late registrations are normal, but a fact cannot precede the victim coming into view.
        if occurred_on < self.first_signal_on:
            raise PreconditionFailed(
                "DATE_BEFORE_SIGNAL",
                f"{what} cannot be dated before the victim's first signal "
                f"({self.first_signal_on.isoformat()})",
                subject=self.victim_id,
            )

    def _record(
        self,
        event_class: type[ChainAggregate.Event],
        provenance: Provenance,
        occurred_on: date,
        **facts: Any,
    ) -> None:
        self.record(event_class, provenance, occurred_on, victim_id=self.victim_id, **facts)

    def record_correction(
        self,
        event_class: type[ChainAggregate.Event],
        provenance: Provenance,
        occurred_on: date,
        fields: Mapping[str, Any],
    ) -> None:
        """Record a correction ``ketenzicht_common.corrections.correct`` has checked, unless
        a fact recorded at or after the corrected one could then not stand."""
        self.check_correction_fits(fields, self.victim_id)
        self._record(event_class, provenance, occurred_on, **fields)

    def restate(self, event: Any) -> bool:
        """State a fact again through its command (`FollowsCorrections`)."""
        by = provenance_of(event)
        day = event.occurred_on
        match type(event).__name__:
            case "InformativeInterviewHeld":
                self.hold_informative_interview(by, day)
            case "ReflectionPeriodOffered":
                self.offer_reflection_period(by, day)
            case "ReflectionPeriodDeclined":
                self.decline_reflection_period(by, day)
            case "ReportFiled":
                self.file_report(by, day, event.case_id, event.under_number, event.capacity)
            case "CooperationDeclared":
                self.declare_cooperation(by, day, event.case_id, event.capacity)
            case "CooperationImpossibleRecorded":
                self.record_cooperation_impossible(by, day, event.reason)
            case "ReportWithdrawn":
                self.withdraw_report(by, day, event.case_id)
            case "VictimOutOfSight":
                self.mark_out_of_sight(by, day)
            case "IndividualAssessmentCompleted":
                self.complete_individual_assessment(by, day, event.measures)
            case "PilotEnrolled":
                self.enrol_in_pilot(by, day, event.cohort)
            case name if name in PILOT_INTERVENTIONS:
                self.record_pilot_intervention(by, day, PILOT_INTERVENTIONS[name])
            case _:
                # A signal needs nothing before it; private events are no facts.
                return False
        return True

    def register_signal(
        self, provenance: Provenance, occurred_on: date, signal_id: str, **categories: Any
    ) -> None:
        self._record(
            self.SignalRegistered, provenance, occurred_on, signal_id=signal_id, **categories
        )

    def forget_match_link(self, provenance: Provenance, occurred_on: date, order_id: str) -> None:
        """Record the erasure order of the match link (the caller destroys the key). Only an
        organisation that signalled the victim may give it: the link is what its signals
        share with the others'."""
        if provenance.organisation not in self.signalled_by:
            raise NotTheOwner(
                "only an organisation that signalled the victim may order its match link erased"
            )
        if self.match_link_forgotten_on is not None:
            raise AlreadyExists("the match link of this victim is already forgotten")
        self._record(self.MatchLinkForgotten, provenance, occurred_on, order_id=order_id)

    def hold_informative_interview(self, provenance: Provenance, occurred_on: date) -> None:
        self._check_after_signal(occurred_on, "an informative interview")
        self._record(self.InformativeInterviewHeld, provenance, occurred_on)

    def situation_on(self, day: date) -> SignalSituation:
        """The latest signal dated on or before ``day`` (signals may be registered late)."""
        dated = [s for s in self.situations if s.signalled_on <= day]
        return max(dated, key=lambda s: s.signalled_on)

    def offer_reflection_period(
        self,
        provenance: Provenance,
        occurred_on: date,
        settings: ReflectionOfferSettings = DEFAULT_OFFER_SETTINGS,
    ) -> None:
        self._check_after_signal(occurred_on, "a reflection period offer")
        if self.reflection_offered:
            raise AlreadyExists("the reflection period was already offered after this signal")
        refusal = reflection_offer_refusal(
            self.situation_on(occurred_on),
            occurred_on,
            [capacity for on, capacity in self.capacities if on <= occurred_on],
            settings,
        )
        if refusal:
            raise PreconditionFailed(REFUSAL_REASON, refusal, subject=self.victim_id)
        self._record(self.ReflectionPeriodOffered, provenance, occurred_on)

    def decline_reflection_period(self, provenance: Provenance, occurred_on: date) -> None:
        self._check_after_signal(occurred_on, "declining the reflection period")
        if not self.reflection_offered:
            raise PreconditionFailed(
                "REFLECTION_PERIOD_NOT_OFFERED",
                "the reflection period was not offered",
                subject=self.victim_id,
            )
        if self.reflection_declined:
            raise AlreadyExists("the reflection period was already declined")
        self._record(self.ReflectionPeriodDeclined, provenance, occurred_on)

    def file_report(
        self,
        provenance: Provenance,
        occurred_on: date,
        case_id: str,
        under_number: bool,
        capacity: str = "VICTIM",
    ) -> None:
        self._check_after_signal(occurred_on, "a report")
        if case_id in self.reports:
            raise AlreadyExists(f"the victim already reported in case {case_id}")
        self._record(
            self.ReportFiled,
            provenance,
            occurred_on,
            case_id=case_id,
            under_number=under_number,
            capacity=capacity,
        )

    def declare_cooperation(
        self, provenance: Provenance, occurred_on: date, case_id: str, capacity: str = "VICTIM"
    ) -> None:
        self._check_after_signal(occurred_on, "cooperation")
        if case_id in self.cooperations:
            raise AlreadyExists(f"cooperation in case {case_id} was already declared")
        self._record(
            self.CooperationDeclared, provenance, occurred_on, case_id=case_id, capacity=capacity
        )

    def record_cooperation_impossible(
        self, provenance: Provenance, occurred_on: date, reason: str
    ) -> None:
        self._check_after_signal(occurred_on, "cooperation being impossible")
        # Another reason is another fact; the same reason twice after one signal is a repeat.
        if reason in self.cooperation_impossible:
            raise AlreadyExists(
                f"cooperation impossible ({reason}) was already recorded after this signal"
            )
        self._record(self.CooperationImpossibleRecorded, provenance, occurred_on, reason=reason)

    def withdraw_report(self, provenance: Provenance, occurred_on: date, case_id: str) -> None:
        reported_on = self.reports.get(case_id)
        if reported_on is None:
            raise PreconditionFailed(
                "NO_REPORT", f"the victim filed no report in case {case_id}", subject=case_id
            )
        if case_id in self.withdrawn:
            raise AlreadyExists(f"the report in case {case_id} was already withdrawn")
        if occurred_on < reported_on:
            raise PreconditionFailed(
                "DATE_BEFORE_REPORT",
                "a withdrawal cannot be dated before the report",
                subject=case_id,
            )
        self._record(self.ReportWithdrawn, provenance, occurred_on, case_id=case_id)

    def mark_out_of_sight(self, provenance: Provenance, occurred_on: date) -> None:
        self._check_after_signal(occurred_on, "losing contact")
        if self.out_of_sight:
            raise AlreadyExists("the victim is already out of sight")
        self._record(self.VictimOutOfSight, provenance, occurred_on)

    def complete_individual_assessment(
        self, provenance: Provenance, occurred_on: date, measures: list[str]
    ) -> None:
        self._check_after_signal(occurred_on, "an individual assessment")
        self._record(
            self.IndividualAssessmentCompleted,
            provenance,
            occurred_on,
            measures=sorted(set(measures)),
        )

    def enrol_in_pilot(self, provenance: Provenance, occurred_on: date, cohort: str) -> None:
        self._check_after_signal(occurred_on, "pilot enrolment")
        if self.pilot_cohort:
            raise AlreadyExists(
                f"the victim is already enrolled in pilot cohort {self.pilot_cohort}"
            )
        self._record(self.PilotEnrolled, provenance, occurred_on, cohort=cohort)

    def record_pilot_intervention(
        self, provenance: Provenance, occurred_on: date, intervention: str
    ) -> None:
        self._check_after_signal(occurred_on, "a pilot intervention")
        if not self.pilot_cohort:
            raise PreconditionFailed(
                "NOT_IN_PILOT", "the victim is not enrolled in the pilot", subject=self.victim_id
            )
        event_class = getattr(self, PILOT_INTERVENTION_EVENTS[intervention])
        self._record(event_class, provenance, occurred_on)


CORRECTION_TOPICS = frozenset({VictimTrack.FactAnnulled.TOPIC, VictimTrack.FactAmended.TOPIC})

PRIVATE_TOPICS = frozenset({VictimTrack.Opened.TOPIC, VictimTrack.MatchLinkForgotten.TOPIC})
