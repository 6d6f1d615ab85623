"""The live read model (actueel ketenbeeld): the projection as events arrive, kept restartable.

Facts arrive from the durable consumers on the event loop and are applied to an in-memory
`ChainProjection` (a dictionary insert). What makes a restart need no replay:

- Group commit to a journal. Each newly seen fact's compact record is appended to the journal
  before its message is acknowledged; all facts that arrive together (a pulled batch is handled
  concurrently) share one append. A crash therefore never loses an acknowledged fact, and there
  is no database round trip per event.
- Periodic snapshots. Every few seconds (and at shutdown) the whole projection is written as one
  document and the journal before it is discarded. A restart loads the snapshot, then the
  journal, and the durable consumers resume where they left off; anything they redeliver is a
  no-op, because the projection is idempotent by event id.

Rebuild (herbouw): a fresh projection is filled from the start of every stream while the durable
consumers keep delivering to both the old and the fresh one; then the fresh one takes over and
is snapshotted at once. Queries meanwhile keep answering from the old one.

Queries read an immutable copy of the records, filtered and sorted in a worker thread, so a
large table never stalls consumption.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Protocol

from ketenzicht_common.clock import Clock
from monitor.domain import AsOf, ChainFact, ChainProjection, ChainView, FactRecord, view_of

log = logging.getLogger(__name__)

Replay = Callable[[Callable[[ChainFact], object]], Awaitable[int]]
"""Reads every stream from its start, handing each fact to the callback; returns how many."""


class ProjectionStore(Protocol):
    """Where the projection survives a restart (adapters.store has the file-based one)."""

    def load(self) -> ChainProjection | None:
        """The stored projection, or None when nothing was ever stored."""
        ...

    def append(self, records: Sequence[FactRecord]) -> None:
        """Journal records, durable against a process crash when this returns."""
        ...

    def rotate(self) -> int:
        """Start a new journal; returns its generation (records after this go into it)."""
        ...

    def write_snapshot(self, records: Sequence[FactRecord], generation: int) -> None:
        """Store these records as the projection; journals before `generation` are then void."""
        ...

    def close(self) -> None: ...


class LiveProjection:
    """The projection the monitor consumes into and queries from (one per process)."""

    def __init__(self, store: ProjectionStore, clock: Clock, *, view_cache_size: int = 8) -> None:
        self._store = store
        self._clock = clock
        loaded = store.load()
        self.restored = loaded is not None
        """True when a snapshot or journal was found: the durable consumers can just resume."""
        self._projection = loaded if loaded is not None else ChainProjection()
        self._fresh: ChainProjection | None = None
        self._generation = 0  # bumped when a rebuilt projection takes over
        self._pending: list[FactRecord] = []
        self._batch: asyncio.Future[None] | None = None
        # A restored projection may come from journals: consolidate them at the next snapshot.
        self._unsaved = 1 if self.restored else 0
        self._views: OrderedDict[tuple[int, int, AsOf], ChainView] = OrderedDict()
        self._view_cache_size = view_cache_size
        self._rebuild_lock = asyncio.Lock()
        self.last_snapshot_at: datetime | None = None
        self.last_rebuild_replayed = 0

    def __len__(self) -> int:
        return len(self._projection)

    @property
    def rebuilding(self) -> bool:
        return self._fresh is not None

    # Consuming

    async def apply(self, fact: ChainFact) -> None:
        """Apply one fact; returns once it is journaled, so its message may be acknowledged."""
        record = self._projection.admit(fact)
        if self._fresh is not None:
            self._fresh.apply(fact)
        if record is not None:
            self._pending.append(record)
            self._unsaved += 1
        # A redelivered fact whose first delivery is still unjournaled waits for the same batch.
        if self._pending:
            await self._batch_commit()

    def _batch_commit(self) -> asyncio.Future[None]:
        if self._batch is None:
            loop = asyncio.get_running_loop()
            self._batch = loop.create_future()
            # call_soon runs after every handler that is ready now has applied its fact, so the
            # facts of one pulled batch share one append.
            loop.call_soon(self._flush)
        return self._batch

    def _flush(self) -> None:
        batch, self._batch = self._batch, None
        records, self._pending = self._pending, []
        assert batch is not None
        try:
            if records:
                self._store.append(records)
        except Exception as error:
            log.exception("journal append failed; the facts stay pending")
            self._pending[:0] = records  # retried with the next batch
            batch.set_exception(error)
            batch.exception()  # every waiter sees it; nobody waiting is fine too
        else:
            batch.set_result(None)

    # Querying

    async def view(self, as_of: AsOf) -> ChainView:
        """The chain at the cut-off, computed off the event loop and cached until facts change."""
        key = (self._generation, len(self._projection), as_of)
        cached = self._views.get(key)
        if cached is not None:
            self._views.move_to_end(key)
            return cached
        records = self._projection.records()  # a copy: consumption may go on meanwhile
        view = await asyncio.to_thread(view_of, records, as_of)
        self._views[key] = view
        while len(self._views) > self._view_cache_size:
            self._views.popitem(last=False)
        return view

    # Persisting

    async def snapshot(self, *, force: bool = False) -> bool:
        """Write a snapshot if anything changed since the last one; True when written."""
        if not force and self._unsaved == 0:
            return False
        records, generation = self._cut()
        await asyncio.to_thread(self._store.write_snapshot, records, generation)
        self.last_snapshot_at = self._clock.now()
        return True

    def _cut(self) -> tuple[tuple[FactRecord, ...], int]:
        # No await between taking the records and rotating: every record in an older journal is
        # then in this snapshot, and everything applied later lands in the new journal.
        records = self._projection.records()
        generation = self._store.rotate()
        self._unsaved = 0
        return records, generation

    async def run_snapshots(self, interval_seconds: float) -> None:
        """Snapshot periodically (a background task of the service)."""
        while True:
            await asyncio.sleep(interval_seconds)
            try:
                await self.snapshot()
            except Exception:
                log.exception("projection snapshot failed; the journal still holds every fact")

    def close(self) -> None:
        """At shutdown: one last snapshot (consumers are stopped by then), then close the store."""
        try:
            if self._unsaved:
                records, generation = self._cut()
                self._store.write_snapshot(records, generation)
        finally:
            self._store.close()

    # Rebuilding

    async def rebuild(self, replay: Replay) -> tuple[int, int]:
        """Replay every stream into a fresh projection and switch to it; (before, after) sizes."""
        async with self._rebuild_lock:
            before = len(self._projection)
            fresh = ChainProjection()
            # From here on the consumers feed the fresh projection too, so facts published
            # after a stream's replay ends are not missed.
            self._fresh = fresh
            try:
                self.last_rebuild_replayed = await replay(fresh.apply)
            finally:
                self._fresh = None
            self._projection = fresh
            self._generation += 1
            self._views.clear()
            await self.snapshot(force=True)
            log.info("projection rebuilt: %d facts before, %d after", before, len(fresh))
            return before, len(fresh)
