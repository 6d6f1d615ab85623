"""A rebuild's workers read their ranges of the streams as the monitor, store the records and
give the refusals the event loop's own check gives; a worker that dies costs one rebuild, not the
next, and a killed monitor leaves none behind. On a real, secured nats-server."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, date, datetime
from pathlib import Path

import nats
import nats.js.errors
import pytest

from ketenzicht_common.bus_access import api_prefix
from ketenzicht_common.processes import NatsServer
from ketenzicht_common.streams import ensure_stream, own_streams
from ketenzicht_contracts.envelope import Envelope
from ketenzicht_contracts.events.intake import ReportFiled
from monitor.adapters import consumer as consumer_module
from monitor.adapters.consumer import ChainConsumer, UnreadableEvent, record_from_parts
from monitor.adapters.replay_checks import Checked, Range, RawMessage, Reading, ReplayChecks
from monitor.adapters.store import SqliteFactStore

pytestmark = pytest.mark.integration

STREAM = "KETENZICHT_INTAKE"
INTAKE_API = api_prefix("intake")
"""The monitor's way to intake's direct get (intake's export, imported into its account)."""


def report(victim: str, **changes: object) -> RawMessage:
    envelope = Envelope(
        event_id=uuid.uuid4(),
        service="intake",
        event_type="ReportFiled",
        version=1,
        occurred_on=date(2022, 1, 10),
        recorded_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        aggregate_id=uuid.uuid4(),
        aggregate_version=1,
        organisation="politie",
        system="police-registration",
        position=1,
    )
    payload = ReportFiled(
        occurred_on=date(2022, 1, 10), victim_id=victim, case_id="case-001", under_number=True
    )
    headers, body = envelope.to_message(payload)
    if changes:
        body = json.dumps(json.loads(body) | changes).encode()
    return envelope.subject, headers, body


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteFactStore]:
    facts = SqliteFactStore(tmp_path / "facts.sqlite3")
    facts.start_fresh()
    try:
        yield facts
    finally:
        facts.close()


async def publish(bus: NatsServer, messages: list[RawMessage]) -> None:
    """Onto intake's stream, as intake (whose relay makes it)."""
    nc = await nats.connect(**bus.login("intake"))
    try:
        js = nc.jetstream()
        for config in own_streams("intake"):
            await ensure_stream(js, config)
        for subject, headers, body in messages:
            await js.publish(subject, body, headers=dict(headers or {}))
    finally:
        await nc.close()


@pytest.fixture
def checks(store: SqliteFactStore, nats_server: NatsServer) -> Iterator[ReplayChecks]:
    pool = ReplayChecks(1, store.path, Reading(nats_server.url, str(nats_server.seed("monitor"))))
    try:
        yield pool
    finally:
        pool.close()


async def test_a_worker_reads_stores_and_refuses_what_the_event_loop_would(
    checks: ReplayChecks, store: SqliteFactStore, nats_server: NatsServer
) -> None:
    messages = [
        report("victim-001"),
        report("victim-002", occurredon="2022-01-11"),  # the dates disagree: refused
        report("victim-003", id=str(uuid.uuid4()).upper()),  # only the exact check reads it
        report("victim-004", organisation="Jan Jansen"),  # not an identifier: refused
    ]
    expected_records, expected_refused = [], []
    for subject, headers, body in messages:
        try:
            expected_records.append(record_from_parts(STREAM, subject, headers, body))
        except UnreadableEvent as error:
            expected_refused.append(str(error))
    await publish(nats_server, messages)

    assert await asyncio.to_thread(checks.start)  # the workers' process ids, once warm
    stored, refused = await _read(checks, Range(INTAKE_API, STREAM, 1, 4))

    assert stored == 2
    assert store.switch_to_fresh() == 2
    records = store.read_about("case-001", [])  # with the provenance
    assert sorted(records) == sorted(expected_records)
    assert sorted(r.victim_id for r in records) == ["victim-001", "victim-003"]
    assert refused == expected_refused
    assert any("date-mismatch" in reason for reason in refused)
    assert not any("Jan" in reason for reason in refused)


async def test_a_worker_that_died_between_rebuilds_is_replaced_before_the_next(
    checks: ReplayChecks, store: SqliteFactStore, nats_server: NatsServer
) -> None:
    await publish(nats_server, [report("victim-002")])
    (worker,) = await asyncio.to_thread(checks.start)
    os.kill(worker, signal.SIGKILL)
    await asyncio.sleep(0.5)  # the pool notices its worker is gone

    stored, _ = await _read(checks, Range(INTAKE_API, STREAM, 1, 1))
    assert stored == 1
    assert store.switch_to_fresh() == 1


