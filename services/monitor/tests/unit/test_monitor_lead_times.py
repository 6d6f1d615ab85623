"""Lead times (doorlooptijden) on the fixed chain, counted by hand from its dates.

The fixed chain has six cases; the hand-computed figures are asked for with min_group_size=1,
and the publication rule (fewer than 10 cases) is shown separately.
"""

from __future__ import annotations

from datetime import date

import pytest
from monitor_chain_builders import ChainLog, fixed_chain

from monitor.domain import (
    COHORT,
    COURT_PHASE,
    HEARING_TO_VERDICT,
    OM_PHASE,
    POLICE_PHASE,
    REPORT_TO_EXAMINING_MAGISTRATE,
    REPORT_YEAR,
    TIME_TO_REPORT,
    WHOLE_CHAIN,
    ChainProjection,
    ChainView,
    LeadTimeSummary,
    Status,
    intervention,
    lead_time_breakdown,
    lead_time_table,
    observe,
)

AS_OF = date(2021, 12, 31)


@pytest.fixture
def view() -> ChainView:
    projection = ChainProjection()
    projection.apply_all(fixed_chain().facts)
    return projection.view(AS_OF)


def row(view: ChainView, interval_name: str) -> LeadTimeSummary:
    rows = {r.interval: r for r in lead_time_table(view, min_group_size=1)}
    return rows[interval_name]


def test_police_phase_counts_closed_open_out_of_sight_and_ended_cases(view: ChainView) -> None:
    # Closed, report -> OM registration:
    #   victim-001 2020-02-09 -> 2020-06-08 = 120 days (norm date 2020-08-09: within)
    #   victim-002 2020-03-21 -> 2020-12-01 = 255 days (norm date 2020-09-21: over)
    #   victim-003 2020-05-11 -> 2020-09-01 = 113 days (within)
    #   victim-004 2020-06-01 -> 2020-09-01 =  92 days (within)
    # victim-005 open since 2021-02-01 (333 days on 2021-12-31); victim-006 out of sight on
    # 2021-05-01 (47 days); victim-008 ended by NoInvestigationDecided on 2021-07-10 (91 days).
    police = row(view, "T2-T3")
    assert (police.units, police.cases) == (7, 6)
    assert (police.closed, police.open, police.out_of_sight, police.ended) == (4, 1, 1, 1)
    # sorted 92, 113, 120, 255
    assert police.median_days == pytest.approx((113 + 120) / 2)
    assert police.q1_days == pytest.approx(92 + 0.75 * (113 - 92))
    assert police.q3_days == pytest.approx(120 + 0.25 * (255 - 120))
    assert police.p90_days == pytest.approx(120 + 0.7 * (255 - 120))
    assert police.mean_days == pytest.approx((92 + 113 + 120 + 255) / 4)
    assert (police.norm_months, police.within_norm, police.share_within_norm) == (6, 3, 0.75)
    assert police.open_ages is not None
    assert (police.open_ages.count, police.open_ages.max_days) == (1, 333)
    assert police.open_ages.by_band["6-12m"] == 1


def test_kaplan_meier_counts_censored_cases_for_their_time_at_risk(view: ChainView) -> None:
    # Ordered: 47 censored, 91 censored, then events at 92 (5 at risk: S = 4/5),
    # 113 (4 at risk: S = 3/5), 120 (3 at risk: S = 2/5 < 1/2) -> median 120.
    police = row(view, "T2-T3")
    assert police.km_median_days == pytest.approx(120.0)
    # Against each unit's own six-month deadline the same three events fall within the norm
    # and the censored ones before it, 255 days lies beyond: 1 - 2/5.
    assert police.km_share_within_norm == pytest.approx(0.6)


def test_a_curve_that_never_falls_below_half_has_no_kaplan_meier_median(
    view: ChainView,
) -> None:
    # Report -> examining magistrate: only victim-001 (181) and victim-003 (204) are heard;
    # five others are censored, so S stays at 3/5.
    hearing = row(view, "T2-T4")
    assert hearing.closed == 2
    assert hearing.median_days == pytest.approx((181 + 204) / 2)
    assert hearing.km_median_days is None


