"""R9 — the temporary permit nears its end while the case runs (TemporaryPermitExtensionDue).

Source and reading: docs/domain.md#r9. Tests: tests/unit/test_permit_rules.py (in
services/residence). Applies to: a victim in the residence track who holds a temporary permit
the IND reported. All versions: due 30 days before the permit's valid-until, if a case the
permit rests on still runs that day (the permit rests on every case the victim takes part in,
see `holding`).

Read for every valid-until a permit has had: the trigger for a valid-until fires 30 days
before it — or, when the IND reported that valid-until later than that (late facts), on the day
it did, as long as the permit has not expired by then. It is not due when the IND extended the
permit before that day (an extension decided on the day itself or later is the answer to the
trigger, and must not take it back), when the permit was ended by then, when the non-temporary
permit was granted, or when none of the victim's cases runs that day (the victim withdrew from
all, or all stopped). Only permits the IND reported count: an application the IND has not
decided yet has no valid-until to extend.
"""

from __future__ import annotations

from datetime import timedelta

from residence.domain.history import VictimHistory
from residence.domain.rulesets import RuleSettings, ruleset_for
from residence.domain.triggers import TriggerDecision, TriggerKind, decide


def extension_triggers(history: VictimHistory, settings: RuleSettings) -> list[TriggerDecision]:
    decisions: dict[str, TriggerDecision] = {}
    for permit in history.permits:
        for index, (set_on, valid_until, event_id) in enumerate(permit.untils):
            notice = ruleset_for(valid_until, settings).extension_notice_days
            due = max(valid_until - timedelta(days=notice), set_on)
            ruleset = ruleset_for(due, settings)
            if due > valid_until:
                continue
            if index + 1 < len(permit.untils) and permit.untils[index + 1][0] < due:
                continue
            if permit.ended_on is not None and permit.ended_on <= due:
                continue
            running = history.cases_running_on(due)
            if not running or history.non_temporary_granted_by(due):
                continue
            decision = decide(
                TriggerKind.TEMPORARY_PERMIT_EXTENSION_DUE,
                victim_id=history.victim_id,
                case_id=permit.case_id,
                discriminator=valid_until.isoformat(),
                rule="R9",
                rule_version=ruleset.version,
                based_on=[permit.grant_event_id, event_id, *(c.event_id for c in running)],
                reason=(
                    f"The temporary permit is valid until {valid_until.isoformat()} and a "
                    f"criminal case the victim takes part in still runs on {due.isoformat()}; "
                    "an extension by one year is due (Vc B8/3)."
                ),
                fires_on=due,
                permit_valid_until=valid_until,
            )
            decisions.setdefault(decision.key, decision)
    return list(decisions.values())
