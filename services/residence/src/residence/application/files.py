"""The residence service's event-sourced record: what it has seen and what it has sent.

The rules in ``residence.domain`` decide; these aggregates remember. A ``VictimFile`` holds the
facts about one victim (from intake and the OM's presence assessment off the bus, and the IND's
own decisions over gRPC) and every trigger sent for that victim; a ``CaseFile`` holds the steps
of one criminal case and which victims reported or cooperated in it. Facts off the bus are kept
as private events (``FactNoted``); the IND's decisions and the triggers are public events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime
from typing import Any
from uuid import UUID

from ketenzicht_common.domain import (
    ChainAggregate,
    ChainCreated,
    FactAmendedEvent,
    FactAnnulledEvent,
    Provenance,
    event_facts,
    event_id_of,
    stable_id,
)
from ketenzicht_common.errors import InvalidCommand
from residence.domain import (
    EmittedTrigger,
    Fact,
    Retraction,
    TriggerDecision,
    TriggerKind,
    fact_from_event,
)
from residence.domain.categories import NonTemporaryGround
from residence.domain.facts import POSITION_FIELD


def _json_ready(facts: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: v.isoformat() if isinstance(v, date) else _json_ready(v) if isinstance(v, Mapping) else v
        for k, v in facts.items()
    }


class _FactNoted(ChainAggregate.Event):
    """A bus event the rules read, kept as it came (private to residence)."""

    source_event_id: str
    service: str
    event_type: str
    payload: dict[str, Any]

    def apply(self, file: Any) -> None:
        fact = fact_from_event(
            self.source_event_id, self.service, self.event_type, self.occurred_on, self.payload
        )
        if fact is not None:
            file.facts[fact.event_id] = fact
            file.noted_at[fact.event_id] = self.timestamp
            file.noted.add(fact.event_id)


class _Decision(ChainAggregate.Event):
    """An IND decision: a public event and a fact for the rules."""

    victim_id: str

    def apply(self, file: Any) -> None:
        event_id = str(event_id_of(self.originator_id, self.originator_version))
        fact = fact_from_event(
            event_id,
            "residence",
            type(self).__name__,
            self.occurred_on,
            _json_ready(event_facts(self)),
        )
        if fact is not None:
            file.facts[fact.event_id] = fact
            file.noted_at[fact.event_id] = self.timestamp


class _IndCorrection(ChainAggregate.Event):
    """The IND's correction of one of its decisions: a public event, and for the rules a
    `Correction` of the decision, ordered by its place on the file (docs/domain.md#corrections).
    """

    victim_id: str

    def apply(self, file: Any) -> None:
        event_id = str(event_id_of(self.originator_id, self.originator_version))
        payload = _json_ready(event_facts(self)) | {POSITION_FIELD: self.originator_version}
        fact = fact_from_event(
            event_id, "residence", type(self).__name__, self.occurred_on, payload
        )
        if fact is not None:
            file.facts[fact.event_id] = fact
            file.noted_at[fact.event_id] = self.timestamp


class _Trigger(ChainAggregate.Event):
    """A trigger sent to the IND (its public fields are the contract's)."""

    victim_id: str
    trigger_id: str
    trigger_key: str
    case_id: str | None
    rule: str
    rule_version: str
    based_on: list[str]
    reason: str

    def decision(self) -> TriggerDecision:
        specific = {
            name: getattr(self, name)
            for name in (
                "application_date",
                "expired_on",
                "permit_valid_until",
                "basis_ended_on",
                "target_date",
                "decision_event_id",
                "cooperation_impossible_reason",
            )
            if hasattr(self, name)
        }
        if hasattr(self, "ground"):
            specific["ground"] = NonTemporaryGround(self.ground)
        return TriggerDecision(
            kind=TriggerKind(type(self).__name__),
            key=self.trigger_key,
            trigger_id=self.trigger_id,
            victim_id=self.victim_id,
            case_id=self.case_id,
            rule=self.rule,
            rule_version=self.rule_version,
            based_on=tuple(self.based_on),
            reason=self.reason,
            fires_on=self.occurred_on,
            **specific,
        )

    def apply(self, file: Any) -> None:
        file.emitted.append(EmittedTrigger(self.decision(), sent_at=self.timestamp))


class VictimFile(ChainAggregate):
    """Everything residence knows and has sent about one victim."""

    TOPIC = "residence:VictimFile"

    class Opened(ChainCreated):
        TOPIC = "residence:VictimFile.Opened.v1"
        victim_id: str

        def apply(self, file: VictimFile) -> None:
            file.victim_id = self.victim_id

    class FactNoted(_FactNoted):
        TOPIC = "residence:VictimFile.FactNoted.v1"

    # The IND's decisions: facts for the rules, and public events.

    class ReflectionPeriodGranted(_Decision):
        """B8 bedenktijd granted by the IND."""

        TOPIC = "residence:ReflectionPeriodGranted.v1"

    class ReflectionPeriodEnded(_Decision):
        TOPIC = "residence:ReflectionPeriodEnded.v1"
        reason: str

    class TemporaryPermitGranted(_Decision):
        """Verblijfsvergunning tijdelijk humanitair (Vc B8/3)."""

        TOPIC = "residence:TemporaryPermitGranted.v1"
        case_id: str
        valid_from: date
        valid_until: date

    class TemporaryPermitRefused(_Decision):
        TOPIC = "residence:TemporaryPermitRefused.v1"
        case_id: str

    class TemporaryPermitExtended(_Decision):
        TOPIC = "residence:TemporaryPermitExtended.v1"
        case_id: str
        valid_until: date

    class TemporaryPermitEnded(_Decision):
        TOPIC = "residence:TemporaryPermitEnded.v1"
        case_id: str
        end_date: date

    class NonTemporaryPermitGranted(_Decision):
        """Verblijfsvergunning niet-tijdelijk humanitair (Vc B9/12)."""

        TOPIC = "residence:NonTemporaryPermitGranted.v1"

    class NonTemporaryPermitRefused(_Decision):
        TOPIC = "residence:NonTemporaryPermitRefused.v1"

    class DublinTransferResumed(_Decision):
        TOPIC = "residence:DublinTransferResumed.v1"

    class NoEuResidenceRightFound(_Decision):
        """No right of residence under EU law (geen verblijfsrecht op grond van het Unierecht):
        the B8 rules apply to this EU/EEA/Swiss national."""

        TOPIC = "residence:NoEuResidenceRightFound.v1"

    # The IND's corrections of its decisions.

    class FactAnnulled(_IndCorrection, FactAnnulledEvent):
        """The IND annuls a decision it reported (nietig)."""

        TOPIC = "residence:FactAnnulled.v1"

    class FactAmended(_IndCorrection, FactAmendedEvent):
        """The IND amends a decision it reported (herstel): its date or fields."""

        TOPIC = "residence:FactAmended.v1"

    # Triggers raised by the rules for the IND.

    class ReflectionPeriodOfferRequired(_Trigger):
        TOPIC = "residence:ReflectionPeriodOfferRequired.v1"

    class TemporaryPermitApplicationIndicated(_Trigger):
        TOPIC = "residence:TemporaryPermitApplicationIndicated.v1"
        application_date: date

    class ReflectionPeriodExpiryDue(_Trigger):
        TOPIC = "residence:ReflectionPeriodExpiryDue.v1"
        expired_on: date

    class TemporaryPermitExtensionDue(_Trigger):
        TOPIC = "residence:TemporaryPermitExtensionDue.v1"
        permit_valid_until: date

    class TemporaryPermitBasisEnded(_Trigger):
        TOPIC = "residence:TemporaryPermitBasisEnded.v1"
        basis_ended_on: date

    class NonTemporaryPermitIndicated(_Trigger):
        TOPIC = "residence:NonTemporaryPermitIndicated.v1"
        ground: str

    class NonTemporaryAssessmentRequired(_Trigger):
        TOPIC = "residence:NonTemporaryAssessmentRequired.v1"

    class DublinAssessmentOverdue(_Trigger):
        TOPIC = "residence:DublinAssessmentOverdue.v1"
        target_date: date

    class TemporaryPermitWithoutCooperationIndicated(_Trigger):
        TOPIC = "residence:TemporaryPermitWithoutCooperationIndicated.v1"
        cooperation_impossible_reason: str

    class DecisionNotAllowedFound(_Trigger):
        TOPIC = "residence:DecisionNotAllowedFound.v1"
        decision_event_id: str

    class ReassessmentRequired(_Trigger):
        TOPIC = "residence:ReassessmentRequired.v1"
        decision_event_id: str

    class TriggerRetracted(ChainAggregate.Event):
        """A trigger already sent no longer holds; the correction is an event of its own."""

        TOPIC = "residence:TriggerRetracted.v1"
        victim_id: str
        trigger_id: str
        trigger_key: str
        case_id: str | None
        rule: str
        rule_version: str
        based_on: list[str]
        reason: str
        retracted_trigger_id: str
        caused_by: list[str]
        replaced_by_trigger_id: str | None

        def apply(self, file: VictimFile) -> None:
            file.emitted = [
                replace(sent, retracted=True)
                if sent.decision.trigger_id == self.retracted_trigger_id
                else sent
                for sent in file.emitted
            ]
            file.retractions.append(self.trigger_id)

    def __init__(self) -> None:
        self.victim_id = ""
        self.facts: dict[str, Fact] = {}
        self.noted_at: dict[str, datetime] = {}
        self.noted: set[str] = set()
        """The facts off the bus: other organisations' (only their source corrects them)."""
        self.emitted: list[EmittedTrigger] = []
        self.retractions: list[str] = []

    @staticmethod
    def id_for(victim_id: str) -> UUID:
        return stable_id("residence", "victim", victim_id)

    @classmethod
    def open(cls, victim_id: str, provenance: Provenance, occurred_on: date) -> VictimFile:
        file: VictimFile = cls.start(
            cls.id_for(victim_id), cls.Opened, provenance, occurred_on, victim_id=victim_id
        )
        return file

    def case_ids(self) -> set[str]:
        return {c for f in self.facts.values() if (c := getattr(f, "case_id", None))}

    def note(
        self,
        provenance: Provenance,
        occurred_on: date,
        source_event_id: str,
        service: str,
        event_type: str,
        payload: dict[str, Any],
    ) -> bool:
        """Keep a bus fact; False when this event was noted before (a redelivery)."""
        if source_event_id in self.facts:
            return False
        self.record(
            self.FactNoted,
            provenance,
            occurred_on,
            source_event_id=source_event_id,
            service=service,
            event_type=event_type,
            payload=payload,
        )
        return True

    def decide(
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
        """Record a correction ``ketenzicht_common.corrections.correct`` has checked; a permit
        amended to end on or before its start is refused, as its grant would be."""
        amended = fields.get("amended") or {}
        start, end = amended.get("valid_from"), amended.get("valid_until")
        grant = fields.get("corrected_event_type") == "TemporaryPermitGranted"
        if grant and start and end and end <= start:
            raise InvalidCommand.of("amended.valid_until", "must lie after valid_from")
        self.record(event_class, provenance, occurred_on, victim_id=self.victim_id, **fields)

    def send(self, item: TriggerDecision | Retraction, provenance: Provenance) -> None:
        payload = item.payload()
        payload.pop("victim_id")
        if isinstance(item, Retraction):
            payload.pop("retracted_kind", None)
            self.record(
                self.TriggerRetracted,
                provenance,
                self._retraction_day(item),
                victim_id=self.victim_id,
                trigger_key=item.retracted_key,
                **payload,
            )
            return
        event_class = getattr(self, item.kind.value)
        self.record(
            event_class,
            provenance,
            item.fires_on,
            victim_id=self.victim_id,
            trigger_key=item.key,
            **payload,
        )

    def _retraction_day(self, item: Retraction) -> date:
        sent = next(s for s in self.emitted if s.decision.trigger_id == item.retracted_trigger_id)
        return sent.decision.fires_on


class CaseFile(ChainAggregate):
    """The steps of one criminal case, and the victims who reported or cooperated in it."""

    TOPIC = "residence:CaseFile"

    class Opened(ChainCreated):
        TOPIC = "residence:CaseFile.Opened.v1"
        case_id: str

        def apply(self, file: CaseFile) -> None:
            file.case_id = self.case_id

    class FactNoted(_FactNoted):
        TOPIC = "residence:CaseFile.FactNoted.v1"

    class VictimLinked(ChainAggregate.Event):
        TOPIC = "residence:CaseFile.VictimLinked.v1"
        victim_id: str

        def apply(self, file: CaseFile) -> None:
            file.victims.add(self.victim_id)

    def __init__(self) -> None:
        self.case_id = ""
        self.facts: dict[str, Fact] = {}
        self.noted_at: dict[str, datetime] = {}
        self.noted: set[str] = set()
        self.victims: set[str] = set()

    @staticmethod
    def id_for(case_id: str) -> UUID:
        return stable_id("residence", "case", case_id)

    @classmethod
    def open(cls, case_id: str, provenance: Provenance, occurred_on: date) -> CaseFile:
        file: CaseFile = cls.start(
            cls.id_for(case_id), cls.Opened, provenance, occurred_on, case_id=case_id
        )
        return file

    def note(
        self,
        provenance: Provenance,
        occurred_on: date,
        source_event_id: str,
        service: str,
        event_type: str,
        payload: dict[str, Any],
    ) -> bool:
        if source_event_id in self.facts:
            return False
        self.record(
            self.FactNoted,
            provenance,
            occurred_on,
            source_event_id=source_event_id,
            service=service,
            event_type=event_type,
            payload=payload,
        )
        return True

    def link(self, provenance: Provenance, occurred_on: date, victim_id: str) -> None:
        if victim_id not in self.victims:
            self.record(self.VictimLinked, provenance, occurred_on, victim_id=victim_id)


PRIVATE_TOPICS = frozenset(
    {
        VictimFile.Opened.TOPIC,
        VictimFile.FactNoted.TOPIC,
        CaseFile.Opened.TOPIC,
        CaseFile.FactNoted.TOPIC,
        CaseFile.VictimLinked.TOPIC,
    }
)
TRIGGER_EVENT_TYPES = frozenset({k.value for k in TriggerKind} | {"TriggerRetracted"})
DECISION_TOPICS = frozenset(
    str(getattr(member, "TOPIC"))  # noqa: B009 — every decision class declares its topic
    for member in vars(VictimFile).values()
    if isinstance(member, type) and issubclass(member, _Decision)
)
"""The IND's decisions: the facts of a victim's file the IND may correct."""
