"""The projection: milestones, redelivery, delivery order, snapshots, as-of and speed."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from monitor_chain_builders import ChainLog, day, fixed_chain

from monitor.domain import (
    AsOf,
    ChainFact,
    ChainProjection,
    Milestone,
    chain_figures,
    event_log_xes,
    lead_time_table,
)
from monitor.domain.leadtimes import quantile

AS_OF = date(2021, 12, 31)
FACTS = fixed_chain().facts


def tables(facts: list[ChainFact], as_of: date | AsOf = AS_OF) -> tuple[object, ...]:
    projection = ChainProjection()
    projection.apply_all(facts)
    view = projection.view(as_of)
    return (
        lead_time_table(view, min_group_size=1),
        chain_figures(view, min_group_size=1),
        event_log_xes(view),
    )


IN_ORDER = tables(FACTS)


def test_milestones_per_case_and_victim() -> None:
    projection = ChainProjection()
    projection.apply_all(FACTS)
    unit = projection.view(AS_OF).unit("case-001", "victim-001")
    assert unit is not None
    assert {m.value: d.isoformat() for m, d in unit.milestones.items()} == {
        "T0": "2020-01-10",
        "T1": "2020-01-20",
        "T2": "2020-02-09",
        "T3": "2020-06-08",
        "T4": "2020-08-08",
        "T5": "2020-10-06",
        "T6": "2021-03-01",
        "T7": "2021-04-15",
        "T8": "2021-06-01",
    }
    assert unit.profile.form == "SEXUAL"
    assert unit.report_year == 2020


def test_a_milestone_is_the_earliest_occurrence_whatever_arrives_first() -> None:
    log = fixed_chain()
    # A second registration, delivered later, that occurred before the first one.
    log.add("CaseRegistered", "2020-05-01", case_id="case-001", suspect_id="suspect-077")
    projection = ChainProjection()
    projection.apply_all(log.facts)
    unit = projection.view(AS_OF).unit("case-001", "victim-001")
    assert unit is not None
    assert unit.at(Milestone.T3) == day("2020-05-01")


def test_a_victim_back_in_view_is_measured_from_the_new_signal() -> None:
    log = fixed_chain()
    log.add("ReportFiled", "2023-03-01", victim_id="victim-001", case_id="case-009")
    projection = ChainProjection()
    projection.apply_all(log.facts)
    view = projection.view(date(2023, 12, 31))
    first = view.unit("case-001", "victim-001")
    second = view.unit("case-009", "victim-001")
    assert first is not None
    assert second is not None
    assert first.at(Milestone.T0) == day("2020-01-10")
    assert second.at(Milestone.T0) == day("2023-02-01")
    assert second.profile.form == "LABOUR"
    # Both signals were used by a case: no report-less episode remains for victim-001.
    assert not [u for u in view.units if u.victim_id == "victim-001" and u.case_id is None]


def test_a_signal_before_a_report_in_a_new_case_is_an_open_episode_until_then() -> None:
    projection = ChainProjection()
    projection.apply_all(FACTS)
    view = projection.view(date(2023, 12, 31))
    episode = view.unit(None, "victim-001")
    assert episode is not None
    assert episode.at(Milestone.T0) == day("2023-02-01")


def test_a_redelivered_event_changes_nothing() -> None:
    projection = ChainProjection()
    assert projection.apply_all(FACTS) == len(FACTS)
    before = projection.snapshot()
    assert not projection.apply(FACTS[3])
    assert projection.apply_all(FACTS) == 0
    assert projection.snapshot() == before


@settings(max_examples=20, deadline=None)
@given(
    order=st.permutations(FACTS),
    duplicates=st.lists(st.sampled_from(FACTS), max_size=15),
)
def test_delivery_order_and_duplicates_do_not_change_any_table(
    order: list[ChainFact], duplicates: list[ChainFact]
) -> None:
    assert tables([*order, *duplicates]) == IN_ORDER


def test_snapshot_round_trips_through_json() -> None:
    projection = ChainProjection()
    projection.apply_all(FACTS)
    document = json.loads(json.dumps(projection.snapshot()))
    restored = ChainProjection.restore(document)
    view = restored.view(AS_OF)
    assert (
        lead_time_table(view, min_group_size=1),
        chain_figures(view, min_group_size=1),
        event_log_xes(view),
    ) == IN_ORDER
    assert not restored.apply(FACTS[0])


def test_snapshot_keeps_no_free_text() -> None:
    projection = ChainProjection()
    projection.apply_all(FACTS)
    text = json.dumps(projection.snapshot())
    assert "summons" not in text  # Trigger.reason is free text and is dropped
    assert "valid_until" not in text


def test_rebuilding_from_a_snapshot_and_the_rest_of_the_stream_gives_the_same_result() -> None:
    first = ChainProjection()
    first.apply_all(FACTS[:30])
    resumed = ChainProjection.restore(first.snapshot())
    resumed.apply_all(FACTS[25:])  # an overlap, as after a crash between snapshot and ack
    view = resumed.view(AS_OF)
    assert lead_time_table(view, min_group_size=1) == IN_ORDER[0]


def test_as_of_reproduces_a_table_published_before_late_facts_arrived() -> None:
    published_on = date(2020, 12, 31)
    published = tables(FACTS, published_on)

    log = fixed_chain()
    known_late = datetime(2022, 3, 1, 9, tzinfo=UTC)
    # A victim, report and registration of 2020 that were only registered in 2022 ...
    log.add(
        "SignalRegistered",
        "2020-06-20",
        recorded=known_late,
        victim_id="victim-009",
        signal_id="signal-9",
        source_organisation="KMAR",
        form="LABOUR",
        minor=False,
        nationality_group="OTHER_EU",
        residence_position="LAWFUL",
        region="ZEELAND_WEST_BRABANT",
    )
    log.add(
        "ReportFiled", "2020-07-01", victim_id="victim-009", case_id="case-007", recorded=known_late
    )
    log.add(
        "CaseRegistered",
        "2020-11-01",
        case_id="case-007",
        suspect_id="suspect-070",
        recorded=known_late,
    )
    # ... and a fact that occurred after the cut-off.
    log.add("CaseRegistered", "2021-01-15", case_id="case-002", suspect_id="suspect-071")

    assert tables(log.facts, published_on) == published

    later = tables(log.facts, AsOf.of(published_on, known_by=known_late))
    assert later != published
    police = {r.interval: r for r in later[0]}["T2-T3"]  # type: ignore[attr-defined]
    assert police.closed == 5  # 2020-07-01 -> 2020-11-01 now counts, known by March 2022


def test_as_of_ends_at_midnight_in_amsterdam() -> None:
    log = ChainLog()
    # 23:30 UTC on 31 December is already 1 January in Amsterdam.
    log.add(
        "SignalRegistered",
        "2020-12-31",
        recorded=datetime(2020, 12, 31, 23, 30, tzinfo=UTC),
        victim_id="victim-001",
        form="SEXUAL",
        minor=False,
        nationality_group="DUTCH",
        region="AMSTERDAM",
        residence_position="LAWFUL",
        signal_id="signal-1",
        source_organisation="POLICE",
    )
    projection = ChainProjection()
    projection.apply_all(log.facts)
    assert projection.view(date(2020, 12, 31)).units == ()
    assert len(projection.view(date(2021, 1, 1)).units) == 1
    assert AsOf.of(date(2020, 12, 31)).known_by == datetime(
        2020, 12, 31, 22, 59, 59, 999999, tzinfo=UTC
    )


@given(st.lists(st.integers(0, 2000), min_size=1, max_size=40), st.sampled_from([0.25, 0.5, 0.9]))
def test_quantiles_match_numpy(values: list[int], p: float) -> None:
    ordered = sorted(float(v) for v in values)
    assert quantile(ordered, p) == pytest.approx(float(np.percentile(values, p * 100)))


def synthetic_stream(victims: int) -> list[ChainFact]:
    rng = random.Random(7)
    log = ChainLog()
    for n in range(victims):
        victim, case = f"victim-{n:05d}", f"case-{n:05d}"
        start = date(2015, 1, 1).toordinal() + rng.randrange(3000)

        def on(offset: int, start: int = start) -> str:
            return date.fromordinal(start + offset).isoformat()

        log.signal(victim, on(0), "SEXUAL", n % 8 == 0, "DUTCH", "AMSTERDAM")
        log.add("ReportFiled", on(30), victim_id=victim, case_id=case)
        log.add("InvestigationOpened", on(31), case_id=case)
        log.add("CaseRegistered", on(180), case_id=case, suspect_id=f"suspect-{n:05d}")
        log.add("SuspectSummoned", on(300), case_id=case, suspect_id=f"suspect-{n:05d}")
        log.add(
            "VerdictDelivered",
            on(540),
            case_id=case,
            suspect_id=f"suspect-{n:05d}",
            instance="FIRST_INSTANCE",
            outcome="ACQUITTAL",
        )
    return log.facts


def test_a_large_stream_projects_every_event_and_the_expected_medians() -> None:
    # Speed is measured by `make bench`, never asserted in a test.
    facts = synthetic_stream(6000)  # 36k events
    projection = ChainProjection()
    projection.apply_all(facts)
    assert len(projection) == len(facts)
    rows = lead_time_table(projection.view(date(2025, 1, 1)))
    assert {r.interval: r for r in rows}["T2-T3"].median_days == 150
