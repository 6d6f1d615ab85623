"""The monitor as a running service: a real nats-server, the monitor process, events published
onto JetStream the way the relay publishes them, and the monitor's tables read back over gRPC,
HTTP and the command line."""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from headless_browser import Browser
from monitor_bus_events import (
    AS_OF,
    chain_events,
    corrected_case_events,
    publish,
    shuffled_with_duplicates,
    wait_until_acknowledged,
)

from ketenzicht.monitor.v1 import monitor_pb2 as pb
from ketenzicht.monitor.v1.monitor_pb2_grpc import MonitorServiceStub
from ketenzicht_common.client import connect
from ketenzicht_common.processes import NatsServer, ServiceProcess, free_port
from ketenzicht_common.testing import TOKENS
from ketenzicht_common.testing.fixtures import REPO_ROOT, ServiceFactory

pytestmark = pytest.mark.integration

BREAKDOWNS = ("", "cohort", "intervention:SAFETY_COORDINATOR")


def start_monitor(
    service_factory: ServiceFactory,
    nats_url: NatsServer,
    *,
    data_dir: Path | None = None,
    http_port: int | None = None,
    min_group_size: int | None = None,
    rebuild_workers: int | None = None,
) -> ServiceProcess:
    env = {"KETENZICHT_MONITOR_HTTP_ADDRESS": f"127.0.0.1:{http_port or free_port()}"}
    if min_group_size is not None:
        env["KETENZICHT_MONITOR_MIN_GROUP_SIZE"] = str(min_group_size)
    if rebuild_workers is not None:
        env["KETENZICHT_MONITOR_REBUILD_WORKERS"] = str(rebuild_workers)
    return service_factory("monitor", nats_url, data_dir=data_dir, env=env)


async def tables(address: str) -> dict[str, Any]:
    """Everything the monitor publishes, as of the test chain's last day."""
    as_of = pb.AsOf(on=AS_OF)
    found: dict[str, Any] = {}
    async with connect(address, token=TOKENS["ANALYST"]) as channel:
        monitor = MonitorServiceStub(channel)
        for by in BREAKDOWNS:
            found[f"lead times by {by or 'nothing'}"] = await monitor.GetLeadTimes(
                pb.GetLeadTimesRequest(as_of=as_of, by=by)
            )
        found["figures"] = await monitor.GetChainFigures(pb.GetChainFiguresRequest(as_of=as_of))
        for form in (pb.EVENT_LOG_FORMAT_XES, pb.EVENT_LOG_FORMAT_CSV):
            export = await monitor.ExportEventLog(
                pb.ExportEventLogRequest(as_of=as_of, format=form)
            )
            found[f"event log {form}"] = export.content
    return found


async def status(address: str) -> Any:
    async with connect(address, token=TOKENS["ANALYST"]) as channel:
        return await MonitorServiceStub(channel).GetStatus(pb.GetStatusRequest())


# A rebuild checks and stores the messages on the event loop (0) or in a worker process (1).
@pytest.mark.parametrize("rebuild_workers", [0, 2])
async def test_out_of_order_and_duplicated_delivery_gives_the_same_tables_as_in_order(
    nats_factory: Callable[[], NatsServer],
    service_factory: ServiceFactory,
    tmp_path: Path,
    rebuild_workers: int,
) -> None:
    events = chain_events()
    in_order_bus, shuffled_bus = nats_factory(), nats_factory()

    # Each monitor has a fact database of its own, as two monitor instances would.
    # In order, published before the monitor starts: it catches up on a backlog.
    await publish(in_order_bus, events)
    in_order = start_monitor(service_factory, in_order_bus, data_dir=tmp_path / "in-order")
    # Shuffled and partly delivered twice, to a monitor started before any stream existed.
    shuffled = start_monitor(
        service_factory,
        shuffled_bus,
        data_dir=tmp_path / "shuffled",
        rebuild_workers=rebuild_workers,
    )
    await publish(shuffled_bus, shuffled_with_duplicates(events))
    await wait_until_acknowledged(in_order_bus)
    await wait_until_acknowledged(shuffled_bus)

    expected = await tables(in_order.address)
    assert expected["lead times by nothing"].rows[0].median_days > 0  # not an empty table
    assert [r.group for r in expected["lead times by cohort"].rows][:3] == [
        "none",
        "pilot-2022-a",
        "pilot-2022-b",
    ]
    assert await tables(shuffled.address) == expected
    assert (await status(shuffled.address)).facts == len(events)

    # Rebuilding from the start of the streams gives the same result again.
    async with connect(shuffled.address, token=TOKENS["ANALYST"]) as channel:
        rebuilt = await MonitorServiceStub(channel).Rebuild(pb.RebuildRequest())
    assert (rebuilt.facts_before, rebuilt.facts_after) == (len(events), len(events))
    assert await tables(shuffled.address) == expected


