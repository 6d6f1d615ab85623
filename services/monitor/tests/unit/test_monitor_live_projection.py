"""The live projection on its SQLite fact store: group commit, redelivery, restart without
replay, crash safety, rebuild while consuming, as-of reads, and memory that does not grow with
the facts applied."""

from __future__ import annotations

import asyncio
import gc
import signal
import sqlite3
import subprocess
import sys
import textwrap
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from monitor_chain_builders import ChainLog, corrected_chain, fixed_chain

from ketenzicht_common.clock import FixedClock
from monitor.adapters.store import SqliteFactStore
from monitor.application.live import LiveProjection
from monitor.domain import (
    AsOf,
    ChainFact,
    ChainProjection,
    FactRecord,
    lead_time_table,
    to_record,
)

AS_OF = AsOf.of(date(2021, 12, 31))
CLOCK = FixedClock(datetime(2022, 1, 3, 9, tzinfo=UTC))
FACTS = fixed_chain().facts


class RecordingStore(SqliteFactStore):
    """The SQLite store, remembering which facts each commit carried; can fail one commit."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.commits: list[list[str]] = []
        self.fail_next_add = False

    def add(self, records: Sequence[FactRecord], *, fresh_too: bool = False) -> int:
        if self.fail_next_add:
            self.fail_next_add = False
            raise sqlite3.OperationalError("database or disk is full")
        self.commits.append([r.event_id for r in records])
        return super().add(records, fresh_too=fresh_too)


OpenLive = Callable[..., LiveProjection]


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "projection" / "facts.sqlite3"


@pytest.fixture
def open_live(database: Path) -> Iterator[OpenLive]:
    """Opens live projections on one database file; closes them all at the end."""
    opened: list[LiveProjection] = []

    def open_live(**options: Any) -> LiveProjection:
        live = LiveProjection(RecordingStore(database), CLOCK, **options)
        opened.append(live)
        return live

    yield open_live
    for live in opened:
        live.close()


def store_of(live: LiveProjection) -> RecordingStore:
    store = live._store
    assert isinstance(store, RecordingStore)
    return store


async def apply_together(
    live: LiveProjection, facts: Sequence[ChainFact], batch: int = 256
) -> None:
    """As the consumer does: the facts that arrive together are applied concurrently."""
    for start in range(0, len(facts), batch):
        await asyncio.gather(*(live.apply(f) for f in facts[start : start + batch]))


def in_memory(facts: Sequence[ChainFact]) -> ChainProjection:
    projection = ChainProjection()
    projection.apply_all(facts)
    return projection


async def test_facts_that_arrive_together_are_committed_in_one_transaction(
    open_live: OpenLive,
) -> None:
    live = open_live()
    await asyncio.gather(*(live.apply(f) for f in FACTS))
    assert store_of(live).commits == [[f.event_id for f in FACTS]]
    assert len(live) == len(FACTS)
    assert live.last_commit_at == CLOCK.now()


async def test_facts_that_arrive_during_a_commit_share_the_next_one(open_live: OpenLive) -> None:
    live = open_live()
    first = asyncio.ensure_future(live.apply(FACTS[0]))
    await asyncio.sleep(0)  # the first commit is under way in the writer thread
    await asyncio.gather(first, *(live.apply(f) for f in FACTS[1:4]))
    assert store_of(live).commits == [[FACTS[0].event_id], [f.event_id for f in FACTS[1:4]]]


async def test_a_redelivered_fact_changes_nothing(open_live: OpenLive) -> None:
    live = open_live()
    fact = FACTS[0]
    await live.apply(fact)
    await asyncio.gather(live.apply(fact), live.apply(fact))
    assert len(live) == 1
    assert [r.event_id for r in (await live.view(AS_OF)).records] == [fact.event_id]


async def test_a_failed_commit_fails_the_delivery_and_the_redelivery_stores_the_fact(
    open_live: OpenLive,
) -> None:
    live = open_live()
    first, second = FACTS[:2]
    store_of(live).fail_next_add = True
    with pytest.raises(sqlite3.OperationalError, match="disk is full"):
        await live.apply(first)
    assert len(live) == 0
    await live.apply(first)  # redelivered by JetStream, as it was never acknowledged
    await live.apply(second)
    assert len(live) == 2


async def test_a_cancelled_handler_does_not_cancel_the_commit_of_the_others(
    open_live: OpenLive,
) -> None:
    live = open_live()
    cancelled = asyncio.ensure_future(live.apply(FACTS[0]))
    others = asyncio.gather(*(live.apply(f) for f in FACTS[1:3]))
    await asyncio.sleep(0)
    cancelled.cancel()
    await others
    assert len(live) == 3


async def test_a_restarted_projection_has_its_facts_without_any_replay(open_live: OpenLive) -> None:
    first = open_live()
    assert not first.restored
    await apply_together(first, FACTS, batch=7)
    before = await first.view(AS_OF)
    first.close()

    again = open_live()
    assert again.restored
    assert len(again) == len(FACTS)
    after = await again.view(AS_OF)
    assert after.records == before.records == in_memory(FACTS).view(AS_OF).records
    assert lead_time_table(after, min_group_size=1) == lead_time_table(before, min_group_size=1)


async def test_the_database_keeps_no_free_text(open_live: OpenLive, database: Path) -> None:
    live = open_live()
    await apply_together(live, FACTS)
    live.close()  # the write-ahead log is folded into the database file
    stored = b"".join(p.read_bytes() for p in database.parent.iterdir())
    assert b"NonTemporaryPermitIndicated" in stored
    assert b"summons" not in stored  # Trigger.reason is free text and is dropped
    assert b"valid_until" not in stored


CRASHING_WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from monitor.adapters.store import SqliteFactStore
    from monitor.domain import FactRecord

    store = SqliteFactStore(Path(sys.argv[1]))
    for batch in range(1_000_000):
        store.add([FactRecord(f"evt-{batch}-{n}", "intake", "VictimOutOfSight", 737000 + n,
                              batch, None, f"victim-{n}", None, {"n": n}) for n in range(100)])
        print(store.count, flush=True)
""")


