"""R10 — the basis of the temporary permit ended (TemporaryPermitBasisEnded).

Source and reading: docs/domain.md#r10. Tests: tests/unit/test_permit_rules.py (in
services/residence). Applies to: a victim in the residence track who holds a temporary permit
the IND reported. All versions: dated the decision date — withdrawal may be retroactive — and a
complaint against non-prosecution (art. 12 Sv) does not suspend it.

The permit rests on every case the victim takes part in (see `holding`), so its basis ends on
the day the last of them stops running — a dismissal of the last suspect, a decision not to
investigate, an investigation closed without submission, the trial final — or the victim
withdraws from the last one. Raised only when the victim holds a permit that day; an
application the IND has not decided on has no permit to withdraw.
"""

from __future__ import annotations

from residence.domain.history import VictimHistory
from residence.domain.holding import Holding, basis_ends, holds_on
from residence.domain.rulesets import RuleSettings, ruleset_for
from residence.domain.triggers import TriggerDecision, TriggerKind, decide


def basis_ended_triggers(
    history: VictimHistory, held: list[Holding], settings: RuleSettings
) -> list[TriggerDecision]:
    decisions = []
    for end in basis_ends(history):
        if not holds_on(held, end.day):
            continue
        permit_ids = [i for h in held if h.covers(end.day) for i in h.event_ids[:1]]
        decisions.append(
            decide(
                TriggerKind.TEMPORARY_PERMIT_BASIS_ENDED,
                victim_id=history.victim_id,
                case_id=end.case_id,
                discriminator=end.day.isoformat(),
                rule="R10",
                rule_version=ruleset_for(end.day, settings).version,
                based_on=[*permit_ids, *end.event_ids],
                reason=(
                    f"The basis of the temporary permit ended on {end.day.isoformat()}: no "
                    "criminal case the victim takes part in runs any more, or the report was "
                    "withdrawn (Vc B8/3); an objection under art. 12 Sv does not suspend this."
                ),
                fires_on=end.day,
                basis_ended_on=end.day,
            )
        )
    return decisions
