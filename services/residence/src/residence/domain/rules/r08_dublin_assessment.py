"""R8 — the OM's presence assessment for a Dublin claimant who reports (DublinAssessmentOverdue).

Source and reading: docs/domain.md#r8. Tests: tests/unit/test_permit_rules.py,
tests/unit/test_holiday_calendar.py (in services/residence). Versions: from 2019-08-01 (judged
by the report date); none before.

The target is 20 working days after the report (Mon–Fri, the days of the Algemene termijnenwet
art. 3 excluded, see residence.domain.holiday_calendar; the report day itself not counted):
report Wed 2019-10-09 → due 2019-11-06. An assessment dated on the target day is in time;
without one the trigger fires on the day after the target — the first day the target has
passed. A case that stopped running by the target (e.g. a decision not to investigate) has had
its decision, and a withdrawn report needs none; neither raises it.
"""

from __future__ import annotations

from residence.domain.dates import ONE_DAY, add_working_days
from residence.domain.history import VictimHistory
from residence.domain.rulesets import RuleSettings, ruleset_for
from residence.domain.triggers import TriggerDecision, TriggerKind, decide


def dublin_assessment_triggers(
    history: VictimHistory, settings: RuleSettings
) -> list[TriggerDecision]:
    decisions = []
    for victim_case in history.cases:
        reported_on = victim_case.since
        ruleset = ruleset_for(reported_on, settings)
        if not (ruleset.dublin_presence_assessment and history.is_dublin_claimant_on(reported_on)):
            continue
        target = add_working_days(reported_on, ruleset.dublin_target_working_days)
        if any(
            p.case_id == victim_case.case_id and p.occurred_on <= target for p in history.presence
        ):
            continue
        if not history.timeline(victim_case.case_id).runs_on(target):
            continue
        if not victim_case.active_on(target):
            continue
        decisions.append(
            decide(
                TriggerKind.DUBLIN_ASSESSMENT_OVERDUE,
                victim_id=history.victim_id,
                case_id=victim_case.case_id,
                discriminator=target.isoformat(),
                rule="R8",
                rule_version=ruleset.version,
                based_on=[victim_case.event_id],
                reason=(
                    f"A Dublin claimant reported on {reported_on.isoformat()}; the OM's "
                    f"assessment whether presence is necessary was due by {target.isoformat()} "
                    f"({ruleset.dublin_target_working_days} working days, WBV 2019/10) and "
                    "has not been made."
                ),
                fires_on=target + ONE_DAY,
                target_date=target,
            )
        )
    return decisions
