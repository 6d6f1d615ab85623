"""R10 — the basis of the temporary permit ended (TemporaryPermitBasisEnded).

Source: Vc 2000 B8/3 (the permit is withdrawn when the criminal proceedings end or the victim
no longer cooperates). All versions: dated the decision date — withdrawal may be retroactive —
and a complaint against non-prosecution (art. 12 Sv) does not suspend it.

The basis ends on a dismissal (of the last suspect), a decision not to investigate, an
investigation closed without submission, the trial final, and — read from B8/3 — the victim's
withdrawal of the report. It is raised only when the victim holds a permit in that case that
day: one the IND reported, or an application R7 indicated that the IND has not yet decided.
"""

from __future__ import annotations

from residence.domain.history import VictimHistory
from residence.domain.holding import Holding, basis_ends, holds_in_case
from residence.domain.rulesets import RuleSettings, ruleset_for
from residence.domain.triggers import TriggerDecision, TriggerKind, decide


def basis_ended_triggers(
    history: VictimHistory, held: list[Holding], settings: RuleSettings
) -> list[TriggerDecision]:
    decisions = []
    for victim_case in history.cases:
        for ended_on, event_ids in basis_ends(history, victim_case):
            if not holds_in_case(held, victim_case.case_id, ended_on):
                continue
            ruleset = ruleset_for(ended_on, settings)
            decisions.append(
                decide(
                    TriggerKind.TEMPORARY_PERMIT_BASIS_ENDED,
                    victim_id=history.victim_id,
                    case_id=victim_case.case_id,
                    discriminator=ended_on.isoformat(),
                    rule="R10",
                    rule_version=ruleset.version,
                    based_on=[victim_case.event_id, *event_ids],
                    reason=(
                        f"The basis of the temporary permit ended on {ended_on.isoformat()}: "
                        "the criminal case no longer runs or the report was withdrawn "
                        "(Vc B8/3); an objection under art. 12 Sv does not suspend this."
                    ),
                    fires_on=ended_on,
                    basis_ended_on=ended_on,
                )
            )
    return decisions