def test_a_crash_in_the_middle_of_a_commit_keeps_every_committed_group_whole(
    database: Path,
) -> None:
    database.parent.mkdir(parents=True)
    writer = subprocess.Popen(
        [sys.executable, "-c", CRASHING_WRITER, str(database)], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None
    committed = [int(writer.stdout.readline()) for _ in range(20)]
    writer.send_signal(signal.SIGKILL)  # while it is busy committing further groups
    writer.wait()
    writer.stdout.close()

    store = SqliteFactStore(database)
    try:
        assert store.count >= committed[-1]
        assert store.count % 100 == 0  # never part of a group
        records = store.read(date.max.toordinal(), 2**62)
        assert len(records) == store.count
        assert records[0].attrs == {"n": 0}
        with sqlite3.connect(database) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        store.close()


async def test_as_of_reads_only_what_had_occurred_and_was_known_at_the_cut(
    open_live: OpenLive,
) -> None:
    log = fixed_chain()
    known_late = datetime(2022, 3, 1, 9, tzinfo=UTC)
    log.add(
        "ReportFiled", "2020-07-01", victim_id="victim-009", case_id="case-007", recorded=known_late
    )
    log.add("CaseRegistered", "2021-01-15", case_id="case-002", suspect_id="suspect-071")
    live = open_live()
    await apply_together(live, log.facts)
    projection = in_memory(log.facts)
    for cut in (
        AsOf.of(date(2020, 12, 31)),
        AsOf.of(date(2020, 12, 31), known_by=known_late),
        AsOf.of(date(2021, 1, 15)),
        AS_OF,
        AsOf.of(date(2019, 1, 1)),
    ):
        view = await live.view(cut)
        assert view.records == projection.view(cut).records, cut
        assert view.as_of == cut


async def test_corrected_views_from_the_store_are_those_of_the_domain_also_after_a_restart(
    open_live: OpenLive,
) -> None:
    # test_monitor_corrections: the report of 2022-03-01 is amended to 2022-02-01, then to
    # 2022-02-11; the verdict annulled. The store must hand over the report (dated after the
    # cut) and the corrections (dated in 2023) for a cut-off of 2022-02-28 known by now.
    facts = corrected_chain().facts
    live = open_live()
    await apply_together(live, facts)
    projection = in_memory(facts)
    now = datetime(2023, 3, 1, tzinfo=UTC)
    cuts = (
        AsOf.of(date(2022, 12, 31)),
        AsOf.of(date(2022, 12, 31), known_by=datetime(2023, 1, 17, tzinfo=UTC)),
        AsOf.of(date(2022, 12, 31), known_by=now),
        AsOf.of(date(2022, 2, 28), known_by=now),
        AsOf.of(date(2022, 2, 10), known_by=now),
    )
    for cut in cuts:
        assert (await live.view(cut)).records == projection.view(cut).records, cut
    moved_in = await live.view(AsOf.of(date(2022, 2, 28), known_by=now))
    report = [r for r in moved_in.records if r.event_type == "ReportFiled"]
    assert [r.occurred_on for r in report] == [date(2022, 2, 11)]
    live.close()

    again = open_live()
    for cut in cuts:
        assert (await again.view(cut)).records == projection.view(cut).records, cut


async def test_views_follow_new_facts_and_only_a_few_are_kept(open_live: OpenLive) -> None:
    live = open_live(view_cache_size=2)
    await live.apply(FACTS[0])
    first = await live.view(AS_OF)
    assert await live.view(AS_OF) is first
    await live.apply(FACTS[1])
    assert len((await live.view(AS_OF)).records) == 2
    for year in (2020, 2021, 2022):
        await live.view(AsOf.of(date(year, 6, 30)))
    assert len(live._views) == 2


async def test_a_rebuild_keeps_facts_that_arrive_while_the_streams_are_replayed(
    open_live: OpenLive,
) -> None:
    live = open_live(rebuild_chunk=4)
    gone = ChainFact(
        "gone-from-the-bus",
        "intake",
        "VictimOutOfSight",
        date(2020, 1, 1),
        datetime(2020, 1, 2, tzinfo=UTC),
        {"victim_id": "victim-009"},
    )
    await apply_together(live, [*FACTS[:3], gone])
    late = FACTS[-1]
    during: list[int] = []

    async def replay(apply: Callable[[ChainFact], object]) -> int:
        for fact in FACTS[:-1]:
            apply(fact)
        # A durable consumer delivers meanwhile: a new fact, and one the replay also brings.
        await asyncio.gather(live.apply(late), live.apply(FACTS[0]))
        assert live.rebuilding
        view = await live.view(AS_OF)
        during.extend([len(live), any(r.event_id == gone.event_id for r in view.records)])
        return len(FACTS) - 1

    before, after = await live.rebuild(replay)
    assert (before, after) == (4, len(FACTS))
    # Queries kept answering from the table being replaced, which held the fact the bus lost.
    assert during == [5, True]
    assert not live.rebuilding
    assert live.last_rebuild_replayed == len(FACTS) - 1
    assert (await live.view(AS_OF)).records == in_memory(FACTS).view(AS_OF).records
    # Consuming goes on into the rebuilt table.
    await live.apply(gone)
    assert len(live) == len(FACTS) + 1


def tables_in(database: Path) -> set[str]:
    with sqlite3.connect(database) as db:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}


