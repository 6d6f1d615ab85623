"""R15 — a ground once reached stays reached; one indication stands per victim until refused.

Source and reading: docs/domain.md#r15. Tests: tests/unit/test_non_temporary_rules.py,
tests/unit/test_reconcile_late_facts.py (in services/residence). Applies to: a victim in the
residence track with a ground of R11–R13. All versions.

`NonTemporaryPermitIndicated` names the first ground reached by business date (earliest day;
on one day PROSECUTION, CONVICTION, THREE_YEARS in that order). A later ground adds nothing
while that indication stands. A later-dated event — an acquittal after a summons, a dismissal
after three years — never removes it, because every ground is judged on the facts dated up to
the day it is reached. A fact dated *earlier* can change it: a summons dated before the
three-year mark that arrives after the mark makes PROSECUTION the first ground; a dismissal
dated before the mark shows THREE_YEARS was never reached. The evaluation then names another
indication (or none) and `reconcile` retracts the old one and sends the new, so the feed ends
where one pass over all the facts ends, whatever order they arrived in.

After the IND refuses the non-temporary permit (`NonTemporaryPermitRefused`), the refusal has
judged every ground reached on or before its date. A ground reached after the refusal — another
ground, or the same ground in another case — raises a new indication; a ground the refusal
judged does not. Hence the key names the ground and the case. No indication is raised once the
non-temporary permit was granted before the ground.
"""

from __future__ import annotations

from datetime import date, timedelta

from residence.domain.categories import NonTemporaryGround
from residence.domain.grounds import GroundReached
from residence.domain.history import VictimHistory
from residence.domain.triggers import TriggerDecision, TriggerKind, decide


def first_ground(grounds: list[GroundReached]) -> GroundReached | None:
    return min(grounds, key=lambda g: g.order, default=None)


def indicated_grounds(history: VictimHistory, grounds: list[GroundReached]) -> list[GroundReached]:
    """The grounds that raise an indication: the first, then after each refusal of it the
    first ground reached after the refusal that the refusal did not judge."""
    judged: set[tuple[NonTemporaryGround, str]] = set()
    refused_on: date | None = None
    indicated: list[GroundReached] = []
    for ground in sorted(grounds, key=lambda g: g.order):
        if refused_on is not None and ground.reached_on <= refused_on:
            continue
        if (ground.ground, ground.case_id) in judged:
            continue
        if history.non_temporary_granted_by(ground.reached_on - timedelta(days=1)):
            break
        indicated.append(ground)
        # Until the IND refuses, this indication stands and a later ground adds nothing.
        refusal = next(
            (r for r in history.non_temporary_refusals if r.occurred_on >= ground.reached_on),
            None,
        )
        if refusal is None:
            break
        refused_on = refusal.occurred_on
        judged |= {(g.ground, g.case_id) for g in grounds if g.reached_on <= refused_on}
    return indicated


def non_temporary_triggers(
    history: VictimHistory, grounds: list[GroundReached]
) -> list[TriggerDecision]:
    return [
        decide(
            TriggerKind.NON_TEMPORARY_PERMIT_INDICATED,
            victim_id=history.victim_id,
            case_id=ground.case_id,
            discriminator=ground.ground.value,
            rule=ground.rule,
            rule_version=ground.rule_version,
            based_on=ground.based_on,
            reason=ground.reason,
            fires_on=ground.reached_on,
            ground=ground.ground,
        )
        for ground in indicated_grounds(history, grounds)
    ]
