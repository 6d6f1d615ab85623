"""The bench harness runs in a tiny mode here, so that `make bench` cannot rot. It asserts that
figures are produced, never how fast anything is."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from ketenzicht_common.testing.fixtures import REPO_ROOT

pytestmark = pytest.mark.integration


def test_the_bench_prints_every_figure_beside_its_raw_limit() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ketenzicht_bench", "--tiny"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    output = result.stdout
    # Issue 16's table: every row with its target and whether this run met it.
    for row in (
        "end-to-end ingest (bulk streams",
        "the floor pipeline (same processes",
        "live load, unary signal + report pairs, 1,000 events/s offered",
        "at 300 events/s: report acknowledged → trigger on the feed",
        "projection rebuild (the monitor re-reads",
        "CPU per command in the ingest, all processes but the load generator",
        "CPU of one unary command in intake",
    ):
        block = re.search(
            re.escape(row) + r".*?\n    target   [^\n]*: target (NOT )?met", output, re.S
        )
        assert block, (row, output[:4000])
    assert re.search(r"floor ([\d,]+)/s \(([\d.]+)\)", output), output[:4000]
    assert re.search(r"bare grpc.aio unary call \d+\.\d\d ms", output), output[:4000]
    ingest = re.search(r"end-to-end ingest.*?([\d,]+)/s\s+([\d,]+)/s\s+([\d.]+)", output)
    assert ingest, output
    assert float(ingest.group(3)) > 0
    # The ingest counts events, as the targets do; every command stored at least one.
    counted = re.search(r"\(([\d,]+) events of ([\d,]+) commands in", output)
    assert counted, output
    events, commands = (int(n.replace(",", "")) for n in counted.groups())
    assert events >= commands > 0
    for raw_limit in (
        "JetStream publish",
        "SQLite batched insert",
        "eventsourcing on SQLite, 1 event(s) a save",
        "eventsourcing on SQLite, 10 event(s) a save",
    ):
        assert raw_limit in output
    assert re.search(r"intake\s+[\d,]+ MiB", output)
    # The share of residence's triggers that were retracted, for the bench's scenario.
    retracted = re.search(r"triggers retracted\s+([\d,]+) of ([\d,]+)\s+([\d.]+)%", output)
    assert retracted, output
    assert int(retracted.group(2).replace(",", "")) > 0
    # Where the time goes: every process's CPU per command, and the ceiling that sets.
    for process in ("intake", "residence", "monitor", "nats-server", "all processes"):
        assert re.search(rf"{process}\s+\d+\.\d\d ms", output), output
    assert re.search(r"at most [\d,]+ commands/s on this machine", output)
    # … for the latency run, per signal-and-report pair; and the rebuild's reading alone.
    assert re.search(r"at most [\d,]+ pairs/s on this machine", output), output
    for reading in (
        "an event of the stack's streams",
        "a message with one header",
        "the monitor, reading, checking and storing",
    ):
        assert re.search(rf"{reading}.*\s\d+ µs", output), output
    # … and the rebuild's CPU per fact in each process it runs in (its worker among them).
    for process in ("monitor", "monitor worker", "nats-server"):
        assert re.search(rf"\n    {process}\s+\d+\.\d µs", output), output
    assert re.search(r"monitor worker\s+\d+ MiB", output), output


def test_the_scale_run_prints_memory_as_events_go_through() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ketenzicht_bench", "--scale-run", "--via-grpc", "--events", "2000"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    output = result.stdout
    applied = re.search(r"scale run: ([\d,]+) commands fed, ([\d,]+) events applied", output)
    assert applied, output[-3000:]
    assert int(applied.group(2).replace(",", "")) >= 1000
    header = next(line for line in output.splitlines() if line.strip().startswith("events"))
    for process in ("intake", "residence", "monitor", "nats-server"):
        assert process in header
    assert re.search(r"growth /100k(\s+-?[\d,.]+){6}", output), output[-3000:]
    # Issue 16's growth row: the monitor's rebuild timed after the scenario, peak memory judged.
    assert re.search(r"the monitor's rebuild at [\d,]+ events: [\d,]+ facts/s", output), output
    assert re.search(r"peak memory under 2,048 MiB a process .*: target (NOT )?met", output)


@pytest.mark.cluster
@pytest.mark.postgres
@pytest.mark.e2e
def test_the_cluster_bench_prints_the_figures_beside_the_clusters_raw_limits() -> None:
    """`make bench PROFILE=cluster` in its tiny mode (about 30 s): the same table, on the
    cluster profile, beside an R3 stream's publish rate and PostgreSQL's insert rates."""
    result = subprocess.run(
        [sys.executable, "-m", "ketenzicht_bench", "--cluster", "--tiny"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=170,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    output = result.stdout
    assert "the cluster profile (make bench PROFILE=cluster)" in output
    for row in (
        "end-to-end ingest (bulk streams",
        "live load, unary signal + report pairs, 1,000 events/s offered",
        "at 300 events/s: report acknowledged → trigger on the feed",
        "projection rebuild (the monitor re-reads",
        "CPU per command in the ingest, all processes but the load generator",
        "CPU of one unary command in intake",
    ):
        block = re.search(
            re.escape(row) + r".*?\n    target   [^\n]*: target (NOT )?met", output, re.S
        )
        assert block, (row, output[:4000])
    limits = {}
    for name in (
        "JetStream publish to an R3 stream (TLS, 3 nodes)",
        "PostgreSQL insert (psycopg, 500 rows a transaction, stored-events shape)",
        "eventsourcing on PostgreSQL, 1 event(s) a save",
        "eventsourcing on PostgreSQL, 10 event(s) a save",
    ):
        found = re.search(re.escape(name) + r"\s+([\d,]+)/s", output)
        assert found, (name, output)
        limits[name] = int(found.group(1).replace(",", ""))
    assert all(rate > 0 for rate in limits.values()), limits
    ingest = re.search(r"end-to-end ingest.*?([\d,]+)/s\s+([\d,]+)/s\s+([\d.]+)", output)
    assert ingest, output
    assert float(ingest.group(3)) > 0
    # Every node's CPU and PostgreSQL's, each process of the cluster accounted for.
    for process in ("nats-server 1", "nats-server 2", "nats-server 3", "postgresql", "residence"):
        assert re.search(rf"{process}[^\n]*\s+\d+\.\d\d ms", output), output


def test_the_direct_scale_run_times_the_replay_and_the_rebuild_on_valid_events() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ketenzicht_bench", "--scale-run", "--events", "3000"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    output = result.stdout
    written = re.search(
        r"([\d,]+) upstream events \(intake [\d,]+, investigation [\d,]+, prosecution [\d,]+\), "
        r"([\d,]+) triggers raised by residence: ([\d,]+) on the streams; refused by the "
        r"consumers \(dead letters\): residence (\d+), monitor (\d+)",
        output,
    )
    assert written, output[-3000:]
    upstream, triggers, total = (int(n.replace(",", "")) for n in written.groups()[:3])
    assert upstream >= 2000
    assert triggers > 0
    assert total == upstream + triggers
    # Valid events: the consumers' contract and origin checks refused none of them.
    assert written.group(4) == written.group(5) == "0"
    # Residence replayed every upstream event, and the monitor rebuilt all of them and the
    # triggers residence raised from them.
    replayed = re.search(r"residence replaying its upstream\s+([\d,]+)", output)
    rebuilt = re.search(r"the monitor's rebuild from every stream\s+([\d,]+)", output)
    assert replayed, output[-3000:]
    assert rebuilt, output[-3000:]
    assert int(replayed.group(1).replace(",", "")) == upstream
    assert int(rebuilt.group(1).replace(",", "")) == total
    header = next(
        line for line in output.splitlines() if line.startswith("phase") and "intake" in line
    )
    for process in ("intake", "residence", "monitor", "nats-server"):
        assert process in header
    assert re.search(r"peak \(VmHWM\)(\s+[\d,]+){6}", output), output[-3000:]
    assert re.search(r"the monitor's rebuild at [\d,]+ events: [\d,]+ facts/s", output), output
    assert re.search(r"peak memory under 2,048 MiB a process .*: target (NOT )?met", output)
