"""R1 — the reflection period must be offered (aanbieden bedenktijd).

Source: Vc 2000 B8/3 (bedenktijd); WBV 2023/11 (from 2023-05-18 for every third-country
national). Versions: base until 2023-05-17 — only a third-country national without lawful
residence (position IRREGULAR; an asylum seeker or Dublin claimant has lawful stay); from
2023-05-18 — every third-country national.

Judged at the date of each signal; one trigger per qualifying signal, because a victim who
comes into view again (repeat victimisation) must be offered the period again.
"""

from __future__ import annotations

from residence.domain.categories import NationalityGroup, ResidencePosition
from residence.domain.history import VictimHistory
from residence.domain.rulesets import RuleSettings, ruleset_for
from residence.domain.triggers import TriggerDecision, TriggerKind, decide


def reflection_offer_triggers(
    history: VictimHistory, settings: RuleSettings
) -> list[TriggerDecision]:
    decisions = []
    for signal in history.signals:
        if signal.nationality_group is not NationalityGroup.THIRD_COUNTRY:
            continue
        ruleset = ruleset_for(signal.occurred_on, settings)
        without_lawful_stay = signal.residence_position is ResidencePosition.IRREGULAR
        if not (ruleset.reflection_for_all_third_country or without_lawful_stay):
            continue
        who = (
            "a third-country national"
            if ruleset.reflection_for_all_third_country
            else "a third-country national without lawful residence"
        )
        decisions.append(
            decide(
                TriggerKind.REFLECTION_PERIOD_OFFER_REQUIRED,
                victim_id=history.victim_id,
                case_id=None,
                discriminator=signal.event_id,
                rule="R1",
                rule_version=ruleset.version,
                based_on=[signal.event_id],
                reason=(
                    f"A signal on {signal.occurred_on.isoformat()} concerns {who}; the "
                    "reflection period (bedenktijd, Vc B8/3) must be offered."
                ),
                fires_on=signal.occurred_on,
            )
        )
    return decisions