async def time_to_report_and_verdicts(address: str, known_by: str = "") -> tuple[Any, ...]:
    """T0->T2 (median days, closed units) and the first-instance verdicts of 2023, as of
    2024-06-30 and known by `known_by` (default: the end of that day)."""
    as_of = pb.AsOf(on="2024-06-30", known_by=known_by)
    async with connect(address, token=TOKENS["ANALYST"]) as channel:
        monitor = MonitorServiceStub(channel)
        lead_times = await monitor.GetLeadTimes(
            pb.GetLeadTimesRequest(as_of=as_of, intervals=["T0-T2"])
        )
        figures = await monitor.GetChainFigures(
            pb.GetChainFiguresRequest(as_of=as_of, years=[2023])
        )
    (row,) = lead_times.rows
    (year,) = figures.years
    return (
        row.median_days,
        row.closed,
        year.first_instance_verdicts,
        {c.category: c.count for c in year.verdicts_by_outcome},
    )


async def test_the_tables_follow_corrections_and_a_known_by_before_them_gives_the_old_ones(
    nats_factory: Callable[[], NatsServer], service_factory: ServiceFactory, tmp_path: Path
) -> None:
    facts, corrections = corrected_case_events()
    bus = nats_factory()
    # One case: its figures are shown only with the small-group rule off.
    monitor = start_monitor(service_factory, bus, data_dir=tmp_path / "monitor", min_group_size=1)
    await publish(bus, facts)
    await wait_until_acknowledged(bus)
    # As first stated: 2023-01-10 -> 2023-03-01 = 50 days; one conviction in 2023.
    before = (50.0, 1, 1, {"CONVICTION_TRAFFICKING": 1})
    assert await time_to_report_and_verdicts(monitor.address) == before

    # Intake amends the report to 2023-02-01 (22 days); prosecution annuls the verdict. Both
    # are recorded on 2024-01-16 at 09:00 UTC, each published as its own service.
    await publish(bus, corrections)
    await wait_until_acknowledged(bus)
    after = (22.0, 1, 0, {})
    assert await time_to_report_and_verdicts(monitor.address) == after
    # Known by a moment before the corrections: the table as it was published.
    assert await time_to_report_and_verdicts(monitor.address, "2024-01-16T09:59:59+01:00") == before
    assert await time_to_report_and_verdicts(monitor.address, "2024-01-16T10:00:00+01:00") == after

    # A rebuild from the streams applies the same corrections.
    async with connect(monitor.address, token=TOKENS["ANALYST"]) as channel:
        await MonitorServiceStub(channel).Rebuild(pb.RebuildRequest())
    assert await time_to_report_and_verdicts(monitor.address) == after
    assert await time_to_report_and_verdicts(monitor.address, "2024-01-01T00:00:00Z") == before


async def projection_contents(address: str) -> tuple[Any, ...]:
    """What the projection holds: every fact (the event log lists each one by id), the figures
    per year and the size; cheaper to compare than every lead-time breakdown."""
    as_of = pb.AsOf(on=AS_OF)
    async with connect(address, token=TOKENS["ANALYST"]) as channel:
        monitor = MonitorServiceStub(channel)
        log = await monitor.ExportEventLog(
            pb.ExportEventLogRequest(as_of=as_of, format=pb.EVENT_LOG_FORMAT_CSV)
        )
        figures = await monitor.GetChainFigures(pb.GetChainFiguresRequest(as_of=as_of))
        facts = (await monitor.GetStatus(pb.GetStatusRequest())).facts
    return log.content, figures, facts


async def test_a_restarted_monitor_has_its_figures_at_once_without_reading_the_bus(
    nats_server: NatsServer, service_factory: ServiceFactory, tmp_path: Path
) -> None:
    data_dir = tmp_path / "monitor-data"
    events = chain_events(40, seed=11)

    def monitor() -> ServiceProcess:
        return service_factory(
            "monitor",
            nats_server,
            data_dir=data_dir,
            env={"KETENZICHT_MONITOR_HTTP_ENABLED": "false", "KETENZICHT_MONITOR_PREWARM": "false"},
        )

    first = monitor()
    await publish(nats_server, events)
    await wait_until_acknowledged(nats_server)
    before = await projection_contents(first.address)
    assert before[2] == len(events)

    # Killed: every acknowledged fact was committed to the fact database before its ack.
    first.kill()
    nats_server.stop()  # and nothing can be read from the bus any more
    restarted = monitor()
    assert await projection_contents(restarted.address) == before

    # Stopped: the database is closed cleanly and opened again.
    restarted.stop()
    assert (data_dir / "projection" / "facts.sqlite3").exists()
    again = monitor()
    assert await projection_contents(again.address) == before

    # Back on the bus, the durable consumers resume: new facts are added, none twice.
    nats_server.start()
    more = chain_events(45, seed=11)[len(events) :]
    assert more, "the bigger chain has events the smaller one lacks"
    await publish(nats_server, more)
    await wait_until_acknowledged(nats_server)
    assert (await status(again.address)).facts == len(events) + len(more)


