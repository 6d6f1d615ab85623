"""R1 — the reflection period must be offered (aanbieden bedenktijd).

Source and reading: docs/domain.md#r1. Tests: tests/unit/test_reflection_rules.py,
tests/unit/test_personal_scope.py (in services/residence). Applies to: a foreign national in the
residence track (`scope`): a third-country national, or an EU/EEA/Swiss national the IND found
to have no right of residence under EU law; not a Dutch national, not a witness who reports.
Versions: until 2023-05-17 only without lawful residence (position IRREGULAR; an asylum seeker
or Dublin claimant has lawful stay); from 2023-05-18 every third-country national, lawful
residents from the setting's date (default the same day; see `scope`).

Judged at the date of each signal, with the nationality and position that signal states; one
trigger per qualifying signal, because a victim who comes into view again (repeat
victimisation) must be offered the period again; keyed by the signal's date, so the key says
what the trigger says and does not depend on ids assigned on arrival. Addressed to the police
and KMar, whose duty the offer is.
"""

from __future__ import annotations

from residence.domain.history import VictimHistory
from residence.domain.rulesets import RuleSettings, ruleset_for
from residence.domain.scope import reflection_exclusion
from residence.domain.triggers import TriggerDecision, TriggerKind, decide


def reflection_offer_triggers(
    history: VictimHistory, settings: RuleSettings
) -> list[TriggerDecision]:
    decisions = []
    for signal in history.signals:
        ruleset = ruleset_for(signal.occurred_on, settings)
        excluded = reflection_exclusion(
            signal.nationality_group,
            signal.residence_position,
            eu_right_absent=bool(history.eu_right_findings),
            witness_only=history.reports_only_as_witness(),
            ruleset=ruleset,
        )
        if excluded:
            continue
        decisions.append(
            decide(
                TriggerKind.REFLECTION_PERIOD_OFFER_REQUIRED,
                victim_id=history.victim_id,
                case_id=None,
                discriminator=signal.occurred_on.isoformat(),
                rule="R1",
                rule_version=ruleset.version,
                based_on=[signal.event_id],
                reason=(
                    f"A signal on {signal.occurred_on.isoformat()} concerns a foreign national "
                    f"({signal.nationality_group.value}, {signal.residence_position.value}) "
                    "who may have a reflection period (bedenktijd, Vc B8/3): it must be offered."
                ),
                fires_on=signal.occurred_on,
            )
        )
    return decisions
