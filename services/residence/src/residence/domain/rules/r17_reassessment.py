"""R17 — a non-temporary permit granted on a basis a correction removed: reassessment required.

Source and reading: docs/domain.md#r17. Tests: tests/unit/test_corrections.py (in
services/residence). Applies to: every `NonTemporaryPermitGranted` the IND reports (Dutch
nationals too: it concerns a decision the IND made). All versions.

A retraction cannot undo a permit. When the facts as first stated reached a ground of R11–R13
on or before the IND's grant, and the corrected facts (docs/domain.md#corrections) reach none
by then — the conviction was annulled, the summons amended to a later date, the report annulled
— the feed tells the IND with a trigger of its own, `ReassessmentRequired`. It fires on the
grant's day or the day of the last correction that removed the basis, whichever is later; the
key names the grant's date (residence numbers the IND's decisions as they arrive). What follows
is the IND's to decide: the permit stands as granted until it acts.
"""

from __future__ import annotations

from collections.abc import Sequence

from residence.domain.corrections import CorrectedFacts
from residence.domain.grounds import GroundReached
from residence.domain.history import VictimHistory
from residence.domain.rulesets import RuleSettings, ruleset_for
from residence.domain.triggers import TriggerDecision, TriggerKind, decide


def reassessment_triggers(
    history: VictimHistory,
    stated_grounds: Sequence[GroundReached],
    grounds: Sequence[GroundReached],
    corrected: CorrectedFacts,
    settings: RuleSettings,
) -> list[TriggerDecision]:
    """One `ReassessmentRequired` per grant whose every ground (as first stated) a correction
    removed; ``stated_grounds`` are R11–R13's on the facts as first stated, ``grounds`` on the
    corrected facts."""
    decisions = []
    for grant in history.non_temporary_grants:
        granted_on = grant.occurred_on
        basis = [g for g in stated_grounds if g.reached_on <= granted_on]
        if not basis or any(g.reached_on <= granted_on for g in grounds):
            continue
        removing = sorted(
            {
                correction
                for ground in basis
                for event_id in ground.based_on
                for correction in corrected.corrections_of(event_id)
            },
            key=lambda c: (c.occurred_on, c.event_id),
        )
        fires_on = max([granted_on, *(c.occurred_on for c in removing)])
        first = min(basis, key=lambda g: g.order)
        later = min(
            (g for g in grounds if g.reached_on > granted_on), key=lambda g: g.order, default=None
        )
        reason = (
            f"The non-temporary permit granted on {granted_on.isoformat()} rested on ground "
            f"{first.ground.value} of {first.reached_on.isoformat()} ({first.rule}); on the "
            f"corrected facts no ground was reached by the grant"
            + (
                f" (ground {later.ground.value} is reached on {later.reached_on.isoformat()})."
                if later
                else "."
            )
            + " A retraction cannot undo a permit: the IND reassesses."
        )
        decisions.append(
            decide(
                TriggerKind.REASSESSMENT_REQUIRED,
                victim_id=history.victim_id,
                case_id=None,
                discriminator=granted_on.isoformat(),
                rule="R17",
                rule_version=ruleset_for(fires_on, settings).version,
                based_on=[grant.event_id, *(c.event_id for c in removing)],
                reason=reason,
                fires_on=fires_on,
                decision_event_id=grant.event_id,
            )
        )
    return decisions
