"""What the residence rules decide for the IND: trigger decisions and retractions.

A `TriggerDecision` is the domain's own value; its `payload()` holds exactly the fields of the
contract's trigger payload of the same name (ketenzicht_contracts.events.residence), so the
application can build the wire event from it without the domain importing the contract.

Identity: every decision has a `key` — the kind, the victim, the case where it matters and
what tells two triggers of that kind apart (for most kinds the date the trigger states; for a
non-temporary indication its ground). The keys are listed in contracts/ind-trigger-feed.md. The
`trigger_id` is a UUID derived from the key, so the same facts always give the same id,
whatever order they arrived in and however often they are evaluated
(docs/adr/0006-residence-feed-keys-and-retractions.md).

What a trigger *says* — its `substance`: kind, key, case, date, rule, ground and the date it
names — is what the feed must get right. Its ``based_on`` and ``reason`` explain it and may grow
as more facts are known; they alone never make a trigger be sent again.

Each kind has an addressee: R1's offer is a duty of the police and KMar that hold the signal,
R8's target is the OM's, the rest is for the IND.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any
from uuid import UUID, uuid5

from residence.domain.categories import NonTemporaryGround

TRIGGER_NAMESPACE = UUID("0b6d2f8e-6c55-4f5e-9f0b-3c1a52d7e4a9")
"""The residence service's own namespace for trigger ids (uuid5)."""


class TriggerKind(StrEnum):
    """The triggers the rules raise; the values are the contract's event types."""

    REFLECTION_PERIOD_OFFER_REQUIRED = "ReflectionPeriodOfferRequired"
    TEMPORARY_PERMIT_APPLICATION_INDICATED = "TemporaryPermitApplicationIndicated"
    REFLECTION_PERIOD_EXPIRY_DUE = "ReflectionPeriodExpiryDue"
    TEMPORARY_PERMIT_EXTENSION_DUE = "TemporaryPermitExtensionDue"
    TEMPORARY_PERMIT_BASIS_ENDED = "TemporaryPermitBasisEnded"
    NON_TEMPORARY_PERMIT_INDICATED = "NonTemporaryPermitIndicated"
    NON_TEMPORARY_ASSESSMENT_REQUIRED = "NonTemporaryAssessmentRequired"
    DUBLIN_ASSESSMENT_OVERDUE = "DublinAssessmentOverdue"
    TEMPORARY_PERMIT_WITHOUT_COOPERATION_INDICATED = "TemporaryPermitWithoutCooperationIndicated"
    DECISION_NOT_ALLOWED_FOUND = "DecisionNotAllowedFound"
    REASSESSMENT_REQUIRED = "ReassessmentRequired"


class Addressee(StrEnum):
    """Who a trigger is for: the organisation whose duty or decision it concerns."""

    IND = "ind"
    POLICE = "police"
    OM = "om"


_ADDRESSEES = {
    TriggerKind.REFLECTION_PERIOD_OFFER_REQUIRED: Addressee.POLICE,
    TriggerKind.DUBLIN_ASSESSMENT_OVERDUE: Addressee.OM,
}


def addressee_of(kind: TriggerKind) -> Addressee:
    return _ADDRESSEES.get(kind, Addressee.IND)


RETRACTION_EVENT_TYPE = "TriggerRetracted"


@lru_cache(maxsize=65536)
def trigger_id_for(key: str, generation: int = 0) -> str:
    """The id of the ``generation``-th trigger sent under ``key``.

    Generation 0 is what `evaluate` gives. A key whose trigger was retracted and that holds
    again later gets a new id (generation 1, 2, ...), because an id once sent is never reused.
    """
    name = key if generation == 0 else f"{key}#{generation}"
    return str(uuid5(TRIGGER_NAMESPACE, name))


def trigger_key(kind: TriggerKind, victim_id: str, case_id: str | None, discriminator: str) -> str:
    return f"{kind.value}|{victim_id}|{case_id or '-'}|{discriminator}"