def test_a_case_with_two_victims_gives_each_victim_the_case_milestones(view: ChainView) -> None:
    # case-003: registration 2020-09-01, summons 2021-01-04 -> OM phase 125 days for both
    # victims; victim-001 120, victim-002 2020-12-01 -> 2021-02-01 = 62.
    om = row(view, "T3-T5")
    assert (om.units, om.cases, om.closed) == (4, 3, 4)
    assert om.median_days == pytest.approx((120 + 125) / 2)
    third = view.unit("case-003", "victim-003")
    fourth = view.unit("case-003", "victim-004")
    assert third is not None
    assert fourth is not None
    assert observe(third, OM_PHASE, AS_OF).days == observe(fourth, OM_PHASE, AS_OF).days == 125  # type: ignore[union-attr]


def test_time_to_report_includes_the_signal_that_never_led_to_a_report(view: ChainView) -> None:
    # 30, 20, 10, 12, 27, 14, 9 closed; victim-007 open since 2021-06-01 (213 days).
    report = row(view, "T0-T2")
    assert (report.closed, report.open) == (7, 1)
    assert report.median_days == pytest.approx(14.0)
    assert report.open_ages is not None
    assert report.open_ages.max_days == 213


def test_court_phase_only_counts_summoned_cases(view: ChainView) -> None:
    # victim-001 2020-10-06 -> 2021-04-15 = 191; case-003 2021-01-04 -> 2021-06-01 = 148 (x2).
    # case-002 was dismissed and never enters the court phase.
    court = row(view, COURT_PHASE.name)
    assert (court.units, court.closed) == (3, 3)
    assert court.median_days == pytest.approx(148.0)
    unit = view.unit("case-002", "victim-002")
    assert unit is not None
    assert observe(unit, COURT_PHASE, AS_OF) is None


def test_hearing_to_verdict_norm_is_six_calendar_months(view: ChainView) -> None:
    # 2021-03-01 -> 2021-04-15 = 45; 2021-05-03 -> 2021-06-01 = 29 (x2).
    verdict = row(view, HEARING_TO_VERDICT.name)
    assert verdict.median_days == pytest.approx(29.0)
    assert verdict.share_within_norm == pytest.approx(1.0)


def test_whole_chain_counts_ended_and_out_of_sight_cases_apart(view: ChainView) -> None:
    # Closed: victim-001 2020-01-10 -> 2021-06-01 = 508, victim-003 2020-05-01 -> 2021-06-20
    # = 415, victim-004 2020-05-20 -> 2021-06-20 = 396. Ended: victim-002 (dismissal),
    # victim-008 (no investigation). Open: victim-005, victim-007. Out of sight: victim-006.
    chain = row(view, WHOLE_CHAIN.name)
    assert (chain.closed, chain.ended, chain.open, chain.out_of_sight) == (3, 2, 2, 1)
    assert chain.median_days == pytest.approx(415.0)
    assert chain.mean_days == pytest.approx((508 + 415 + 396) / 3)


def test_a_milestone_reached_after_the_victim_went_out_of_sight_closes_the_interval() -> None:
    log = fixed_chain()
    log.add("CaseRegistered", "2021-09-01", case_id="case-005", suspect_id="suspect-009")
    projection = ChainProjection()
    projection.apply_all(log.facts)
    unit = projection.view(AS_OF).unit("case-005", "victim-006")
    assert unit is not None
    observation = observe(unit, POLICE_PHASE, AS_OF)
    assert observation is not None
    assert (observation.status, observation.days) == (Status.CLOSED, 170)  # 03-15 -> 09-01


def test_a_report_in_a_case_the_om_already_holds_is_counted_as_inverted() -> None:
    log = fixed_chain()
    log.signal("victim-010", "2021-01-01", "SEXUAL", False, "DUTCH", "DEN_HAAG")
    log.add("ReportFiled", "2021-02-01", victim_id="victim-010", case_id="case-001")
    projection = ChainProjection()
    projection.apply_all(log.facts)
    police = row(projection.view(AS_OF), "T2-T3")
    assert police.inverted == 1
    assert police.closed == 4


