"""R14 — dismissal or acquittal before any ground: individual assessment (B9/12).

Source and reading: docs/domain.md#r14. Tests: tests/unit/test_non_temporary_rules.py (in
services/residence). All versions.

Raised on the first day, on or after the victim's report in a case, on which that case ends
without result (see `case_timeline`: a dismissal, acquittal, decision not to investigate or
close without submission after which only dismissed, disposed-of or acquitted suspects
remain) — if no ground (R11–R13, any case) was reached on or before that day, the victim has
not withdrawn, and no non-temporary permit was granted. Once per victim and case.
"""

from __future__ import annotations

from residence.domain.grounds import GroundReached
from residence.domain.history import VictimHistory
from residence.domain.rulesets import RuleSettings, ruleset_for
from residence.domain.triggers import TriggerDecision, TriggerKind, decide


def assessment_triggers(
    history: VictimHistory, grounds: list[GroundReached], settings: RuleSettings
) -> list[TriggerDecision]:
    first_ground_on = min((g.reached_on for g in grounds), default=None)
    decisions = []
    for victim_case in history.cases:
        for case_day in history.timeline(victim_case.case_id).days:
            day = case_day.day
            if day < victim_case.since or not case_day.ended_without_result:
                continue
            if not victim_case.active_on(day):
                break
            if first_ground_on is not None and first_ground_on <= day:
                break
            if history.non_temporary_granted_by(day):
                break
            ruleset = ruleset_for(day, settings)
            decisions.append(
                decide(
                    TriggerKind.NON_TEMPORARY_ASSESSMENT_REQUIRED,
                    victim_id=history.victim_id,
                    case_id=victim_case.case_id,
                    discriminator="once",
                    rule="R14",
                    rule_version=ruleset.version,
                    based_on=[victim_case.event_id, *(f.event_id for f in case_day.facts)],
                    reason=(
                        f"The criminal case ended without result on {day.isoformat()} "
                        "(dismissal, acquittal or no investigation) before any ground was "
                        "reached; an individual assessment for the non-temporary permit is "
                        "required (Vc B9/12)."
                    ),
                    fires_on=day,
                )
            )
            break
    return decisions
