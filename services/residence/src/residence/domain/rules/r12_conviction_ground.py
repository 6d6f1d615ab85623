"""R12 — a conviction in the victim's case: ground CONVICTION.

Source and reading: docs/domain.md#r12. Tests: tests/unit/test_non_temporary_rules.py (in
services/residence). Applies to: a victim in the residence track who reported or cooperated in
the case; a witness who reports only in a case where the OM found the witness's presence
necessary (as R11). All versions. A conviction for trafficking, or for another offence where
trafficking was charged, in any instance. Reached on the later of the verdict and the victim's
report in that case, provided the victim has not withdrawn by then.
"""

from __future__ import annotations

from residence.domain.case_timeline import is_conviction
from residence.domain.categories import NonTemporaryGround
from residence.domain.grounds import GroundReached
from residence.domain.history import VictimHistory
from residence.domain.rulesets import RuleSettings, ruleset_for


def conviction_grounds(history: VictimHistory, settings: RuleSettings) -> list[GroundReached]:
    grounds = []
    for victim_case in history.cases:
        # A witness's report counts from the day the OM found the witness's presence necessary.
        since = victim_case.since
        if victim_case.as_witness:
            necessary_on = history.presence_necessary_since(victim_case.case_id)
            if necessary_on is None:
                continue
            since = max(since, necessary_on)
        for fact in history.timeline(victim_case.case_id).facts:
            if not is_conviction(fact):
                continue
            reached_on = max(fact.occurred_on, since)
            if not victim_case.active_on(reached_on):
                continue
            ruleset = ruleset_for(reached_on, settings)
            grounds.append(
                GroundReached(
                    NonTemporaryGround.CONVICTION,
                    reached_on,
                    victim_case.case_id,
                    "R12",
                    ruleset.version,
                    (victim_case.event_id, fact.event_id),
                    (
                        f"A court convicted on {fact.occurred_on.isoformat()} in the case the "
                        f"victim reported in on {victim_case.since.isoformat()}: ground "
                        "CONVICTION for the non-temporary permit (Vc B9/12)."
                    ),
                )
            )
    return grounds