def http_get(url: str, token: str | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


async def test_the_http_json_api_answers_analysts_only(
    nats_server: NatsServer, service_factory: ServiceFactory
) -> None:
    http_port = free_port()
    monitor = start_monitor(service_factory, nats_server, http_port=http_port)
    await publish(nats_server, chain_events())
    await wait_until_acknowledged(nats_server)
    base = f"http://127.0.0.1:{http_port}"
    lead_times = f"{base}/api/lead-times?as_of={AS_OF}&by=cohort"

    def get(url: str, token: str | None = None) -> Any:
        return asyncio.to_thread(http_get, url, token)

    code, headers, _ = await get(lead_times)
    assert code == 401
    assert headers["WWW-Authenticate"].startswith("Bearer")
    assert (await get(lead_times, "not-a-token"))[0] == 401
    assert (await get(lead_times, TOKENS["POLICE"]))[0] == 403
    # The auditor reads the audit trail (gRPC), not the figures (ADR 0022).
    assert (await get(lead_times, TOKENS["AUDITOR"]))[0] == 403

    code, headers, body = await get(lead_times, TOKENS["ANALYST"])
    assert code == 200
    assert headers["Content-Type"] == "application/json"
    document = json.loads(body)
    over_grpc = (await tables(monitor.address))["lead times by cohort"]
    assert [
        (r["interval"], r["group"], r["units"], r["closed"], r["median_days"])
        for r in document["rows"]
    ] == [
        (
            r.interval,
            r.group,
            r.units,
            r.closed,
            r.median_days if r.HasField("median_days") else None,
        )
        for r in over_grpc.rows
    ]
    assert document["as_of"] == AS_OF

    code, _, body = await get(
        f"{base}/api/figures?as_of={AS_OF}&years=2021,2022", TOKENS["ANALYST"]
    )
    assert code == 200
    assert [y["year"] for y in json.loads(body)["years"]] == [2021, 2022]

    code, headers, body = await get(
        f"{base}/export/lead-times.csv?as_of={AS_OF}", TOKENS["ANALYST"]
    )
    assert code == 200
    assert headers["Content-Type"].startswith("text/csv")
    assert body.decode().splitlines()[0].startswith("interval,dimension,group,units")
    code, headers, body = await get(f"{base}/export/event-log.xes?as_of={AS_OF}", TOKENS["ANALYST"])
    assert code == 200
    assert b"<trace>" in body
    assert "attachment" in headers["Content-Disposition"]
    assert (await get(f"{base}/export/event-log.xes", None))[0] == 401

    code, _, body = await get(f"{base}/api/lead-times?by=shoe-size", TOKENS["ANALYST"])
    assert code == 400
    assert "by" in json.loads(body)["fields"]
    assert (await get(f"{base}/api/nothing-here", TOKENS["ANALYST"]))[0] == 404
    # The dashboard's page holds no data, so it needs no token; its data calls do.
    code, headers, body = await get(f"{base}/")
    assert code == 200
    assert b'id="chart-distribution"' in body
    assert "script-src 'self'" in headers["Content-Security-Policy"]


CHROMIUM = Path("/usr/bin/chromium")


def chromium(profile: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    if not CHROMIUM.exists():
        pytest.fail(
            "Debian's chromium is missing at /usr/bin/chromium: run `make chromium` "
            "(make test installs it); the dashboard must be tested in a real browser"
        )
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        # Virtual time waits for the page's fetches and scripts before the DOM is dumped.
        "--virtual-time-budget=15000",
        *arguments,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=90, check=True)


class SvgCollector:
    """The elements inside each <svg id=...> of a dumped DOM, with their attributes."""

    def __init__(self, html: str) -> None:
        from html.parser import HTMLParser

        self.elements: list[tuple[str, str, dict[str, str]]] = []
        self.body: dict[str, str] = {}
        collector = self

        class Parser(HTMLParser):
            chart = ""

            def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
                attributes = {k: v or "" for k, v in attrs}
                if tag == "body":
                    collector.body = attributes
                if tag == "svg":
                    self.chart = attributes.get("id", "")
                elif self.chart:
                    collector.elements.append((self.chart, tag, attributes))

            def handle_endtag(self, tag: str) -> None:
                if tag == "svg":
                    self.chart = ""

        Parser().feed(html)

    def find(self, chart: str, tag: str, css_class: str) -> list[dict[str, str]]:
        return [
            a
            for c, t, a in self.elements
            if c == chart and t == tag and css_class in a.get("class", "").split()
        ]


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


async def test_the_dashboard_draws_its_charts_in_headless_chromium(
    nats_server: NatsServer, service_factory: ServiceFactory, tmp_path: Path
) -> None:
    http_port = free_port()
    start_monitor(service_factory, nats_server, http_port=http_port)
    await publish(nats_server, chain_events())
    await wait_until_acknowledged(nats_server)
    page = f"http://127.0.0.1:{http_port}/#token={TOKENS['ANALYST']}"
    screenshot = tmp_path / "dashboard.png"

    dumped = await asyncio.to_thread(
        chromium,
        tmp_path / "profile",
        "--dump-dom",
        f"--screenshot={screenshot}",
        "--window-size=1280,1600",
        page,
    )

    dom = SvgCollector(dumped.stdout)
    assert dom.body.get("data-state") == "ready", dumped.stdout[:2000]
    # Distribution per interval: a box, median and 90th-percentile whisker per interval.
    boxes = dom.find("chart-distribution", "rect", "box")
    assert len(boxes) >= 5
    assert dom.find("chart-distribution", "line", "median")
    assert dom.find("chart-distribution", "line", "whisker")
    assert dom.find("chart-distribution", "path", "km-median")
    assert {a["id"] for a in dom.find("chart-distribution", "g", "series")} >= {
        "interval-T0-T2",
        "interval-T2-T3",
        "interval-T0-T8",
    }
    # By cohort: the two pilot cohorts and the victims outside the pilot.
    assert {a["id"] for a in dom.find("chart-cohort", "g", "series")} == {
        "cohort-none",
        "cohort-pilot-2022-a",
        "cohort-pilot-2022-b",
    }
    assert len(dom.find("chart-cohort", "rect", "box")) == 3
    # Open cases by age: stacked bars by age band.
    ages = dom.find("chart-open-ages", "rect", "age-band")
    assert {a["data-band"] for a in ages if "data-band" in a} <= {
        "0-6m",
        "6-12m",
        "1-2y",
        "2-3y",
        "3y+",
    }
    assert any(int(a.get("data-count", "0")) > 0 for a in ages)

    image = screenshot.read_bytes()
    assert png_size(image) == (1280, 1600)
    assert len(image) > 20_000, "a blank page compresses to far less"

    # Without a token the page asks for one and shows no figures.
    dumped = await asyncio.to_thread(
        chromium, tmp_path / "profile", "--dump-dom", f"http://127.0.0.1:{http_port}/"
    )
    dom = SvgCollector(dumped.stdout)
    assert dom.body.get("data-state") == "login"
    assert not dom.find("chart-distribution", "rect", "box")


async def test_the_dashboard_shows_the_median_per_year_with_its_interval_and_table(
    nats_server: NatsServer, service_factory: ServiceFactory, tmp_path: Path
) -> None:
    """Is it getting shorter: a point and a 95% bar per year in the chart, the same figures in
    the table beside it, as the JSON API answers them."""
    http_port = free_port()
    start_monitor(service_factory, nats_server, http_port=http_port)
    await publish(nats_server, chain_events())
    await wait_until_acknowledged(nats_server)
    base = f"http://127.0.0.1:{http_port}"
    code, _, body = await asyncio.to_thread(
        http_get, f"{base}/api/trend?interval=T0-T2", TOKENS["ANALYST"]
    )
    assert code == 200
    trend = json.loads(body)
    assert trend["interval"] == "T0-T2"
    assert trend["min_group_size"] == 10
    shown = [y for y in trend["years"] if y["km_median_days"] is not None]
    assert len(shown) >= 2, trend  # 60 victims over 2021-2023: each year has 10 cases or more
    for year in shown:
        assert year["lower_days"] <= year["km_median_days"]
        assert year["upper_days"] is None or year["km_median_days"] <= year["upper_days"]

    screenshot = tmp_path / "trend.png"
    dumped = await asyncio.to_thread(
        chromium,
        tmp_path / "profile",
        "--dump-dom",
        f"--screenshot={screenshot}",
        "--window-size=1280,3400",  # every section, for a look at the artifact
        f"{base}/#token={TOKENS['ANALYST']}",
    )
    dom = SvgCollector(dumped.stdout)
    assert dom.body.get("data-state") == "ready", dumped.stdout[:2000]
    medians = dom.find("chart-trend", "circle", "trend-median")
    assert {(int(a["data-year"]), float(a["data-days"])) for a in medians} == {
        (y["year"], y["km_median_days"]) for y in shown
    }
    assert len(dom.find("chart-trend", "line", "trend-ci")) == len(shown)
    # The table beside the chart: a row per year with the same median, keyboard-focusable.
    table = dumped.stdout[dumped.stdout.index('<table id="trend-table"') :]
    table = table[: table.index("</table>")]
    assert 'tabindex="0"' in table
    for year in trend["years"]:
        assert f'<tr data-year="{year["year"]}">' in table
    for year in shown:
        assert f"<td>{round(year['km_median_days'])}</td>" in table
    assert png_size(screenshot.read_bytes()) == (1280, 3400)

    # Survival per start year: a curve and a band for every year shown, a table row per year.
    code, _, body = await asyncio.to_thread(
        http_get, f"{base}/api/survival?interval=T0-T2", TOKENS["ANALYST"]
    )
    survival = json.loads(body)
    assert survival["by"] == "start_year"
    drawn = {c["group"] for c in survival["curves"] if c["points"]}
    assert drawn == {str(y["year"]) for y in shown}
    for curve in survival["curves"]:
        for point in curve["points"]:
            assert point["lower"] <= point["survival"] <= point["upper"]
    assert {a["data-group"] for a in dom.find("chart-survival", "path", "km-curve")} == drawn
    assert {a["data-group"] for a in dom.find("chart-survival", "polygon", "km-band")} == drawn
    table = dumped.stdout[dumped.stdout.index('<table id="survival-table"') :]
    table = table[: table.index("</table>")]
    for curve in survival["curves"]:
        assert f'<tr data-group="{curve["group"]}">' in table

    # The chain per year: a bar per figure and year carrying the JSON API's count, and the table.
    code, _, body = await asyncio.to_thread(http_get, f"{base}/api/figures", TOKENS["ANALYST"])
    years = json.loads(body)["years"]
    bars = {
        (int(a["data-year"]), a["data-figure"]): int(a["data-count"])
        for a in dom.find("chart-figures", "rect", "figure-bar")
        if "data-year" in a
    }
    for year in years:
        assert bars[(year["year"], "victims_in_view")] == year["victims_in_view"]
        assert bars[(year["year"], "om_inflow")] == year["om_inflow"]
        assert bars[(year["year"], "reports")] == year["reports"] + year["cooperations"]
    assert sum(year["victims_in_view"] for year in years) == 60
    table = dumped.stdout[dumped.stdout.index('<table id="figures-table"') :]
    table = table[: table.index("</table>")]
    for year in years:
        row = f'<tr data-year="{year["year"]}"><td>{year["year"]}</td>'
        assert f"{row}<td>{year['victims_in_view']}</td>" in table


SECTIONS = {
    # section id: (its chart, the tables beside it)
    "distribution": ("chart-distribution", ("lead-time-table",)),
    "cohort": ("chart-cohort", ("cohort-table",)),
    "trend": ("chart-trend", ("trend-table",)),
    "survival": ("chart-survival", ("survival-table",)),
    "survival-cohort": ("chart-survival-cohort", ("survival-cohort-table",)),
    "chain-figures": ("chart-figures", ("figures-table",)),
    "residence": ("chart-residence", ("residence-table", "residence-open-table")),
    "open-ages": ("chart-open-ages", ("open-ages-table",)),
}
ARTIFACTS = REPO_ROOT / "var" / "test-artifacts" / "dashboard"
"""Where the dashboard test keeps a screenshot per section (README: Testing)."""


def table_text(browser: Browser, table: str) -> list[list[str]]:
    rows: list[list[str]] = browser.evaluate(
        f"[...document.querySelectorAll('#{table} tbody tr')]"
        ".map(tr => [...tr.cells].map(td => td.textContent))"
    )
    return rows


async def test_every_dashboard_section_has_its_table_is_keyboard_usable_and_photographed(
    nats_server: NatsServer, service_factory: ServiceFactory, tmp_path: Path
) -> None:
    """Each chart has its table beside it; Tab reaches every section's toggle and table with a
    visible focus; the toggle (by keyboard) shows the table alone; survival per cohort and the
    residence panel carry the JSON API's figures; a screenshot per section is kept."""
    http_port = free_port()
    start_monitor(service_factory, nats_server, http_port=http_port)
    await publish(nats_server, chain_events(residence_triggers=True))
    await wait_until_acknowledged(nats_server)
    base = f"http://127.0.0.1:{http_port}"
    survival = json.loads(
        (
            await asyncio.to_thread(
                http_get, f"{base}/api/survival?interval=T0-T2&by=cohort", TOKENS["ANALYST"]
            )
        )[2]
    )
    residence = json.loads(
        (await asyncio.to_thread(http_get, f"{base}/api/residence", TOKENS["ANALYST"]))[2]
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def drive() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        with Browser(tmp_path / "profile", width=1280, height=900) as browser:
            browser.open(
                f"{base}/#token={TOKENS['ANALYST']}",
                ready="['ready', 'error', 'login'].includes(document.body.dataset.state)",
            )
            state = browser.evaluate("document.body.dataset.state")
            assert state == "ready", browser.evaluate(
                "document.getElementById('status').textContent"
            )
            seen["focus"] = browser.focus_path(60)
            # Focus visible on a table reached by the keyboard.
            browser.evaluate("document.getElementById('controls').querySelector('input').focus()")
            while browser.evaluate("document.activeElement.id") != "trend-table":
                browser.press("Tab")
            seen["outline"] = browser.evaluate(
                "getComputedStyle(document.activeElement).outlineStyle"
            )
            # The toggle by keyboard: Shift+Tab back to the trend section's button, Space.
            while browser.evaluate("document.activeElement.className") != "view-toggle":
                browser.press("Tab", shift=True)
            browser.press(" ")
            seen["toggled"] = browser.evaluate(
                "[document.getElementById('trend').dataset.view,"
                " document.activeElement.getAttribute('aria-pressed'),"
                " getComputedStyle(document.getElementById('chart-trend')).display,"
                " getComputedStyle(document.getElementById('trend-table')).display]"
            )
            browser.press(" ")
            seen["back"] = browser.evaluate("document.getElementById('trend').dataset.view")
            seen["labels"] = browser.evaluate(
                "[...document.querySelectorAll('main section')].map(s => [s.id,"
                " s.getAttribute('aria-labelledby'),"
                " [...s.querySelectorAll('svg.plot')].map(g => g.getAttribute('aria-label'))])"
            )
            seen["tables"] = {
                t: table_text(browser, t) for _, tables in SECTIONS.values() for t in tables
            }
            seen["curves"] = browser.evaluate(
                "[...document.querySelectorAll('#chart-survival-cohort path.km-curve')]"
                ".map(p => [p.dataset.group, p.getAttribute('stroke-dasharray')])"
            )
            seen["bands"] = browser.evaluate(
                "[...document.querySelectorAll('#chart-survival-cohort polygon.km-band')]"
                ".map(p => p.dataset.group)"
            )
            seen["bars"] = browser.evaluate(
                "[...document.querySelectorAll('#chart-residence rect[data-kind]')]"
                ".map(r => [+r.dataset.year, r.dataset.kind, +r.dataset.count,"
                " getComputedStyle(r).fill])"
            )
            seen["shots"] = {
                section: browser.screenshot(f"#{section}", ARTIFACTS / f"{section}.png")
                for section in SECTIONS
            }
        return seen

    seen = await asyncio.to_thread(drive)

    # The keyboard reaches every section's toggle and each table beside its chart, in order.
    focus = seen["focus"]
    for section, (_, tables) in SECTIONS.items():
        assert f"{section}:button" in focus, (section, focus)
        for table in tables:
            assert table in focus, (table, focus)
            assert focus.index(f"{section}:button") < focus.index(table)
    assert seen["outline"] != "none"
    assert seen["toggled"] == ["table", "true", "none", "table"]
    assert seen["back"] == "both"
    for section_id, labelled_by, chart_labels in seen["labels"]:
        if section_id in SECTIONS:
            assert labelled_by == f"{section_id}-title"
            assert chart_labels, section_id
            assert all(chart_labels), section_id

    # Survival per cohort: a curve with its own dash pattern and a band per cohort shown,
    # a table row per cohort with the API's share at 90 days.
    drawn = {c["group"] for c in survival["curves"] if c["points"]}
    assert drawn >= {"pilot-2022-a", "none"}, survival
    assert {group for group, _ in seen["curves"]} == drawn
    assert len({dashes for _, dashes in seen["curves"]}) == len(drawn)
    assert set(seen["bands"]) == drawn
    rows = {row[0]: row for row in seen["tables"]["survival-cohort-table"]}
    for curve in survival["curves"]:
        at90 = curve["at_days"][0] if curve["at_days"] else None
        if at90 is not None:
            assert rows[curve["group"]][2].startswith(f"{round(100 * at90['survival'])}%")

    # The residence panel: the bars and the table carry the API's counts and medians.
    assert residence["min_group_size"] == 10
    kinds = {r["kind"] for r in residence["rows"]}
    assert kinds == {"TemporaryPermitApplicationIndicated", "NonTemporaryPermitIndicated"}, (
        residence
    )
    bars = {(year, kind): count for year, kind, count, _ in seen["bars"]}
    assert bars == {(r["year"], r["kind"]): r["triggers"] for r in residence["rows"]}
    assert len({fill for *_, fill in seen["bars"] if "url(" in fill}) == 2  # a pattern per kind
    table = seen["tables"]["residence-table"]
    assert len(table) == len(residence["rows"])
    for cells, row in zip(table, residence["rows"], strict=True):
        assert cells[0] == str(row["year"])
        assert cells[2] == str(row["triggers"])
        if row["median_days_to_decision"] is not None:
            assert cells[6] == str(math.floor(row["median_days_to_decision"] + 0.5))  # Math.round
    application = [r for r in residence["rows"] if r["kind"].startswith("TemporaryPermit")]
    assert sum(r["triggers"] for r in application) == sum(
        1 for e in chain_events(residence_triggers=True) if e.envelope.event_type == "ReportFiled"
    )
    assert all(r["open"] == 0 for r in application)  # every application answered by its permit
    assert residence["open_indications"], "some PROSECUTION grounds wait for the IND"
    assert len(seen["tables"]["residence-open-table"]) == len(residence["open_indications"])

    # Every section's table has rows, and a screenshot of each section is kept.
    for _, tables in SECTIONS.values():
        for name in tables:
            assert seen["tables"][name], name
    for section, (width, height) in seen["shots"].items():
        shot = ARTIFACTS / f"{section}.png"
        assert png_size(shot.read_bytes()) == (width, height), section
        assert height > 100, section
        assert shot.stat().st_size > 5_000, section


def _message_dict(message: Any) -> dict[str, Any]:
    from google.protobuf.json_format import MessageToDict

    found: dict[str, Any] = MessageToDict(message, preserving_proto_field_name=True)
    return found


async def test_trend_survival_and_the_residence_panel_answer_alike_over_grpc_http_and_cli(
    nats_server: NatsServer, service_factory: ServiceFactory
) -> None:
    """The same rounded figures and the same threshold on every interface; a lower threshold per
    request is stated in the answer, one below the floor is refused."""
    http_port = free_port()
    monitor = start_monitor(service_factory, nats_server, http_port=http_port)
    await publish(nats_server, chain_events(residence_triggers=True))
    await wait_until_acknowledged(nats_server)
    base = f"http://127.0.0.1:{http_port}"

    def api(path: str) -> dict[str, Any]:
        code, _, body = http_get(f"{base}{path}", TOKENS["ANALYST"])
        assert code == 200, body
        found: dict[str, Any] = json.loads(body)
        return found

    as_of = pb.AsOf(on=AS_OF)
    async with connect(monitor.address, token=TOKENS["ANALYST"]) as channel:
        stub = MonitorServiceStub(channel)
        trend = await stub.GetTrend(
            pb.GetTrendRequest(as_of=as_of, interval="T0-T2", min_group_size=5)
        )
        survival = await stub.GetSurvival(
            pb.GetSurvivalRequest(as_of=as_of, interval="T0-T2", by="cohort")
        )
        panel = await stub.GetResidencePanel(pb.GetResidencePanelRequest(as_of=as_of))
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.GetResidencePanel(pb.GetResidencePanelRequest(as_of=as_of, min_group_size=2))
        dutch_figures = await stub.ExportChainFigures(
            pb.ExportChainFiguresRequest(as_of=as_of, format=pb.TABLE_FORMAT_CSV_NL)
        )
        with pytest.raises(grpc.aio.AioRpcError) as no_workbook:
            await stub.ExportChainFigures(
                pb.ExportChainFiguresRequest(as_of=as_of, format=pb.TABLE_FORMAT_XLSX)
            )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert no_workbook.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # The chain figures in the Dutch dialect over gRPC: the same file as over HTTP.
    code, _, http_dutch = await asyncio.to_thread(
        http_get, f"{base}/export/figures.csv?as_of={AS_OF}&dialect=nl", TOKENS["ANALYST"]
    )
    assert code == 200
    assert dutch_figures.content == http_dutch
    assert dutch_figures.content.decode().splitlines()[0].count(";") >= 3

    http_trend = await asyncio.to_thread(
        api, f"/api/trend?as_of={AS_OF}&interval=T0-T2&min_group_size=5"
    )
    assert trend.min_group_size == http_trend["min_group_size"] == 5
    assert trend.interval == "T0-T2"
    assert len(trend.years) == len(http_trend["years"])
    for message, row in zip(trend.years, http_trend["years"], strict=True):
        assert (message.year, message.cases) == (row["year"], row["cases"])
        for name in ("km_median_days", "lower_days", "upper_days"):
            if row[name] is None:
                assert not message.HasField(name)
            else:
                assert getattr(message, name) == row[name]
                assert round(row[name], 1) == row[name]  # days at one decimal (ADR 0027)

    http_survival = await asyncio.to_thread(
        api, f"/api/survival?as_of={AS_OF}&interval=T0-T2&by=cohort"
    )
    assert (survival.by, survival.min_group_size) == ("cohort", 10)
    for message, curve in zip(survival.curves, http_survival["curves"], strict=True):
        assert message.group == curve["group"]
        assert [(p.day, p.survival, p.lower, p.upper) for p in message.points] == [
            (p["day"], p["survival"], p["lower"], p["upper"]) for p in curve["points"]
        ]
        for at, point in zip(message.at_days, curve["at_days"], strict=True):
            assert at.HasField("point") == (point is not None)
            if point is not None:
                assert at.point.survival == point["survival"]

    http_panel = await asyncio.to_thread(api, f"/api/residence?as_of={AS_OF}")
    assert panel.min_group_size == http_panel["min_group_size"] == 10
    rows = [_message_dict(r) for r in panel.rows]
    assert len(rows) == len(http_panel["rows"]) > 0
    for row, expected in zip(rows, http_panel["rows"], strict=True):
        for name, value in expected.items():
            if value is None:
                assert name not in row
            elif value not in (0, False):
                assert row[name] == value, (name, row, expected)
    assert [o.kind for o in panel.open_indications] == [
        o["kind"] for o in http_panel["open_indications"]
    ]

    def ketenzicht(*arguments: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "monitor.cli", "--address", monitor.address, *arguments],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=REPO_ROOT,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    printed = await asyncio.to_thread(
        ketenzicht,
        "report",
        "trend",
        "--interval",
        "T0-T2",
        "--min-group-size",
        "5",
        "--as-of",
        AS_OF,
    )
    assert "fewer than 5 cases" in printed
    for year in http_trend["years"]:
        if year["km_median_days"] is not None:
            assert any(
                line.split()[:1] == [str(year["year"])]
                and f"{year['km_median_days']:.1f}" in line.split()
                for line in printed.splitlines()
            ), printed
    printed = await asyncio.to_thread(ketenzicht, "report", "figures", "--csv-nl", "--as-of", AS_OF)
    assert printed.encode() == http_dutch
    printed = await asyncio.to_thread(ketenzicht, "report", "residence", "--as-of", AS_OF)
    assert "fewer than 10 victims" in printed
    for row in http_panel["rows"]:
        line = next(
            line.split()
            for line in printed.splitlines()
            if line.split()[:2] == [str(row["year"]), row["kind"]]
        )
        assert line[2] == str(row["triggers"])
        if row["median_days_to_decision"] is not None:
            assert line[6] == f"{row['median_days_to_decision']:.1f}"
    printed = await asyncio.to_thread(
        ketenzicht,
        "report",
        "survival",
        "--interval",
        "T0-T2",
        "--by",
        "cohort",
        "--as-of",
        AS_OF,
    )
    assert printed.splitlines()[2].split()[:3] == ["cohort", "units", "cases"]
    for curve in http_survival["curves"]:
        at90 = curve["at_days"][0] if curve["at_days"] else None
        line = next(line for line in printed.splitlines() if line.startswith(curve["group"]))
        if at90 is not None:
            assert f"{at90['survival']:.3f}" in line


async def test_the_command_line_prints_lead_times_by_cohort_and_exports_xes(
    nats_server: NatsServer, service_factory: ServiceFactory, tmp_path: Path
) -> None:
    monitor = start_monitor(service_factory, nats_server)
    await publish(nats_server, chain_events())
    await wait_until_acknowledged(nats_server)

    def ketenzicht(*arguments: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "monitor.cli", "--address", monitor.address, *arguments],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=REPO_ROOT,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    table = await asyncio.to_thread(
        ketenzicht, "report", "lead-times", "--by", "cohort", "--as-of", AS_OF
    )
    assert f"as of {AS_OF}" in table
    lines = table.splitlines()
    assert lines[2].split()[:3] == ["interval", "group", "units"]
    assert any(line.split()[:2] == ["T0-T2", "pilot-2022-a"] for line in lines)

    csv_text = await asyncio.to_thread(
        ketenzicht, "report", "lead-times", "--csv", "--as-of", AS_OF
    )
    assert csv_text.splitlines()[0].startswith("interval,dimension,group")
    figures = await asyncio.to_thread(ketenzicht, "report", "figures", "--as-of", AS_OF)
    assert figures.splitlines()[2].split()[:2] == ["figure", "2021"]

    log = tmp_path / "log.xes"
    await asyncio.to_thread(ketenzicht, "export", "xes", "--as-of", AS_OF, "-o", str(log))
    assert log.read_text().count("<trace>") == 60

    refused = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "monitor.cli",
            "--address",
            monitor.address,
            "--token",
            TOKENS["OM"],
            "status",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 1
    assert "PERMISSION_DENIED" in refused.stderr