async def test_a_rebuild_leaves_only_its_facts_behind_also_after_a_crash_before_the_cleanup(
    open_live: OpenLive, database: Path
) -> None:
    live = open_live()
    await apply_together(live, FACTS[:5])

    async def replay(apply: Callable[[ChainFact], object]) -> int:
        for fact in FACTS[2:]:
            apply(fact)
        return len(FACTS) - 2

    assert await live.rebuild(replay) == (5, len(FACTS) - 2)
    await live.apply(FACTS[0])  # committed behind the rebuild's cleanup
    assert tables_in(database) == {"facts"}
    assert len(live) == len(FACTS) - 1

    # A monitor that dies between the switch and the cleanup: the next start finishes it.
    store = SqliteFactStore(database)
    store.start_fresh()
    store.add_fresh([to_record(f) for f in FACTS[:3]])
    assert store.switch_to_fresh() == 3
    assert tables_in(database) == {"facts", "facts_replaced", "facts_fresh"}
    store.close()
    reopened = SqliteFactStore(database)
    try:
        assert tables_in(database) == {"facts"}
        assert reopened.count == 3
    finally:
        reopened.close()


def test_a_cleanup_that_failed_does_not_stop_the_next_rebuild(database: Path) -> None:
    store = SqliteFactStore(database)
    try:
        store.start_fresh()
        store.add_fresh([to_record(f) for f in FACTS[:3]])
        assert store.switch_to_fresh() == 3
        # `drop_replaced` failed (a disk error, say) and the monitor went on serving.
        store.start_fresh()
        store.add_fresh([to_record(f) for f in FACTS[2:6]])
        assert store.switch_to_fresh() == 4
        store.drop_replaced()
        assert tables_in(database) == {"facts"}
        assert store.count == 4
    finally:
        store.close()


