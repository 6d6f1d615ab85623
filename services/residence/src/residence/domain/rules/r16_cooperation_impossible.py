"""R16 — a victim who cannot report or cooperate (TemporaryPermitWithoutCooperationIndicated).

Source and reading: docs/domain.md#r16. Tests: tests/unit/test_permit_rules.py (in
services/residence). Applies to: a victim in the residence track (`scope`) who has not reported
or cooperated as a victim by the day the police record the impossibility. All versions.

The police record the impossibility as a fact with its category (`CooperationImpossibleRecorded`,
no free text); the rule tells the IND, dated that day, that the victim may be given the
temporary permit without a report. A later report changes nothing about what was true then:
from the report on, R7 applies as usual. Once per recorded impossibility.
"""

from __future__ import annotations

from residence.domain.history import VictimHistory
from residence.domain.rulesets import RuleSettings, ruleset_for
from residence.domain.scope import in_residence_track
from residence.domain.triggers import TriggerDecision, TriggerKind, decide


def cooperation_impossible_triggers(
    history: VictimHistory, settings: RuleSettings
) -> list[TriggerDecision]:
    decisions = []
    for record in history.cooperation_impossible:
        day = record.occurred_on
        if not in_residence_track(history, day):
            continue
        if any(c.since <= day and not c.as_witness for c in history.cases):
            continue
        decisions.append(
            decide(
                TriggerKind.TEMPORARY_PERMIT_WITHOUT_COOPERATION_INDICATED,
                victim_id=history.victim_id,
                case_id=None,
                discriminator=f"{day.isoformat()}:{record.reason.value}",
                rule="R16",
                rule_version=ruleset_for(day, settings).version,
                based_on=[record.event_id],
                reason=(
                    f"The police recorded on {day.isoformat()} that the victim cannot report "
                    f"or cooperate ({record.reason.value}); the temporary permit without "
                    "cooperation may be granted (Vc B8/3)."
                ),
                fires_on=day,
                cooperation_impossible_reason=record.reason.value,
            )
        )
    return decisions