async def test_a_worker_killed_with_a_range_fails_that_replay_and_the_next_is_whole(
    checks: ReplayChecks, store: SqliteFactStore, nats_server: NatsServer
) -> None:
    await publish(nats_server, [report(f"victim-{n:03}") for n in range(3)])
    (worker,) = await asyncio.to_thread(checks.start)
    os.kill(worker, signal.SIGSTOP)  # it cannot finish what it is given before it dies
    given = checks.submit(Range(INTAKE_API, STREAM, 1, 3))
    os.kill(worker, signal.SIGKILL)
    with pytest.raises(concurrent.futures.process.BrokenProcessPool):
        await asyncio.wrap_future(given)

    stored, _ = await _read(checks, Range(INTAKE_API, STREAM, 1, 3))
    assert stored == 3
    assert store.switch_to_fresh() == 3


async def test_a_replay_in_ranges_stores_every_message_present_and_skips_the_refused(
    store: SqliteFactStore, nats_server: NatsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ranges of four sequences, fewer than the workers' chunks of five: two workers take
    # them as each is free; a stream not made yet (prosecution's) gives none.
    monkeypatch.setattr(consumer_module, "REPLAY_RANGE_MIN", 4)
    messages = [report(f"victim-{n:03}") for n in range(19)]
    messages[7] = report("victim-007", occurredon="2022-01-11")  # refused
    await publish(nats_server, messages)
    checks = ReplayChecks(2, store.path, Reading(nats_server.url, str(nats_server.seed("monitor"))))
    consumer = ChainConsumer(
        nats_server.url,
        None,  # type: ignore[arg-type]
        services=("intake", "prosecution"),
        checks=checks,
        replay_chunk=5,
    )
    consumer._nc = await nats.connect(**nats_server.login("monitor"))
    try:
        ranges = await consumer._ranges(consumer._nc, checks.workers)
        assert [(r.first, r.last) for r in ranges] == [(1, 4), (5, 8), (9, 12), (13, 16), (17, 19)]

        def applied(fact: object) -> None:
            raise AssertionError("with workers, nothing goes through the event loop")

        stored = await consumer.replay(applied)
    finally:
        await consumer._nc.close()
        checks.close()

    assert stored == 18
    assert store.switch_to_fresh() == 18
    victims = {r.victim_id for r in store.read_about("case-001", [])}
    assert victims == {f"victim-{n:03}" for n in range(19)} - {"victim-007"}


async def test_a_failed_range_waits_for_the_begun_ones_with_the_event_loop_serving(
    store: SqliteFactStore, nats_server: NatsServer
) -> None:
    await publish(nats_server, [report(f"victim-{n:03}") for n in range(5)])
    checks = ReplayChecks(2, store.path, Reading(nats_server.url, str(nats_server.seed("monitor"))))
    consumer = ChainConsumer(nats_server.url, None, checks=checks)  # type: ignore[arg-type]
    holder = sqlite3.connect(store.path, isolation_level=None)
    try:
        await asyncio.to_thread(checks.start)
        holder.execute("BEGIN IMMEDIATE")  # the good range's worker waits to append
        # Prosecution has made no stream yet: its range fails at once.
        failing = Range(api_prefix("prosecution"), "KETENZICHT_PROSECUTION", 1, 5)
        replay = asyncio.create_task(
            consumer._replay_read_apart(checks, [failing, Range(INTAKE_API, STREAM, 1, 5)])
        )
        ticks, started = 0, time.monotonic()
        while time.monotonic() - started < 1.5:
            await asyncio.sleep(0.05)
            ticks += 1
        assert ticks >= 15, "the event loop was held up while the replay failed"
        assert not replay.done()  # still waiting for the range a worker has begun
        holder.execute("ROLLBACK")
        with pytest.raises(nats.js.errors.APIError):
            await replay
        # Once the replay has failed, no worker writes to the fresh table any more.
        stored = fresh_rows(store.path)
        assert stored == 5
        await asyncio.sleep(0.5)
        assert fresh_rows(store.path) == stored
    finally:
        holder.close()
        checks.close()


def fresh_rows(database: Path) -> int:
    with closing(sqlite3.connect(database)) as db:
        return int(db.execute("SELECT COUNT(*) FROM facts_fresh").fetchone()[0])


async def _read(checks: ReplayChecks, part: Range) -> Checked:
    return await asyncio.wrap_future(checks.submit(part))


def test_a_worker_leaves_when_the_monitor_is_killed(tmp_path: Path) -> None:
    program = (
        "import sys\n"
        "from pathlib import Path\n"
        "from monitor.adapters.replay_checks import Reading, ReplayChecks\n"
        "reading = Reading('nats://127.0.0.1:1', None)\n"
        "print(*ReplayChecks(1, Path(sys.argv[1]), reading).start(), flush=True)\n"
        "sys.stdin.read()\n"
    )
    monitor = subprocess.Popen(
        [sys.executable, "-c", program, str(tmp_path / "facts.sqlite3")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert monitor.stdout is not None
        worker = int(monitor.stdout.readline())
        assert _alive(worker)
        monitor.kill()  # SIGKILL: nothing of the monitor's runs to close its pool
        monitor.wait()
        deadline = time.monotonic() + 10
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(worker)
    finally:
        monitor.kill()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has ended; only its parent's wait is missing
