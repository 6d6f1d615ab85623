"""The monitor on the corrected facts (docs/domain.md#corrections), counted by hand.

One case, one victim, all in 2022:

    signal          2022-01-10  (LABOUR, amended to SEXUAL on 2023-01-16)
    report          2022-03-01  amended to 2022-02-01 (recorded 2023-01-16),
                                then that amendment amended to 2022-02-11 (recorded 2023-02-01)
    OM registration 2022-05-01
    summons         2022-07-01
    first hearing   2022-09-01
    verdict         2022-10-03  conviction, annulled (recorded 2023-01-20)

T0->T2: as first stated 2022-01-10 -> 2022-03-01 = 50 days; after the first amendment
-> 2022-02-01 = 22 days; after the second -> 2022-02-11 = 32 days.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from monitor_chain_builders import AMENDED_REPORT, ChainLog, corrected_chain

from monitor.domain import (
    TIME_TO_REPORT,
    AsOf,
    ChainProjection,
    ChainView,
    Milestone,
    chain_figures,
    lead_time_table,
    traces,
)

ON = date(2022, 12, 31)
LATER = datetime(2023, 3, 1, 9, tzinfo=UTC)


def view(known_by: datetime | None = None, on: date = ON) -> ChainView:
    projection = ChainProjection()
    projection.apply_all(corrected_chain().facts)
    return projection.view(AsOf.of(on, known_by))


def time_to_report(v: ChainView) -> float | None:
    rows = {r.interval: r for r in lead_time_table(v, min_group_size=1)}
    return rows[TIME_TO_REPORT.name].median_days


def figures_2022(v: ChainView) -> tuple[int, dict[str, int], float | None, dict[str, int]]:
    (year,) = [f for f in chain_figures(v, min_group_size=1) if f.year == 2022]
    return (
        year.first_instance_verdicts,
        dict(year.verdicts_by_outcome),
        year.conviction_share.value,
        dict(year.victims_by_form),
    )


def test_before_the_corrections_the_facts_count_as_first_stated() -> None:
    before = view()  # known by the end of 2022
    unit = before.unit("case-101", "victim-101")
    assert unit is not None
    assert unit.at(Milestone.T2) == date(2022, 3, 1)
    assert unit.at(Milestone.T7) == date(2022, 10, 3)
    assert unit.profile.form == "LABOUR"
    assert time_to_report(before) == 50
    assert figures_2022(before) == (1, {"CONVICTION_TRAFFICKING": 1}, 1.0, {"LABOUR": 1})


def test_by_default_the_figures_are_those_of_the_corrected_facts() -> None:
    after = view(LATER)
    unit = after.unit("case-101", "victim-101")
    assert unit is not None
    # The latest amendment of the report wins: 2022-01-10 -> 2022-02-11 = 32 days.
    assert unit.at(Milestone.T2) == date(2022, 2, 11)
    assert time_to_report(after) == 32
    # The annulled verdict is absent: no T7, no verdict, no conviction share.
    assert unit.at(Milestone.T7) is None
    assert unit.at(Milestone.T6) == date(2022, 9, 1)
    assert unit.profile.form == "SEXUAL"
    assert figures_2022(after) == (0, {}, None, {"SEXUAL": 1})
    # The correction events are no chain facts: not in the records nor in the event log.
    assert {r.event_type for r in after.records}.isdisjoint({"FactAnnulled", "FactAmended"})
    ((_, events),) = traces(after)
    assert [(e.event_type, e.occurred_on.isoformat()) for e in events] == [
        ("SignalRegistered", "2022-01-10"),
        ("ReportFiled", "2022-02-11"),
        ("CaseRegistered", "2022-05-01"),
        ("SuspectSummoned", "2022-07-01"),
        ("CourtHearingHeld", "2022-09-01"),
    ]


def test_known_by_a_moment_between_the_corrections_gives_what_was_known_then() -> None:
    # Known by 2023-01-17: the first amendment (22 days) and the signal's form, not yet the
    # annulment of the verdict nor the second amendment.
    between = view(datetime(2023, 1, 17, tzinfo=UTC))
    assert time_to_report(between) == 22
    assert figures_2022(between) == (1, {"CONVICTION_TRAFFICKING": 1}, 1.0, {"SEXUAL": 1})
    # Known by 2023-01-31: the verdict is annulled, the report still on 2022-02-01.
    later = view(datetime(2023, 1, 31, tzinfo=UTC))
    assert time_to_report(later) == 22
    assert figures_2022(later)[0] == 0
    # Known by the moment the first correction was recorded it counts; a minute before, the
    # table as published for 2022 comes back.
    assert time_to_report(view(AMENDED_REPORT)) == 22
    assert time_to_report(view(datetime(2023, 1, 16, 8, 59, tzinfo=UTC))) == 50


def test_an_amended_date_moves_a_fact_into_or_out_of_a_cut_off() -> None:
    # As of 2022-02-28, known by now: the report (first stated 2022-03-01) is in it, on 02-11.
    unit = view(LATER, on=date(2022, 2, 28)).unit("case-101", "victim-101")
    assert unit is not None
    assert unit.at(Milestone.T2) == date(2022, 2, 11)
    # As of 2022-02-10 it is not yet reported.
    assert view(LATER, on=date(2022, 2, 10)).unit("case-101", "victim-101") is None


def test_corrections_apply_in_any_delivery_order_and_redelivery_changes_nothing() -> None:
    facts = corrected_chain().facts
    projection = ChainProjection()
    projection.apply_all(reversed(facts))
    projection.apply_all(facts)
    shuffled = projection.view(AsOf.of(ON, LATER))
    assert time_to_report(shuffled) == 32
    assert figures_2022(shuffled) == (0, {}, None, {"SEXUAL": 1})


def test_a_correction_by_another_service_or_of_another_type_is_ignored() -> None:
    log = ChainLog()
    log.signal("victim-101", "2022-01-10", "LABOUR", False, "DUTCH", "AMSTERDAM")
    report = log.add("ReportFiled", "2022-03-01", victim_id="victim-101", case_id="case-101")
    amendment = log.correct(report, "2023-01-16", recorded=AMENDED_REPORT, fact_on="2022-02-01")
    foreign = replace(amendment, service="prosecution")
    mistyped = replace(
        amendment,
        event_id="evt-other",
        payload={**amendment.payload, "corrected_event_type": "CooperationDeclared"},
    )
    projection = ChainProjection()
    projection.apply_all([*log.facts[:-1], foreign, mistyped])
    assert time_to_report(projection.view(AsOf.of(ON, LATER))) == 50
