"""R15 — a ground once reached stays reached; one indication per victim (no duplicates).

Source: Vc 2000 B9/12 (eligibility, once it arises, is not taken back by a later event).
All versions.

`NonTemporaryPermitIndicated` is raised once per victim, for the first ground reached
(earliest day; on one day PROSECUTION, CONVICTION, THREE_YEARS in that order). A later event —
an acquittal after a summons, a dismissal after three years — never removes it, because every
ground is judged on the facts dated up to the day it is reached. Only a fact dated earlier
that shows the ground was never reached (a late dismissal dated before the three-year mark)
removes it; `reconcile` then retracts what was sent. Its key names only the victim, so a
ground found later to have come earlier does not send a second indication. No indication is
raised if the non-temporary permit was granted before the ground.
"""

from __future__ import annotations

from datetime import timedelta

from residence.domain.grounds import GroundReached
from residence.domain.history import VictimHistory
from residence.domain.triggers import TriggerDecision, TriggerKind, decide


def first_ground(grounds: list[GroundReached]) -> GroundReached | None:
    return min(grounds, key=lambda g: g.order, default=None)


def non_temporary_triggers(
    history: VictimHistory, grounds: list[GroundReached]
) -> list[TriggerDecision]:
    first = first_ground(grounds)
    if first is None:
        return []
    if history.non_temporary_granted_by(first.reached_on - timedelta(days=1)):
        return []
    return [
        decide(
            TriggerKind.NON_TEMPORARY_PERMIT_INDICATED,
            victim_id=history.victim_id,
            case_id=first.case_id,
            keyed_by_case=False,
            discriminator="once",
            rule=first.rule,
            rule_version=first.rule_version,
            based_on=first.based_on,
            reason=first.reason,
            fires_on=first.reached_on,
            ground=first.ground,
        )
    ]
