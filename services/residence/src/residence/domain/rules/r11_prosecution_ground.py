"""R11 — the OM summons a suspect in the victim's case: ground PROSECUTION (route B).

Source and reading: docs/domain.md#r11. Tests: tests/unit/test_non_temporary_rules.py (in
services/residence). Applies to: a victim in the residence track who reported or cooperated in
the case; a witness who reports only in a case where the OM found the witness's presence
necessary (R5/R7: there the witness's report was an application). Versions: from
`RuleSettings.prosecution_ground_from` (default 2021-09-14, the day the sources confirm it);
none before.

The ground is reached on the later of the summons and the victim's report in that case — a
victim who reports in a case already prosecuted reaches it on the report day, if the case
still runs then — and judged by the rule set in force that day. The victim must not have
withdrawn by then.
"""

from __future__ import annotations

from residence.domain.categories import NonTemporaryGround
from residence.domain.grounds import GroundReached
from residence.domain.history import VictimHistory
from residence.domain.model import CaseStep
from residence.domain.rulesets import RuleSettings, ruleset_for


def prosecution_grounds(history: VictimHistory, settings: RuleSettings) -> list[GroundReached]:
    grounds = []
    for victim_case in history.cases:
        # A witness's report counts from the day the OM found the witness's presence necessary.
        since = victim_case.since
        if victim_case.as_witness:
            necessary_on = history.presence_necessary_since(victim_case.case_id)
            if necessary_on is None:
                continue
            since = max(since, necessary_on)
        timeline = history.timeline(victim_case.case_id)
        for fact in timeline.facts:
            if fact.step is not CaseStep.SUSPECT_SUMMONED:
                continue
            reached_on = max(fact.occurred_on, since)
            ruleset = ruleset_for(reached_on, settings)
            if not ruleset.prosecution_ground or not victim_case.active_on(reached_on):
                continue
            if reached_on > fact.occurred_on and not timeline.runs_on(reached_on):
                continue
            grounds.append(
                GroundReached(
                    NonTemporaryGround.PROSECUTION,
                    reached_on,
                    victim_case.case_id,
                    "R11",
                    ruleset.version,
                    (victim_case.event_id, fact.event_id),
                    (
                        f"The OM summoned a suspect on {fact.occurred_on.isoformat()} in the "
                        f"case the victim reported in on {victim_case.since.isoformat()}: "
                        "ground PROSECUTION for the non-temporary permit (Vc B9/12)."
                    ),
                )
            )
    return grounds
