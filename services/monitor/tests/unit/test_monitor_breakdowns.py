"""Breakdowns by two dimensions, the overall rows, the threshold rules and complementary
withholding, hand-computed on the fixed chain (monitor_chain_builders.fixed_chain).

Time to report (T0-T2) as of 2021-12-31, per victim — days, cohort, minor, form, report year:

    victim-001  30  none        no   SEXUAL    2020   (case-001)
    victim-002  20  none        no   LABOUR    2020   (case-002)
    victim-003  10  pilot-2020  yes  SEXUAL    2020   (case-003)
    victim-004  12  pilot-2020  no   SEXUAL    2020   (case-003)
    victim-005  27  none        yes  CRIMINAL  2021   (case-004)
    victim-006  14  none        no   SEXUAL    2021   (case-005)
    victim-008   9  none        no   SEXUAL    2021   (case-006)
    victim-007  open            no   LABOUR    no report

All seven closed: 122 days, mean 17.43 → 17.4, median 14.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from monitor_chain_builders import fixed_chain

from ketenzicht_common.clock import FixedClock
from ketenzicht_common.errors import InvalidCommand
from monitor.adapters.store import SqliteFactStore
from monitor.application.live import LiveProjection
from monitor.application.queries import MonitorQueries
from monitor.domain import (
    COHORT,
    FORM,
    MINOR,
    POLICE_PHASE,
    REPORT_YEAR,
    TIME_TO_REPORT,
    ChainProjection,
)
from monitor.domain.breakdowns import breakdown
from monitor.domain.leadtimes import LeadTimeSummary
from monitor.domain.rounding import published

AS_OF = date(2021, 12, 31)


def rows_of(*dimensions: object, min_group_size: int = 2) -> dict[str, LeadTimeSummary]:
    projection = ChainProjection()
    projection.apply_all(fixed_chain().facts)
    found = breakdown(
        projection.view(AS_OF),
        TIME_TO_REPORT,
        list(dimensions),  # type: ignore[arg-type]
        min_group_size=min_group_size,
    )
    return {r.group or "": published(r) for r in found}


def figures(row: LeadTimeSummary) -> tuple[object, ...]:
    return (row.units, row.cases, row.closed, row.median_days, row.mean_days)


def withheld(rows: dict[str, LeadTimeSummary]) -> dict[str, str]:
    return {
        group: "complementary" if r.complementary else "primary"
        for group, r in rows.items()
        if r.mean_days is None and r.closed > 0
    }


def test_cohort_by_minor_has_every_cell_its_margins_and_the_overall_row() -> None:
    rows = rows_of(COHORT, MINOR)
    assert list(rows) == [
        "none,no",
        "none,yes",
        "none,all",
        "pilot-2020,no",
        "pilot-2020,yes",
        "pilot-2020,all",
        "all,no",
        "all,yes",
        "all,all",
    ]
    assert {r.dimension for r in rows.values()} == {"cohort,minor"}
    # The margins over the cohorts: minors 10 and 27 days, the others 30, 20, 12, 14, 9.
    assert figures(rows["all,no"]) == (6, 6, 5, 14.0, 17.0)
    assert figures(rows["all,yes"]) == (2, 2, 2, 18.5, 18.5)
    assert figures(rows["all,all"]) == (8, 7, 7, 14.0, 17.4)
    # Primary: one case each (the pilot's two victims share case-003) is below 2.
    assert rows["pilot-2020,all"].cases == 1
    assert rows["pilot-2020,all"].small_group
    # none,yes is the only one withheld in the row "none", and none,all the only one in the
    # column over the minors once pilot-2020,all is: each takes a complementary cell.
    assert withheld(rows) == {
        "none,yes": "primary",
        "pilot-2020,no": "primary",
        "pilot-2020,yes": "primary",
        "pilot-2020,all": "primary",
        "none,no": "complementary",
        "none,all": "complementary",
    }
    # Counts stay visible in every cell, withheld or not.
    assert figures(rows["none,no"]) == (5, 5, 4, None, None)


def test_form_by_report_year_withholds_so_no_cell_follows_from_the_others() -> None:
    rows = rows_of(FORM, REPORT_YEAR)
    assert figures(rows["SEXUAL,all"]) == (5, 4, 5, 12.0, 15.0)
    assert figures(rows["all,2020"]) == (4, 3, 4, 16.0, 18.0)
    assert figures(rows["all,2021"]) == (3, 3, 3, 14.0, 16.7)
    # LABOUR,2020 (20 days) would follow from all,2020 minus SEXUAL,2020; SEXUAL,2020 is
    # withheld with it, then SEXUAL,2021 to protect SEXUAL,2020 within SEXUAL,all.
    assert withheld(rows) == {
        "CRIMINAL,2021": "primary",
        "CRIMINAL,all": "primary",
        "LABOUR,2020": "primary",
        "LABOUR,all": "primary",
        "SEXUAL,2020": "complementary",
        "SEXUAL,2021": "complementary",
    }
    # The report-less unit has nothing closed: it hides nothing and protects nothing.
    assert rows["all,no report"].closed == 0
    assert not rows["all,no report"].complementary


def test_no_withheld_sum_can_be_computed_from_a_line_with_only_one_withheld() -> None:
    """In every row and column (with its total), none or at least two cells are withheld."""
    for dimensions in ((COHORT, MINOR), (FORM, REPORT_YEAR), (FORM,), (REPORT_YEAR,)):
        rows = rows_of(*dimensions)
        width = len(dimensions)
        lines: dict[tuple[int, tuple[str, ...]], list[str]] = {}
        for group in rows:
            parts = tuple(group.split(","))
            for position in range(width):
                key = (position, parts[:position] + parts[position + 1 :])
                lines.setdefault(key, []).append(group)
        hidden = withheld(rows)
        for line in lines.values():
            assert sum(1 for g in line if g in hidden) != 1, (dimensions, line)


def test_one_dimension_gets_its_overall_row() -> None:
    rows = rows_of(MINOR, min_group_size=1)
    assert list(rows) == ["no", "yes", "all"]
    assert figures(rows["all"]) == (8, 7, 7, 14.0, 17.4)
    assert not withheld(rows)


def test_the_threshold_is_the_published_one_unless_an_analyst_asks_above_the_floor(
    tmp_path: Path,
) -> None:
    clock = FixedClock(datetime(2022, 1, 3, 9, tzinfo=UTC))
    live = LiveProjection(SqliteFactStore(tmp_path / "facts.sqlite3"), clock)
    try:
        queries = MonitorQueries(live, clock, min_group_size=10, min_group_size_floor=5)
        assert queries.group_size() == queries.group_size(0) == 10
        assert queries.group_size(5) == 5
        assert queries.group_size(20) == 20  # stricter is always allowed
        with pytest.raises(InvalidCommand, match="floor"):
            queries.group_size(4)
        # A floor above the published threshold is the threshold.
        assert MonitorQueries(live, clock, min_group_size=3).min_group_size_floor == 3
        with pytest.raises(InvalidCommand):
            queries.dimensions("cohort,minor,form")
        with pytest.raises(InvalidCommand):
            queries.dimensions("cohort,cohort")
        assert [d.name for d in queries.dimensions("form,report_year")] == ["form", "report_year"]
    finally:
        live.close()


def test_a_complementary_cell_with_nothing_censored_keeps_its_kaplan_meier_figures_back() -> None:
    """Police phase (norm six months) by report year × minor, as of 2023-12-31: in 2020 the one
    minor's cell is withheld (one case), and 2020,no with it. All three of 2020,no are closed,
    so its Kaplan–Meier share within the norm is its plain share: 2 of 3 — and with 3 of 4 in
    2020,all that would tell the minor's phase kept the norm."""
    projection = ChainProjection()
    projection.apply_all(fixed_chain().facts)
    rows = {
        r.group: published(r)
        for r in breakdown(
            projection.view(date(2023, 12, 31)),
            POLICE_PHASE,
            [REPORT_YEAR, MINOR],
            min_group_size=2,
        )
    }
    assert rows["2020,all"].within_norm == 3
    assert rows["2020,yes"].small_group
    adult = rows["2020,no"]
    assert adult.complementary
    assert (adult.closed, adult.open, adult.out_of_sight, adult.ended) == (3, 0, 0, 0)
    assert adult.km_share_within_norm is None
    assert adult.km_median_days is None
