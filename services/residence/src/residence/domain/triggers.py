"""What the residence rules decide for the IND: trigger decisions and retractions.

A `TriggerDecision` is the domain's own value; its `payload()` holds exactly the fields of the
contract's trigger payload of the same name (ketenzicht_contracts.events.residence), so the
application can build the wire event from it without the domain importing the contract.

Identity: every decision has a `key` — the kind, the victim, the case and what tells two
triggers of that kind apart (for most kinds the date the trigger states). The `trigger_id` is a
UUID derived from the key, so the same facts always give the same id, whatever order they
arrived in and however often they are evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
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

    @property
    def event_type(self) -> str:
        return self.kind.value

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
        specific: dict[TriggerKind, tuple[str, object]] = {
            TriggerKind.TEMPORARY_PERMIT_APPLICATION_INDICATED: (
                "application_date",
                self.application_date,
            ),
            TriggerKind.REFLECTION_PERIOD_EXPIRY_DUE: ("expired_on", self.expired_on),
            TriggerKind.TEMPORARY_PERMIT_EXTENSION_DUE: (
                "permit_valid_until",
                self.permit_valid_until,
            ),
            TriggerKind.TEMPORARY_PERMIT_BASIS_ENDED: ("basis_ended_on", self.basis_ended_on),
            TriggerKind.NON_TEMPORARY_PERMIT_INDICATED: ("ground", self.ground),
            TriggerKind.DUBLIN_ASSESSMENT_OVERDUE: ("target_date", self.target_date),
        }
        if self.kind in specific:
            name, value = specific[self.kind]
            fields[name] = value.value if isinstance(value, StrEnum) else value
        return fields


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
    keyed_by_case: bool = True,
    **specific: Any,
) -> TriggerDecision:
    """A decision with its key and generation-0 id; ``based_on`` is sorted and de-duplicated.

    The key names ``case_id`` unless ``keyed_by_case`` is False (R15 keys by victim only).
    """
    key = trigger_key(kind, victim_id, case_id if keyed_by_case else None, discriminator)
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
    """A trigger already sent no longer holds: a late fact removed its basis (TriggerRetracted).

    Sent triggers are never rewritten; the correction is an event of its own that the IND sees.
    """

    trigger_id: str
    retracted_trigger_id: str
    retracted_key: str
    victim_id: str
    case_id: str | None
    rule: str
    rule_version: str
    based_on: tuple[str, ...]
    reason: str

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
        }


@dataclass(frozen=True, slots=True)
class EmittedTrigger:
    """A trigger the service has sent, as `reconcile` needs to know it: and whether retracted."""

    decision: TriggerDecision
    retracted: bool = False
