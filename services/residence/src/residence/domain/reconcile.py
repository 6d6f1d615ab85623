"""What to send now, given what was sent before: new triggers and corrections (rectificatie).

Triggers already sent are never rewritten. The feed is corrected by events of its own, so that
an addressee who applies the feed in order ends where one pass of the rules over all the facts
ends:

* a sent trigger whose key no longer holds — a late fact removed its basis, e.g. a dismissal
  dated before the three-year mark — is retracted;
* a sent trigger whose substance changed — its key still holds with another date, or another
  trigger of its lineage takes its place (a non-temporary indication on an earlier ground, an
  application dated otherwise) — is retracted and the trigger as it now reads is sent after
  it, under a fresh id (the retraction names it, `replacements`);
* a key that holds and was not sent (or was retracted before) is sent. An id once sent is never
  reused, so a key sent again gets the next generation.

A trigger whose substance is unchanged is not sent again, even when its ``based_on`` or
``reason`` would now read differently. R15 is kept by the evaluation, not here: a ground truly
reached stays among the decisions for ever, so an indication is retracted only when the facts
show it was never reached as sent.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from uuid import uuid5

from residence.domain.evaluation import decision_order
from residence.domain.triggers import (
    TRIGGER_NAMESPACE,
    EmittedTrigger,
    Retraction,
    TriggerDecision,
    TriggerKind,
    trigger_id_for,
)

Causes = Callable[[EmittedTrigger], tuple[str, ...]]
"""The facts that changed a sent trigger: the caller knows what arrived after it was sent."""


def _lineage(decision: TriggerDecision) -> tuple[object, ...]:
    """What a trigger and the one that replaces it share: the kind and the victim, and the case
    unless the kind stands once per victim (a non-temporary indication may move to another
    case or ground when an earlier one is found)."""
    if decision.kind is TriggerKind.NON_TEMPORARY_PERMIT_INDICATED:
        return (decision.kind, decision.victim_id)
    return (decision.kind, decision.victim_id, decision.case_id)


def replacements(
    gone: Iterable[TriggerDecision], new: Iterable[TriggerDecision]
) -> dict[str, TriggerDecision]:
    """Pairs each trigger that no longer holds with the new trigger of its lineage that takes
    its place (by key of the old), one to one, in firing order."""
    waiting: dict[tuple[object, ...], list[TriggerDecision]] = {}
    for decision in sorted(new, key=decision_order):
        waiting.setdefault(_lineage(decision), []).append(decision)
    paired: dict[str, TriggerDecision] = {}
    for old in sorted(gone, key=decision_order):
        candidates = waiting.get(_lineage(old))
        if candidates:
            paired[old.key] = candidates.pop(0)
    return paired


def retraction_id(retracted_trigger_id: str) -> str:
    return str(uuid5(TRIGGER_NAMESPACE, f"retraction:{retracted_trigger_id}"))


def _no_causes(_: EmittedTrigger) -> tuple[str, ...]:
    return ()


def reconcile(
    emitted: Sequence[EmittedTrigger],
    decisions: Iterable[TriggerDecision],
    causes: Causes = _no_causes,
) -> list[Retraction | TriggerDecision]:
    """Retractions first, each followed by its replacement; then the new triggers, in firing
    order.

    ``emitted`` and ``decisions`` must cover the same victims (e.g. everything for one victim):
    a sent trigger of a victim the decisions do not cover would be taken as no longer holding.
    """
    wanted = {decision.key: decision for decision in decisions}
    live = {sent.decision.key: sent for sent in emitted if not sent.retracted}
    used = Counter(sent.decision.key for sent in emitted)

    def fresh(decision: TriggerDecision) -> TriggerDecision:
        generation = used[decision.key]
        used[decision.key] += 1
        return replace(decision, trigger_id=trigger_id_for(decision.key, generation))

    unsent = [decision for key, decision in wanted.items() if key not in live]
    taking_over = replacements(
        [sent.decision for key, sent in live.items() if key not in wanted], unsent
    )
    out: list[Retraction | TriggerDecision] = []
    for key, sent in sorted(live.items(), key=lambda item: decision_order(item[1].decision)):
        now = wanted.get(key, taking_over.get(key))
        if key in wanted and now is not None and now.substance == sent.decision.substance:
            continue
        replacement = None if now is None else fresh(now)
        out.append(_retraction(sent, causes(sent), replacement))
        if replacement is not None:
            out.append(replacement)
    replaced = {decision.key for decision in taking_over.values()}
    for decision in sorted(unsent, key=decision_order):
        if decision.key not in replaced:
            out.append(fresh(decision))
    return out


def _retraction(
    sent: EmittedTrigger, caused_by: tuple[str, ...], replacement: TriggerDecision | None
) -> Retraction:
    old = sent.decision
    what = f"The {old.kind.value} of {old.fires_on.isoformat()} ({old.rule})"
    if replacement is None:
        reason = f"{what} no longer holds on the facts now known."
    else:
        reason = (
            f"{what} reads differently on the facts now known; trigger "
            f"{replacement.trigger_id} of {replacement.fires_on.isoformat()} replaces it."
        )
    return Retraction(
        trigger_id=retraction_id(old.trigger_id),
        retracted_trigger_id=old.trigger_id,
        retracted_key=old.key,
        retracted_kind=old.kind,
        victim_id=old.victim_id,
        case_id=old.case_id,
        rule=old.rule,
        rule_version=old.rule_version,
        based_on=old.based_on,
        reason=reason,
        caused_by=caused_by,
        replaced_by_trigger_id=None if replacement is None else replacement.trigger_id,
    )


def apply_outcome(
    emitted: Sequence[EmittedTrigger], outcome: Iterable[Retraction | TriggerDecision]
) -> list[EmittedTrigger]:
    """The record of sent triggers after sending ``outcome`` (for a caller that keeps it)."""
    record = list(emitted)
    for item in outcome:
        if isinstance(item, Retraction):
            record = [
                replace(sent, retracted=True)
                if sent.decision.trigger_id == item.retracted_trigger_id
                else sent
                for sent in record
            ]
        else:
            record.append(EmittedTrigger(item))
    return record
