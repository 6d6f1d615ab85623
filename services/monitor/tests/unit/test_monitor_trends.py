"""Is it getting shorter: the Kaplan–Meier median per year of the interval's start, with its
95% interval, on the fixed chain (monitor_chain_builders.fixed_chain) as of 2021-12-31.

T0→T2 by the year of the signal: 2020 — 10, 12, 20, 30 days, all closed: the curve reaches one
half at 12 days; 2021 — 9, 14, 27 days closed and victim-007's signal open for 213 days
(censored): one half at 14 days, and the band's upper edge never falls below one half.
"""

from __future__ import annotations

from datetime import date

from monitor_chain_builders import fixed_chain

from monitor.domain import POLICE_PHASE, TIME_TO_REPORT, ChainProjection, ChainView, observe
from monitor.domain.leadtimes import km_median_days
from monitor.domain.trends import median_by_year

AS_OF = date(2021, 12, 31)


def view() -> ChainView:
    projection = ChainProjection()
    projection.apply_all(fixed_chain().facts)
    return projection.view(AS_OF)


def test_the_median_per_year_with_its_interval_censors_the_open_ones() -> None:
    rows = {r.year: r for r in median_by_year(view(), TIME_TO_REPORT, min_group_size=1)}
    assert sorted(rows) == [2020, 2021]
    assert (rows[2020].units, rows[2020].closed, rows[2020].km_median_days) == (4, 4, 12.0)
    assert (rows[2021].units, rows[2021].closed, rows[2021].km_median_days) == (4, 3, 14.0)
    for row in rows.values():
        assert row.lower_days is not None
        assert row.lower_days <= (row.km_median_days or 0)
    assert rows[2020].upper_days is not None
    assert rows[2020].upper_days >= 12.0
    assert rows[2021].upper_days is None  # the band's upper edge stays above one half


def test_each_year_is_the_lead_time_tables_kaplan_meier_median_of_its_units() -> None:
    chain = view()
    for row in median_by_year(chain, POLICE_PHASE, min_group_size=1):
        observations = [
            o
            for u in chain.units
            if (o := observe(u, POLICE_PHASE, AS_OF)) is not None and o.start.year == row.year
        ]
        assert row.km_median_days == km_median_days(observations)


def test_a_year_of_few_cases_or_few_closed_cases_is_withheld() -> None:
    rows = median_by_year(view(), TIME_TO_REPORT, min_group_size=4)
    withheld = {r.year: (r.small_group, r.km_median_days, r.lower_days) for r in rows}
    # 2020's four victims are in three cases (case-003 has two). 2021 has four cases but three
    # of them closed: its curve's three steps are those cases' durations, which the lead-time
    # table withholds below four closed cases, so its median is withheld too (ADR 0036).
    assert withheld == {2020: (True, None, None), 2021: (True, None, None)}
    rows = median_by_year(view(), TIME_TO_REPORT, min_group_size=3)
    published = {r.year: (r.small_group, r.km_median_days) for r in rows}
    assert published == {2020: (False, 12.0), 2021: (False, 14.0)}


def test_the_survival_curve_per_year_is_given_weekly_with_its_band() -> None:
    from monitor.domain.trends import SURVIVAL_DAYS, by_start_year, survival_curves

    curves = {
        c.group: c for c in survival_curves(view(), TIME_TO_REPORT, by_start_year, min_group_size=1)
    }
    later = curves["2021"]
    # 9, 14 and 27 days closed, one unit open at 213 days: a quarter drops at each close. The
    # curve is given on day 0, 7, … 210 (213 rounded down to the week) and at 90 and 180 days,
    # each the step function's value that day: the drops show in their week, not on their day.
    assert [p.day for p in later.points] == sorted({*range(0, 211, 7), 90, 180})
    share = {p.day: round(p.survival, 6) for p in later.points}
    assert [share[d] for d in (0.0, 7.0, 14.0, 21.0, 28.0, 90.0, 180.0, 210.0)] == [
        1.0,
        1.0,
        0.5,  # 9 and 14 days closed by day 14
        0.5,
        0.25,  # 27 days
        0.25,
        0.25,
        0.25,
    ]
    assert all(p.lower <= p.survival <= p.upper for p in later.points)
    assert SURVIVAL_DAYS == (90, 180, 365, 730)
    at = [None if p is None else round(p.survival, 6) for p in later.at_days]
    assert at == [0.25, 0.25, None, None]  # after 213 days nobody of 2021 is followed
    # Every unit of 2020 reported within 30 days: the curve is at zero and stays there.
    assert [p.survival if p else None for p in curves["2020"].at_days] == [0.0] * 4
    small = survival_curves(view(), TIME_TO_REPORT, by_start_year, min_group_size=4)
    assert [(c.group, c.small_group, c.points) for c in small if c.group == "2020"] == [
        ("2020", True, ())
    ]


def test_a_withheld_curves_closed_durations_cannot_be_read_off_another_grouping() -> None:
    from datetime import timedelta

    from monitor_chain_builders import ChainLog

    from monitor.domain.leadtimes import MINOR
    from monitor.domain.trends import GRID_DAYS, SURVIVAL_DAYS, by_start_year, survival_curves

    log = ChainLog()
    # 2020: five reports, 10 to 50 days after the signal. 2021: five signals, two reports (13
    # and 57 days): fewer than five closed, so 2021's curve is withheld at five.
    for year, durations in ((2020, [10, 20, 30, 40, 50]), (2021, [13, 57, None, None, None])):
        start = date(year, 1, 5)
        for n, days in enumerate(durations):
            victim = f"victim-{year}-{n}"
            log.signal(victim, start.isoformat(), "SEXUAL", False, "DUTCH", "AMSTERDAM")
            if days is not None:
                on = (start + timedelta(days=days)).isoformat()
                log.add("ReportFiled", on, victim_id=victim, case_id=f"case-{year}-{n}")
    projection = ChainProjection()
    projection.apply_all(log.facts)
    chain = projection.view(AS_OF)
    by_year = survival_curves(chain, TIME_TO_REPORT, by_start_year, min_group_size=5)
    assert [(c.group, c.small_group) for c in by_year] == [("2020", False), ("2021", True)]
    by_minor = survival_curves(chain, TIME_TO_REPORT, lambda o: MINOR.key(o.unit), min_group_size=5)
    published_by_year = {p.day for c in by_year for p in c.points}
    published_by_minor = {p.day for c in by_minor for p in c.points}
    # Were a curve to step where a closed case's duration is, the steps the other grouping's
    # curves take where no published year's curve does would be the withheld year's closed
    # durations. Every published point is on a grid day (a week's or a fixed day), none is one
    # of 2021's durations; the drop at 13 days shows only in the week from day 7 to day 14.
    grid = {float(d) for d in range(0, 800, GRID_DAYS)} | {float(d) for d in SURVIVAL_DAYS}
    assert published_by_year | published_by_minor <= grid
    recovered = published_by_minor - published_by_year - {0.0}
    assert not {13.0, 57.0} & recovered
    # The end of follow-up (2021's open units, 360 days) is published rounded down to the week.
    assert max(published_by_minor) == 357.0
