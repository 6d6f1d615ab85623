"""R13 — three years of continuous holding of the temporary permit: ground THREE_YEARS.

Source: Vc 2000 B9/12 (seed 002: "indien een strafrechtelijk onderzoek meer dan drie jaar
duurt"). All versions: counted from the start of the first permit of an unbroken run (the
report date); a gap between permits restarts the count; the mark is start + 3 calendar years
(29 Feb + 3 years = 28 Feb). The ground is reached on the mark if the run still covers that
day and a case the victim holds a permit in (and has not withdrawn from) still runs that day.
It fires on the mark by itself; when the facts arrive after it, at once (the mark is in the
past).
"""

from __future__ import annotations

from residence.domain.categories import NonTemporaryGround
from residence.domain.dates import add_years
from residence.domain.grounds import GroundReached
from residence.domain.history import VictimHistory
from residence.domain.holding import Holding, holding_runs
from residence.domain.rulesets import RuleSettings, ruleset_for


def three_year_grounds(
    history: VictimHistory, held: list[Holding], settings: RuleSettings
) -> list[GroundReached]:
    grounds = []
    for run in holding_runs(held):
        years = ruleset_for(run.start, settings).three_year_years
        mark = add_years(run.start, years)
        if not run.covers(mark):
            continue
        ruleset = ruleset_for(mark, settings)
        for holding in run.holdings:
            victim_case = history.victim_case(holding.case_id)
            if not holding.covers(mark) or victim_case is None:
                continue
            if not victim_case.active_on(mark):
                continue
            if not history.timeline(holding.case_id).runs_on(mark):
                continue
            based_on = tuple(
                sorted({victim_case.event_id, *(i for h in run.holdings for i in h.event_ids)})
            )
            grounds.append(
                GroundReached(
                    NonTemporaryGround.THREE_YEARS,
                    mark,
                    holding.case_id,
                    "R13",
                    ruleset.version,
                    based_on,
                    (
                        f"The temporary permit has been held without a gap since "
                        f"{run.start.isoformat()} and the criminal case still runs on "
                        f"{mark.isoformat()}: ground THREE_YEARS for the non-temporary permit "
                        "(Vc B9/12)."
                    ),
                )
            )
            break
    return grounds
