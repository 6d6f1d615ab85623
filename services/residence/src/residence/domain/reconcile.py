"""What to send now, given what was sent before: new triggers and retractions (rectificatie).

Triggers already sent are never rewritten. When the facts no longer support a trigger that
was sent — a late fact removed its basis, e.g. a dismissal dated before the three-year mark —
a `Retraction` is sent for it, followed by the triggers that hold now. A trigger whose key is
still held is not sent again, even when its details would now read differently (R15: an
indication once sent stands). A key that holds again after its trigger was retracted gets a
fresh id, because an id once sent is never reused.

R15 is kept by the evaluation, not here: a ground truly reached stays among the decisions
forever, so a non-temporary indication is retracted only when the facts show its ground was
never reached.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from uuid import uuid5

from residence.domain.evaluation import decision_order
from residence.domain.triggers import (
    TRIGGER_NAMESPACE,
    EmittedTrigger,
    Retraction,
    TriggerDecision,
    trigger_id_for,
)


def retraction_id(retracted_trigger_id: str) -> str:
    return str(uuid5(TRIGGER_NAMESPACE, f"retraction:{retracted_trigger_id}"))


def reconcile(
    emitted: Sequence[EmittedTrigger], decisions: Iterable[TriggerDecision]
) -> list[Retraction | TriggerDecision]:
    """Retractions first, then the new triggers in firing order.

    ``emitted`` and ``decisions`` must cover the same victims (e.g. everything for one victim):
    a sent trigger of a victim the decisions do not cover would be taken as no longer holding.
    """
    wanted = {decision.key: decision for decision in decisions}
    live = {sent.decision.key: sent.decision for sent in emitted if not sent.retracted}
    used = Counter(sent.decision.key for sent in emitted)

    out: list[Retraction | TriggerDecision] = []
    for key, sent in sorted(live.items(), key=lambda item: decision_order(item[1])):
        if key in wanted:
            continue
        out.append(
            Retraction(
                trigger_id=retraction_id(sent.trigger_id),
                retracted_trigger_id=sent.trigger_id,
                retracted_key=key,
                victim_id=sent.victim_id,
                case_id=sent.case_id,
                rule=sent.rule,
                rule_version=sent.rule_version,
                based_on=sent.based_on,
                reason=(
                    f"The {sent.kind.value} of {sent.fires_on.isoformat()} ({sent.rule}) no "
                    "longer holds on the facts now known; a fact that arrived late removed "
                    "its basis."
                ),
            )
        )
    for key, decision in sorted(wanted.items(), key=lambda item: decision_order(item[1])):
        if key in live:
            continue
        out.append(replace(decision, trigger_id=trigger_id_for(key, used[key])))
    return out


def apply_outcome(
    emitted: Sequence[EmittedTrigger], outcome: Iterable[Retraction | TriggerDecision]
) -> list[EmittedTrigger]:
    """The record of sent triggers after sending ``outcome`` (for a caller that keeps it)."""
    record = list(emitted)
    for item in outcome:
        if isinstance(item, Retraction):
            record = [
                EmittedTrigger(sent.decision, True)
                if sent.decision.trigger_id == item.retracted_trigger_id
                else sent
                for sent in record
            ]
        else:
            record.append(EmittedTrigger(item))
    return record
