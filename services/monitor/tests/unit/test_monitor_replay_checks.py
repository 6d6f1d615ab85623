"""A rebuild's contract checks in a worker process store the records and give the refusals the
event loop's own check gives, and a worker that dies costs one rebuild, not the next."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from nats.aio.msg import Msg

from ketenzicht_contracts.envelope import Envelope
from ketenzicht_contracts.events.intake import ReportFiled
from monitor.adapters.consumer import ChainConsumer, UnreadableEvent, record_from_parts
from monitor.adapters.replay_checks import Checked, RawMessage, ReplayChecks
from monitor.adapters.store import SqliteFactStore

STREAM = "KETENZICHT_INTAKE"


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


@pytest.fixture
def checks(store: SqliteFactStore) -> Iterator[ReplayChecks]:
    pool = ReplayChecks(1, store.path)
    try:
        yield pool
    finally:
        pool.close()


def test_a_worker_stores_and_refuses_what_the_event_loop_would(
    checks: ReplayChecks, store: SqliteFactStore
) -> None:
    chunk = [
        report("victim-001"),
        report("victim-002", occurredon="2022-01-11"),  # the dates disagree: refused
        report("victim-003", id=str(uuid.uuid4()).upper()),  # only the exact check reads it
        report("victim-004", organisation="Jan Jansen"),  # not an identifier: refused
    ]
    expected_records, expected_refused = [], []
    for subject, headers, body in chunk:
        try:
            expected_records.append(record_from_parts(STREAM, subject, headers, body))
        except UnreadableEvent as error:
            expected_refused.append(str(error))

    assert checks.start()  # the workers' process ids, once warm
    stored, refused = asyncio.run(_checked(checks, chunk))

    assert stored == 2
    assert store.switch_to_fresh() == 2
    records = store.read_about("case-001", [])  # with the provenance
    assert sorted(records) == sorted(expected_records)
    assert sorted(r.victim_id for r in records) == ["victim-001", "victim-003"]
    assert refused == expected_refused
    assert any("date-mismatch" in reason for reason in refused)
    assert not any("Jan" in reason for reason in refused)


def test_a_worker_that_died_between_rebuilds_is_replaced_before_the_next(
    checks: ReplayChecks, store: SqliteFactStore
) -> None:
    (worker,) = checks.start()
    os.kill(worker, signal.SIGKILL)
    time.sleep(0.5)  # the pool notices its worker is gone

    stored, _ = asyncio.run(_checked(checks, [report("victim-002")]))
    assert stored == 1
    assert store.switch_to_fresh() == 1


def test_a_replay_in_full_chunks_stores_every_message_and_skips_the_refused(
    checks: ReplayChecks, store: SqliteFactStore
) -> None:
    # Chunks of two, more than `REPLAY_CHUNKS_AHEAD` of them, flowing from one stream into the
    # next: the look-ahead, each stream's last, partial chunk, and a stream with nothing.
    first = [report(f"victim-{n:03}") for n in range(15)]
    first[7] = report("victim-007", occurredon="2022-01-11")  # refused
    second = [report(f"victim-{n:03}") for n in range(15, 20)]
    consumer = ChainConsumer("nats://unused", None, checks=checks, replay_chunk=2)  # type: ignore[arg-type]

    async def read(messages: list[RawMessage]) -> AsyncIterator[Msg]:
        for subject, headers, body in messages:
            yield Msg(None, subject=subject, headers=dict(headers or {}), data=body)

    async def streams() -> AsyncIterator[tuple[str, AsyncIterator[Msg]]]:
        yield STREAM, read(first)
        yield STREAM, read([])
        yield STREAM, read(second)

    stored = asyncio.run(consumer._replay_checked_apart(checks, streams()))

    assert stored == 19
    assert store.switch_to_fresh() == 19
    victims = {r.victim_id for r in store.read_about("case-001", [])}
    assert victims == {f"victim-{n:03}" for n in range(20)} - {"victim-007"}


async def _checked(checks: ReplayChecks, chunk: list[RawMessage]) -> Checked:
    return await asyncio.wrap_future(checks.submit(STREAM, chunk))


def test_a_worker_leaves_when_the_monitor_is_killed(tmp_path: Path) -> None:
    program = (
        "import sys\n"
        "from pathlib import Path\n"
        "from monitor.adapters.replay_checks import ReplayChecks\n"
        "print(*ReplayChecks(1, Path(sys.argv[1])).start(), flush=True)\n"
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
