"""CSV and XES exports; the XES is read back by PM4Py, a process-mining library."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import pytest
from monitor_chain_builders import fixed_chain

from monitor.domain import (
    WHOLE_CHAIN,
    ChainProjection,
    ChainView,
    Status,
    chain_figures,
    event_log_xes,
    figures_csv,
    lead_time_table,
    lead_times_csv,
    observe,
)

AS_OF = date(2021, 12, 31)
XES = "{http://www.xes-standard.org/}"


@pytest.fixture
def view() -> ChainView:
    projection = ChainProjection()
    projection.apply_all(fixed_chain().facts)
    return projection.view(AS_OF)


def test_lead_time_csv_has_a_row_per_interval_and_empty_cells_where_withheld(
    view: ChainView,
) -> None:
    published = list(csv.DictReader(io.StringIO(lead_times_csv(lead_time_table(view)))))
    assert len(published) == 9
    police = next(r for r in published if r["interval"] == "T2-T3")
    assert (police["cases"], police["closed"], police["open"]) == ("6", "4", "1")
    assert police["small_group"] == "true"
    assert police["median_days"] == police["share_within_norm"] == ""

    internal = list(
        csv.DictReader(io.StringIO(lead_times_csv(lead_time_table(view, min_group_size=1))))
    )
    police = next(r for r in internal if r["interval"] == "T2-T3")
    assert (police["median_days"], police["share_within_norm"]) == ("116.5", "0.750")
    assert police["open_age_6-12m"] == "1"


def test_figures_csv_is_long_form(view: ChainView) -> None:
    rows = list(csv.DictReader(io.StringIO(figures_csv(chain_figures(view)))))
    assert {
        "year": "2020",
        "figure": "victims_by_form",
        "category": "SEXUAL",
        "value": "3",
        "small_group": "",
    } in rows
    summons = next(r for r in rows if r["year"] == "2021" and r["figure"] == "summons_share")
    assert (summons["value"], summons["small_group"]) == ("", "true")


def test_xes_has_one_trace_per_case_and_victim_without_free_text(view: ChainView) -> None:
    text = event_log_xes(view)
    log = ET.fromstring(text)
    names = [
        t.find(f"{XES}string[@key='concept:name']").get("value")  # type: ignore[union-attr]
        for t in log.iter(f"{XES}trace")
    ]
    assert names == [
        "case-001/victim-001",
        "case-002/victim-002",
        "case-003/victim-003",
        "case-003/victim-004",
        "case-004/victim-005",
        "case-005/victim-006",
        "case-006/victim-008",
        "no-case/victim-007/2021-06-01",
    ]
    assert "summons" not in text  # the triggers' free-text reason never leaves the monitor
    pseudonymised = event_log_xes(view, pseudonymise=True)
    assert "victim-" not in pseudonymised
    assert "case-" not in pseudonymised


def test_pm4py_reads_the_xes_and_finds_the_monitors_whole_chain_durations(
    view: ChainView, tmp_path: Path
) -> None:
    pm4py = pytest.importorskip("pm4py")
    path = tmp_path / "ketenzicht.xes"
    path.write_text(event_log_xes(view), encoding="utf-8")

    frame = pm4py.read_xes(str(path))
    assert frame["case:concept:name"].nunique() == 8
    stamps = frame.groupby("case:concept:name")["time:timestamp"]
    pm4py_days = ((stamps.max() - stamps.min()).dt.days).to_dict()

    closed = {}
    for unit in view.units:
        observation = observe(unit, WHOLE_CHAIN, AS_OF)
        if observation is not None and observation.status is Status.CLOSED:
            closed[f"{unit.case_id}/{unit.victim_id}"] = observation.days
    # signal -> case final: 508, 415 and 396 days (see the lead-time tests)
    assert closed == {
        "case-001/victim-001": 508,
        "case-003/victim-003": 415,
        "case-003/victim-004": 396,
    }
    assert {name: pm4py_days[name] for name in closed} == closed

    activities = set(frame["concept:name"])
    assert {"SignalRegistered", "ReportFiled", "CaseRegistered", "CaseFinal"} <= activities
    case_three = frame[frame["case:concept:name"] == "case-003/victim-004"]
    assert list(case_three["concept:name"])[:3] == [
        "SignalRegistered",
        "PilotEnrolled",
        "ReportFiled",
    ]
