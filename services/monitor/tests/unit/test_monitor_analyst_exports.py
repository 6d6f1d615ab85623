"""Data out in the tools analysts use: read back by PM4Py, openpyxl, pandas and pyarrow.

The fixed chain (monitor_chain_builders.fixed_chain) as of 2021-12-31; the days are counted by
hand from its dates (see test_monitor_lead_times).
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from monitor_chain_builders import fixed_chain

from ketenzicht.monitor.v1 import monitor_pb2 as pb
from ketenzicht_common.auth import IdentityRegistry
from ketenzicht_common.clock import FixedClock
from ketenzicht_common.errors import InvalidCommand
from ketenzicht_common.grpc_server import Caller
from monitor.adapters.grpc_api import MonitorApi
from monitor.adapters.http_api import HttpApi
from monitor.adapters.store import SqliteFactStore
from monitor.application.live import LiveProjection
from monitor.application.queries import MonitorQueries, TableFormat
from monitor.domain import (
    POLICE_PHASE,
    WHOLE_CHAIN,
    ChainProjection,
    ChainView,
    Milestone,
    Status,
    event_log_xes,
    lead_time_table,
    observe,
)
from monitor.domain.exports import residence_log_xes
from monitor.domain.ocel import event_log_ocel
from monitor.domain.rounding import published, round_days, round_share
from monitor.domain.tables import CsvDialect, lead_time_rows, table_csv, unit_table

AS_OF = date(2021, 12, 31)
REPO_ROOT = Path(__file__).resolve().parents[4]
CLOCK = FixedClock(datetime(2022, 1, 3, 9, tzinfo=UTC))


@pytest.fixture
def view() -> ChainView:
    projection = ChainProjection()
    projection.apply_all(fixed_chain().facts)
    return projection.view(AS_OF)


# The rounding rule


@pytest.mark.parametrize(
    ("value", "days", "share"),
    [
        (116.25, 116.3, 116.25),  # half up, not to even (116.2)
        (0.35, 0.4, 0.35),  # the decimal 0.35, although stored as 0.34999...
        (0.6665, 0.7, 0.667),
        (439.6666666666667, 439.7, 439.667),
        (2.0, 2.0, 2.0),
        (None, None, None),
    ],
)
def test_figures_are_rounded_half_up_days_at_one_decimal_shares_at_three(
    value: float | None, days: float | None, share: float | None
) -> None:
    assert round_days(value) == days
    assert round_share(value) == share


def test_every_interface_publishes_the_same_rounded_figure(view: ChainView) -> None:
    # Whole chain: 508, 415 and 396 days, mean 439.666... published as 439.7 everywhere.
    (raw,) = lead_time_table(view, [WHOLE_CHAIN], min_group_size=1)
    assert raw.mean_days == pytest.approx(1319 / 3)
    row = published(raw)
    assert row.mean_days == 439.7
    assert published(row) == row  # applying the rule twice changes nothing
    text = table_csv(lead_time_rows([raw]), CsvDialect.STANDARD)
    assert ",439.7," in text
    assert ";439,7;" in table_csv(lead_time_rows([raw]), CsvDialect.DUTCH)


# Spreadsheets and Parquet


def test_xlsx_and_the_dutch_csv_read_back_with_the_monitors_numbers(view: ChainView) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    pandas = pytest.importorskip("pandas")
    from monitor.application.workbooks import tables_xlsx

    rows = lead_time_table(view, min_group_size=1)
    table = lead_time_rows(rows)
    book = openpyxl.load_workbook(
        io.BytesIO(tables_xlsx([table, unit_table(view)], [("min_group_size", 1)]))
    )
    assert book.sheetnames == ["lead_times", "units", "about"]
    sheet = list(book["lead_times"].iter_rows(values_only=True))
    header, body = sheet[0], sheet[1:]
    police = dict(zip(header, next(r for r in body if r[0] == "T2-T3"), strict=True))
    # T2-T3 closed: 92, 113, 120, 255 days (median 116.5, mean 145, 3 of 4 within six months)
    assert (police["closed"], police["median_days"], police["mean_days"]) == (4, 116.5, 145.0)
    assert police["share_within_norm"] == 0.75
    assert police["small_group"] is False
    about = dict(book["about"].iter_rows(values_only=True))
    assert about["min_group_size"] == 1
    assert "half up" in about["rounding"]

    units = list(book["units"].iter_rows(values_only=True))
    by_key = {(r[0], r[1]): dict(zip(units[0], r, strict=True)) for r in units[1:]}
    first = by_key[("case-001", "victim-001")]
    assert first["T0"] == datetime(2020, 1, 10)  # a date cell (openpyxl reads it as datetime)
    assert (first["T0-T8_days"], first["T0-T8_status"]) == (508, "closed")
    assert first["form"] == "SEXUAL"
    assert first["minor"] is False

    dutch = table_csv(table, CsvDialect.DUTCH)
    frame = pandas.read_csv(io.StringIO(dutch), sep=";", decimal=",")
    assert list(frame.columns) == list(header)
    for line in body:
        read = frame[frame["interval"] == line[0]].iloc[0]
        for name in ("closed", "median_days", "mean_days", "km_median_days", "share_within_norm"):
            expected = line[header.index(name)]
            if expected is None:
                assert pandas.isna(read[name])
            else:
                assert read[name] == pytest.approx(expected, abs=1e-9), (line[0], name)


def test_the_chain_figures_csv_has_the_dutch_dialect_too(view: ChainView) -> None:
    from monitor.domain import chain_figures, figures_csv

    rows = chain_figures(view, min_group_size=1)
    dutch = figures_csv(rows, CsvDialect.DUTCH).splitlines()
    assert dutch[0] == "year;figure;category;value;small_group"
    # 2021: one summons (case-003) and two dismissals (case-002, case-003): 1/3; verdicts: a
    # conviction (case-001) and an acquittal (case-003): 1/2.
    assert "2021;summons_share;;0,333;false" in dutch
    assert "2021;conviction_share;;0,500;false" in dutch
    standard = figures_csv(rows).splitlines()
    assert len(standard) == len(dutch)
    assert "2021,summons_share,,0.333,false" in standard


def test_the_units_table_has_a_row_per_unit_with_milestones_and_durations(
    view: ChainView,
) -> None:
    pyarrow_parquet = pytest.importorskip("pyarrow.parquet")
    from monitor.application.workbooks import table_parquet

    table = unit_table(view)
    assert len(table.rows) == len(view.units) == 8
    read = pyarrow_parquet.read_table(io.BytesIO(table_parquet(table, [("as_of", "2021-12-31")])))
    assert read.num_rows == 8
    assert read.schema.field("T2").type == "date32[day]"
    assert read.schema.metadata[b"as_of"] == b"2021-12-31"
    rows = read.to_pylist()
    for unit, row in zip(view.units, rows, strict=True):
        assert (row["case_id"], row["victim_id"]) == (unit.case_id, unit.victim_id)
        assert row["T2"] == unit.at(Milestone.T2)
        observation = observe(unit, POLICE_PHASE, AS_OF)
        if observation is None:
            assert row["T2-T3_days"] is None
        else:
            assert (row["T2-T3_days"], row["T2-T3_status"]) == (
                observation.days,
                observation.status.value,
            )
    # case-006/victim-008: no investigation, so the police phase ended after 91 days
    ended = next(r for r in rows if r["case_id"] == "case-006")
    assert (ended["T2-T3_days"], ended["T2-T3_status"]) == (91, "ended")
    pseudonymised = table_csv(unit_table(view, pseudonymise=True))
    assert "victim-00" not in pseudonymised
    assert "case-00" not in pseudonymised


# Process mining


def test_pm4py_reads_the_richer_xes_with_the_units_categories(
    view: ChainView, tmp_path: Path
) -> None:
    pm4py = pytest.importorskip("pm4py")
    path = tmp_path / "cases.xes"
    path.write_text(event_log_xes(view), encoding="utf-8")
    frame = pm4py.read_xes(str(path))

    traces = frame.groupby("case:concept:name").first()
    three = traces.loc["case-003/victim-003"]
    assert (three["case:cohort"], three["case:form"], three["case:region"]) == (
        "pilot-2020",
        "SEXUAL",
        "DEN_HAAG",
    )
    assert bool(three["case:minor"]) is True
    assert int(three["case:report_year"]) == 2020
    assert traces.loc["case-001/victim-001", "case:cohort"] != "pilot-2020"

    dismissed = frame[frame["concept:name"] == "CaseDismissed"]
    assert set(dismissed["dismissal_kind"]) == {"TECHNICAL", "POLICY"}
    verdicts = frame[frame["concept:name"] == "VerdictDelivered"]
    assert set(verdicts["instance"]) == {"FIRST_INSTANCE"}
    assert set(verdicts["outcome"]) == {"CONVICTION_TRAFFICKING", "ACQUITTAL"}
    # No residence fact in the case log: its durations are the monitor's own.
    assert set(frame["org:group"]) == {"intake", "investigation", "prosecution"}
    stamps = frame.groupby("case:concept:name")["time:timestamp"]
    spans = (stamps.max() - stamps.min()).dt.days.to_dict()
    for unit in view.units:
        observation = observe(unit, WHOLE_CHAIN, AS_OF)
        if observation is not None and observation.status is Status.CLOSED:
            assert spans[f"{unit.case_id}/{unit.victim_id}"] == observation.days

    residence = tmp_path / "residence.xes"
    residence.write_text(residence_log_xes(view), encoding="utf-8")
    triggers = pm4py.read_xes(str(residence))
    assert set(triggers["org:group"]) == {"residence"}
    per_victim = triggers.groupby("case:concept:name")["concept:name"].apply(list).to_dict()
    assert per_victim["victim-001"] == ["NonTemporaryPermitIndicated"] * 2
    # The offer of a reflection period is intake's (the police's), not a residence fact.
    assert per_victim["victim-002"] == ["ReflectionPeriodGranted", "TemporaryPermitGranted"]
    grounds = triggers[triggers["concept:name"] == "NonTemporaryPermitIndicated"]["ground"]
    assert sorted(grounds) == ["CONVICTION", "PROSECUTION", "PROSECUTION"]


def test_pm4py_reads_the_ocel_with_victims_cases_and_suspects(
    view: ChainView, tmp_path: Path
) -> None:
    pm4py = pytest.importorskip("pm4py")
    path = tmp_path / "chain.jsonocel"
    path.write_text(json.dumps(event_log_ocel(view)), encoding="utf-8")
    ocel = pm4py.read_ocel2_json(str(path))

    counts = ocel.objects.groupby("ocel:type").size().to_dict()
    monitor_counts = {
        "victim": len({r.victim_id for r in view.records if r.victim_id}),
        "case": len({r.case_id for r in view.records if r.case_id}),
        "suspect": len({r.suspect_id for r in view.records if r.suspect_id}),
    }
    assert counts == monitor_counts == {"victim": 8, "case": 6, "suspect": 4}
    assert len(ocel.events) == len(view.records)

    # A case's duration: from its first report (T2 of its earliest victim) to its final (T8).
    flat = pm4py.ocel_flattening(ocel, "case")
    stamps = flat.groupby("case:concept:name")["time:timestamp"]
    spans = (stamps.max() - stamps.min()).dt.days.to_dict()
    expected: dict[str, int] = {}
    for unit in view.units:
        t2, t8 = unit.at(Milestone.T2), unit.at(Milestone.T8)
        if unit.case_id is not None and t2 is not None and t8 is not None:
            days = (t8 - t2).days
            expected[f"case:{unit.case_id}"] = max(expected.get(f"case:{unit.case_id}", 0), days)
    assert expected == {"case:case-001": 478, "case:case-003": 405}
    assert {name: spans[name] for name in expected} == expected

    # One case, two victims and two suspects: the acquittal concerns them all but suspect-004.
    relations = ocel.relations
    (verdict_id,) = relations[
        (relations["ocel:activity"] == "VerdictDelivered")
        & (relations["ocel:oid"] == "case:case-003")
    ]["ocel:eid"]
    linked = set(relations[relations["ocel:eid"] == verdict_id]["ocel:oid"])
    assert linked == {
        "case:case-003",
        "suspect:suspect-003",
        "victim:victim-003",
        "victim:victim-004",
    }
    victims = ocel.objects[ocel.objects["ocel:type"] == "victim"].set_index("ocel:oid")
    assert victims.loc["victim:victim-003", "cohort"] == "pilot-2020"
    assert "victim-00" not in json.dumps(event_log_ocel(view, pseudonymise=True))


# Through the interfaces


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveProjection]:
    projection = LiveProjection(SqliteFactStore(tmp_path / "facts.sqlite3"), CLOCK)
    yield projection
    projection.close()


@pytest.fixture
async def apis(live: LiveProjection) -> tuple[HttpApi, MonitorApi]:
    await asyncio.gather(*(live.apply(f) for f in fixed_chain().facts))
    registry = IdentityRegistry.from_file(REPO_ROOT / "deploy/local/identities.toml")
    consumer: Any = type("Consumer", (), {"consuming": True, "services": ("intake",)})()
    queries = MonitorQueries(live, CLOCK, min_group_size=10, min_group_size_floor=2)
    http = HttpApi(queries, live, consumer, registry, "127.0.0.1:0")
    return http, MonitorApi(queries, live, consumer)


def analyst() -> Caller:
    registry = IdentityRegistry.from_file(REPO_ROOT / "deploy/local/identities.toml")
    identity = registry.by_token("local-analyst-token")
    assert identity is not None
    return Caller(identity=identity, trace={})


ANALYST = {"authorization": "Bearer local-analyst-token"}


async def test_http_and_grpc_serve_the_same_table_in_every_format(
    apis: tuple[HttpApi, MonitorApi],
) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    http, grpc = apis
    answer = await http.respond("GET", "/export/units.xlsx?as_of=2021-12-31", ANALYST)
    assert answer.status == 200
    assert answer.content_type.startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(answer.body))["units"]
    assert sheet.max_row == 1 + 8

    request = pb.ExportUnitsRequest(as_of=pb.AsOf(on="2021-12-31"), format=pb.TABLE_FORMAT_CSV_NL)
    over_grpc = await grpc.ExportUnits(request, analyst())
    over_http = await http.respond("GET", "/export/units.csv?as_of=2021-12-31&dialect=nl", ANALYST)
    assert over_grpc.content == over_http.body
    assert over_http.body.decode().startswith("case_id;victim_id;cohort;")

    ocel = await grpc.ExportEventLog(
        pb.ExportEventLogRequest(
            as_of=pb.AsOf(on="2021-12-31"), format=pb.EVENT_LOG_FORMAT_OCEL2_JSON
        ),
        analyst(),
    )
    assert ocel.filename == "event-log-2021-12-31.jsonocel"
    assert {o["type"] for o in json.loads(ocel.content)["objects"]} == {"victim", "case", "suspect"}
    parquet = await http.respond("GET", "/export/units.parquet?as_of=2021-12-31", ANALYST)
    assert parquet.body[:4] == b"PAR1"


async def test_every_answer_states_its_threshold_and_none_goes_below_the_floor(
    apis: tuple[HttpApi, MonitorApi],
) -> None:
    http, grpc = apis
    path = "/api/lead-times?as_of=2021-12-31&interval=T0-T2&by=cohort,minor"
    published_answer = json.loads((await http.respond("GET", path, ANALYST)).body)
    assert published_answer["min_group_size"] == 10  # the published default
    assert all(r["median_days"] is None for r in published_answer["rows"])

    lowered = json.loads((await http.respond("GET", path + "&min_group_size=2", ANALYST)).body)
    assert lowered["min_group_size"] == 2
    overall = next(r for r in lowered["rows"] if r["group"] == "all,all")
    assert (overall["closed"], overall["median_days"], overall["mean_days"]) == (7, 14.0, 17.4)

    refused = await http.respond("GET", path + "&min_group_size=1", ANALYST)
    assert refused.status == 400
    assert b"floor" in refused.body
    grpc_answer = await grpc.GetLeadTimes(
        pb.GetLeadTimesRequest(
            as_of=pb.AsOf(on="2021-12-31"), by="form,report_year", min_group_size=2
        ),
        analyst(),
    )
    assert grpc_answer.min_group_size == 2
    assert any(r.complementary for r in grpc_answer.rows)
    figures = json.loads(
        (await http.respond("GET", "/api/figures?as_of=2021-12-31&min_group_size=3", ANALYST)).body
    )
    assert figures["min_group_size"] == 3


async def test_a_table_format_the_monitor_does_not_know_is_refused(
    apis: tuple[HttpApi, MonitorApi],
) -> None:
    http, grpc = apis
    answer = await http.respond("GET", "/export/units.csv?dialect=fr", ANALYST)
    assert answer.status == 400
    with pytest.raises(InvalidCommand):
        await grpc.ExportUnits(pb.ExportUnitsRequest(format=99), analyst())  # type: ignore[arg-type]
    assert TableFormat("csv-nl") is TableFormat.CSV_NL