@dataclass(frozen=True, slots=True, kw_only=True)
class TriggerDecision:
    """A trigger the rules raise for the IND, on ``fires_on``. The IND decides; this informs."""

    kind: TriggerKind
    key: str
    trigger_id: str
    victim_id: str
    case_id: str | None
    rule: str
    rule_version: str
    based_on: tuple[str, ...]
    reason: str
    fires_on: date
    application_date: date | None = None
    expired_on: date | None = None
    permit_valid_until: date | None = None
    basis_ended_on: date | None = None
    ground: NonTemporaryGround | None = None
    target_date: date | None = None
    decision_event_id: str | None = None
    cooperation_impossible_reason: str | None = None

    @property
    def event_type(self) -> str:
        return self.kind.value

    @property
    def addressee(self) -> Addressee:
        return addressee_of(self.kind)

    @property
    def substance(self) -> tuple[object, ...]:
        """What the trigger says; two decisions with the same substance are the same trigger."""
        name = _SPECIFIC.get(self.kind)
        if self.kind in _DECISION_FINDINGS:
            name = None  # an event id, like based_on: the key's date says which decision
        return (
            self.kind,
            self.key,
            self.case_id,
            self.fires_on,
            self.rule,
            self.ground,
            None if name is None else getattr(self, name),
        )

    def payload(self) -> dict[str, Any]:
        """The fields of the contract payload (all but ``occurred_on``, which the sender sets)."""
        fields: dict[str, Any] = {
            "victim_id": self.victim_id,
            "trigger_id": self.trigger_id,
            "case_id": self.case_id,
            "rule": self.rule,
            "rule_version": self.rule_version,
            "based_on": list(self.based_on),
            "reason": self.reason,
        }
        name = _SPECIFIC.get(self.kind)
        if name is not None:
            value = getattr(self, name)
            fields[name] = value.value if isinstance(value, StrEnum) else value
        return fields


_SPECIFIC: dict[TriggerKind, str] = {
    TriggerKind.TEMPORARY_PERMIT_APPLICATION_INDICATED: "application_date",
    TriggerKind.REFLECTION_PERIOD_EXPIRY_DUE: "expired_on",
    TriggerKind.TEMPORARY_PERMIT_EXTENSION_DUE: "permit_valid_until",
    TriggerKind.TEMPORARY_PERMIT_BASIS_ENDED: "basis_ended_on",
    TriggerKind.NON_TEMPORARY_PERMIT_INDICATED: "ground",
    TriggerKind.DUBLIN_ASSESSMENT_OVERDUE: "target_date",
    TriggerKind.TEMPORARY_PERMIT_WITHOUT_COOPERATION_INDICATED: "cooperation_impossible_reason",
    TriggerKind.DECISION_NOT_ALLOWED_FOUND: "decision_event_id",
    TriggerKind.REASSESSMENT_REQUIRED: "decision_event_id",
}
_DECISION_FINDINGS = frozenset(
    {TriggerKind.DECISION_NOT_ALLOWED_FOUND, TriggerKind.REASSESSMENT_REQUIRED}
)
"""The field of the contract payload that only a trigger of that kind has."""


def decide(
    kind: TriggerKind,
    *,
    victim_id: str,
    case_id: str | None,
    discriminator: str,
    rule: str,
    rule_version: str,
    based_on: tuple[str, ...] | list[str],
    reason: str,
    fires_on: date,
    **specific: Any,
) -> TriggerDecision:
    """A decision with its key and generation-0 id; ``based_on`` is sorted and de-duplicated."""
    key = trigger_key(kind, victim_id, case_id, discriminator)
    return TriggerDecision(
        kind=kind,
        key=key,
        trigger_id=trigger_id_for(key),
        victim_id=victim_id,
        case_id=case_id,
        rule=rule,
        rule_version=rule_version,
        based_on=tuple(sorted(set(based_on))),
        reason=reason,
        fires_on=fires_on,
        **specific,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Retraction:
    """A trigger already sent no longer holds as sent (TriggerRetracted): a fact that arrived
    later removed its basis or changed what it says (then the new trigger follows it).

    Sent triggers are never rewritten; the correction is an event of its own that the
    addressee sees. ``caused_by`` names the facts, known since the trigger was sent, that
    changed it (empty when it cannot be told: a rule change, for instance).
    """

    trigger_id: str
    retracted_trigger_id: str
    retracted_key: str
    retracted_kind: TriggerKind
    victim_id: str
    case_id: str | None
    rule: str
    rule_version: str
    based_on: tuple[str, ...]
    reason: str
    caused_by: tuple[str, ...] = ()
    replaced_by_trigger_id: str | None = None

    @property
    def addressee(self) -> Addressee:
        return addressee_of(self.retracted_kind)

    @property
    def event_type(self) -> str:
        return RETRACTION_EVENT_TYPE

    def payload(self) -> dict[str, Any]:
        return {
            "victim_id": self.victim_id,
            "trigger_id": self.trigger_id,
            "case_id": self.case_id,
            "rule": self.rule,
            "rule_version": self.rule_version,
            "based_on": list(self.based_on),
            "reason": self.reason,
            "retracted_trigger_id": self.retracted_trigger_id,
            "caused_by": list(self.caused_by),
            "replaced_by_trigger_id": self.replaced_by_trigger_id,
        }


@dataclass(frozen=True, slots=True)
class EmittedTrigger:
    """A trigger the service has sent, as `reconcile` needs to know it: whether it was
    retracted, and its place among what the service noted (to tell what came after it)."""

    decision: TriggerDecision
    retracted: bool = False
    sent_at: datetime | None = None