async def test_a_failed_rebuild_leaves_the_projection_as_it_was(open_live: OpenLive) -> None:
    live = open_live()
    await apply_together(live, FACTS[:5])

    async def replay(apply: Callable[[ChainFact], object]) -> int:
        apply(FACTS[7])
        raise ConnectionError("not connected to NATS")

    with pytest.raises(ConnectionError):
        await live.rebuild(replay)
    assert not live.rebuilding
    await live.apply(FACTS[5])
    assert len(live) == 6
    assert [r.event_id for r in (await live.view(AS_OF)).records] == [
        r.event_id for r in in_memory(FACTS[:6]).view(AS_OF).records
    ]


def many_facts(victims: int) -> list[ChainFact]:
    """Six facts per victim, the kinds the figures read, each with its own event id."""
    log = ChainLog()
    start = date(2016, 1, 1).toordinal()
    for n in range(victims):
        victim, case, suspect = f"victim-{n:06d}", f"case-{n:06d}", f"suspect-{n:06d}"

        def on(offset: int, n: int = n) -> str:
            return date.fromordinal(start + n % 2000 + offset).isoformat()

        log.signal(victim, on(0), "SEXUAL", n % 8 == 0, "DUTCH", "AMSTERDAM")
        log.add("ReportFiled", on(30), victim_id=victim, case_id=case)
        log.add("InvestigationOpened", on(31), case_id=case)
        log.add("CaseRegistered", on(180), case_id=case, suspect_id=suspect)
        log.add("SuspectSummoned", on(300), case_id=case, suspect_id=suspect)
        log.add(
            "VerdictDelivered",
            on(540),
            case_id=case,
            suspect_id=suspect,
            instance="FIRST_INSTANCE",
            outcome="ACQUITTAL",
        )
    return log.facts


def held_by(build: Callable[[], object]) -> int:
    """Bytes allocated by `build` that are still in use while its result is kept."""
    gc.collect()
    tracemalloc.start()
    try:
        kept = build()
        gc.collect()
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    del kept
    return held


async def test_memory_does_not_grow_with_the_number_of_facts_applied(open_live: OpenLive) -> None:
    facts = many_facts(4000)  # 24k facts
    warm_up, measured = facts[:3000], facts[3000:]
    live = open_live()
    # The writer thread, cached statements, the sizes the event loop's structures settle at.
    await apply_together(live, warm_up)

    gc.collect()
    tracemalloc.start()
    try:
        await apply_together(live, measured)
        await asyncio.sleep(0.05)  # the last batch's finished tasks let go
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()

    assert len(live) == len(facts)
    # What holding the same facts' records takes, as the projection did before the database.
    held = held_by(lambda: in_memory(measured))
    assert held > 200 * len(measured)
    assert grown < held / 20, (grown, held)
