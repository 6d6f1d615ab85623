"""R13 — three years of continuous holding of the temporary permit: ground THREE_YEARS.

Source and reading: docs/domain.md#r13. Tests: tests/unit/test_non_temporary_rules.py,
tests/unit/test_residence_domain_examples.py (in services/residence). All versions: counted from
the start of the first permit of an unbroken run (the report date); a gap between permits
restarts the count; the mark is start + 3 calendar years (29 Feb + 3 years = 28 Feb). Applies
to: a victim in the residence track who holds temporary permits the IND reported — only those
count (see `holding`): an application not yet decided is no permit, and a grant reported late
and backdated counts from its start. The ground is reached on the mark if the run still covers
that day and a case the victim takes part in still runs that day (the permit rests on every such
case). It fires on the mark by itself; when the facts arrive after it, at once (the mark is in
the past). The ground's case is the case the first permit of the run was granted in.

Witnesses who report (getuige-aangever) reach this ground as victims do: B9/12 judges the
holding of the B8/3 permit, which a witness can hold (R5/R7).
"""

from __future__ import annotations

from ketenzicht_common.months import add_years
from residence.domain.categories import NonTemporaryGround
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
        running = history.cases_running_on(mark)
        if running:
            based_on = tuple(
                sorted(
                    {
                        *(c.event_id for c in running),
                        *(i for h in run.holdings for i in h.event_ids),
                    }
                )
            )
            grounds.append(
                GroundReached(
                    NonTemporaryGround.THREE_YEARS,
                    mark,
                    run.holdings[0].case_id,
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
    return grounds