def test_breakdown_by_report_year(view: ChainView) -> None:
    rows = {
        r.group: r for r in lead_time_breakdown(view, POLICE_PHASE, REPORT_YEAR, min_group_size=1)
    }
    assert set(rows) == {"2020", "2021"}
    assert rows["2020"].closed == 4
    assert rows["2020"].median_days == pytest.approx(116.5)
    assert (rows["2021"].closed, rows["2021"].open, rows["2021"].out_of_sight) == (0, 1, 1)


def test_breakdown_by_pilot_cohort_and_intervention(view: ChainView) -> None:
    cohorts = {
        r.group: r for r in lead_time_breakdown(view, POLICE_PHASE, COHORT, min_group_size=1)
    }
    assert cohorts["pilot-2020"].median_days == pytest.approx((92 + 113) / 2)
    assert cohorts["none"].units == 5

    psychologist = {
        r.group: r
        for r in lead_time_breakdown(
            view, POLICE_PHASE, intervention("POLICE_PSYCHOLOGIST"), min_group_size=1
        )
    }
    assert psychologist["with"].units == 1
    assert psychologist["with"].median_days == 92
    assert psychologist["without"].units == 6

    in_pilot = lead_time_breakdown(
        view,
        POLICE_PHASE,
        intervention("PEER_SUPPORT"),
        min_group_size=1,
        where=lambda u: u.cohort == "pilot-2020",
    )
    assert [(r.group, r.median_days) for r in in_pilot] == [("with", 113), ("without", 92)]


def test_groups_of_fewer_than_ten_cases_are_flagged_and_their_figures_withheld(
    view: ChainView,
) -> None:
    police = {r.interval: r for r in lead_time_table(view)}["T2-T3"]
    assert police.small_group
    assert police.few_closed
    assert police.cases == 6
    assert police.closed == 4
    withheld = (
        police.median_days,
        police.q1_days,
        police.q3_days,
        police.p90_days,
        police.mean_days,
        police.within_norm,
        police.share_within_norm,
        police.km_median_days,
        police.km_share_within_norm,
        police.open_ages,
    )
    assert withheld == (None,) * len(withheld)


def many_cases(count: int, police_days: int = 100) -> ChainProjection:
    log = ChainLog()
    for n in range(count):
        victim, case = f"victim-{n:03d}", f"case-{n:03d}"
        log.signal(victim, "2020-01-01", "SEXUAL", n % 2 == 0, "DUTCH", "AMSTERDAM")
        log.add("ReportFiled", "2020-01-11", victim_id=victim, case_id=case)
        if n % 4 != 3:  # every fourth case stays with the police
            registered = date.fromordinal(date(2020, 1, 11).toordinal() + police_days + n)
            log.add("CaseRegistered", registered.isoformat(), case_id=case, suspect_id=f"s-{n}")
    projection = ChainProjection()
    projection.apply_all(log.facts)
    return projection


def test_a_group_of_ten_cases_is_published_but_a_small_closed_part_is_not() -> None:
    view = many_cases(12).view(AS_OF)
    police = {r.interval: r for r in lead_time_table(view)}["T2-T3"]
    assert (police.cases, police.closed, police.open) == (12, 9, 3)
    assert not police.small_group
    assert police.few_closed
    assert police.median_days is None
    assert police.km_median_days is not None
    assert police.open_ages is not None

    bigger = {r.interval: r for r in lead_time_table(many_cases(16).view(AS_OF))}["T2-T3"]
    assert not bigger.few_closed
    assert bigger.median_days is not None

    by_minor = lead_time_breakdown(view, TIME_TO_REPORT, REPORT_YEAR)
    assert [(r.group, r.small_group) for r in by_minor] == [("2020", False)]


def test_every_interval_of_the_domain_is_in_the_table(view: ChainView) -> None:
    names = [r.interval for r in lead_time_table(view, min_group_size=1)]
    assert names == [
        "T0-T2",
        "T2-T3",
        REPORT_TO_EXAMINING_MAGISTRATE.name,
        "T3-T5",
        "T2-T5",
        "T5-T7",
        "T6-T7",
        "T2-T7",
        "T0-T8",
    ]
