"""The live read model (actueel ketenbeeld): the projection as events arrive, kept on disk.

Facts arrive from the durable consumers on the event loop. Each becomes its compact record and
goes to the fact store (adapters.store, a SQLite database); the process keeps no record once it
is stored, so its memory does not grow with the number of facts. What that gives:

- Group commit. All facts that arrive together (the consumer handles them concurrently) share
  one transaction, and `apply` returns once it is committed: only then is the message
  acknowledged, so a crash never loses an acknowledged fact. The commits run one after another
  in a writer thread; facts that arrive during a commit form the next group.
- Idempotence. The store is keyed by event id: a redelivered fact changes nothing.
- Restart without replay. A restart finds the facts in the store and the durable consumers
  resume where they left off; anything they redeliver is a no-op.

Rebuild (herbouw): every stream is replayed from its start into a fresh table while the durable
consumers keep writing to both the current and the fresh one; then the fresh one takes over in
one transaction. Queries meanwhile keep answering from the current one.

Queries read the rows visible at their cut-off in a worker thread, each with its own database
connection, so a large table never stalls consumption. The last few views are cached: one view
of a million facts is large.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from functools import partial
from typing import Protocol, TypeVar

from ketenzicht_common.clock import Clock
from monitor.domain import AsOf, ChainFact, ChainView, FactRecord, to_record

log = logging.getLogger(__name__)

T = TypeVar("T")

Replay = Callable[[Callable[[ChainFact | FactRecord], object]], Awaitable[int]]
"""Reads every stream from its start, handing each fact to the callback (or straight its record,
`domain.record_of`: a rebuild's reader makes no `ChainFact` it would only turn into one);
returns how many. A replay may instead append records to the store's fresh table itself, once
`FactStore.start_fresh` has made it and before it returns (the monitor's rebuild workers do:
adapters.replay_checks); the switch then finds them there."""


class FactStore(Protocol):
    """Where the facts are kept (adapters.store has the SQLite one).

    Writes come from one thread at a time, in the order they are called; `read` may be called
    from any thread meanwhile.
    """

    @property
    def count(self) -> int:
        """Distinct facts in the current table."""
        ...

    def add(self, records: Sequence[FactRecord], *, fresh_too: bool = False) -> int:
        """One transaction, durable against a process crash when this returns; how many new."""
        ...

    def start_fresh(self) -> None: ...

    def add_fresh(self, records: Sequence[FactRecord]) -> None: ...

    def switch_to_fresh(self) -> int:
        """The fresh table becomes the current one, atomically; returns its count."""
        ...

    def drop_replaced(self) -> None:
        """Drop what the last switch replaced (called next, on the same writer)."""
        ...

    def drop_fresh(self) -> None: ...

    def read(self, on: int, known_by: int) -> list[FactRecord]:
        """The records visible at a cut-off (day ordinal, epoch µs), with every correction known
        by then and every fact such an amendment names (ChainView applies them)."""
        ...

    def read_about(self, case_id: str | None, victim_ids: Sequence[str]) -> list[FactRecord]:
        """The records naming the case or one of the victims, and every correction, with
        their provenance (for the audit trail)."""
        ...

    def close(self) -> None: ...


class LiveProjection:
    """The projection the monitor consumes into and queries from (one per process)."""

    def __init__(
        self, store: FactStore, clock: Clock, *, view_cache_size: int = 3, rebuild_chunk: int = 5000
    ) -> None:
        self._store = store
        self._clock = clock
        self.restored = store.count > 0
        """True when the store held facts at start: the durable consumers can just resume."""
        # One thread for every write, so they reach the store in the order they were made.
        self._writer = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="monitor-writer"
        )
        self._pending: list[FactRecord] = []
        self._next_commit: asyncio.Future[None] | None = None
        self._committing = False
        self._fresh = False  # a rebuild is filling the fresh table: commits go there too
        self._generation = 0  # bumped when a rebuilt table takes over
        self._views: OrderedDict[tuple[int, int, AsOf], ChainView] = OrderedDict()
        self._view_cache_size = view_cache_size
        self._rebuild_chunk = rebuild_chunk
        self._rebuild_lock = asyncio.Lock()
        self.last_commit_at: datetime | None = None
        self.last_rebuild_replayed = 0

    def __len__(self) -> int:
        return self._store.count

    @property
    def rebuilding(self) -> bool:
        return self._fresh

    def _write(self, call: Callable[[], T]) -> asyncio.Future[T]:
        return asyncio.get_running_loop().run_in_executor(self._writer, call)

    # Consuming

    async def apply(self, fact: ChainFact) -> None:
        """Apply one fact; returns once it is committed, so its message may be acknowledged."""
        self._pending.append(to_record(fact))
        # Shielded: one handler being cancelled must not cancel the commit the others wait for.
        await asyncio.shield(self._commit_for_pending())

    def _commit_for_pending(self) -> asyncio.Future[None]:
        if self._next_commit is None:
            loop = asyncio.get_running_loop()
            self._next_commit = loop.create_future()
            if not self._committing:
                # call_soon runs after every handler that is ready now has added its fact, so
                # the facts that arrived together share one transaction.
                loop.call_soon(self._commit)
        return self._next_commit

    def _commit(self) -> None:
        done, self._next_commit = self._next_commit, None
        records, self._pending = self._pending, []
        assert done is not None
        try:
            written = self._write(partial(self._store.add, records, fresh_too=self._fresh))
        except RuntimeError as error:  # closed: the writer takes no more work
            done.set_exception(error)
            done.exception()
            return
        self._committing = True
        written.add_done_callback(partial(self._committed, done))

    def _committed(self, done: asyncio.Future[None], written: asyncio.Future[int]) -> None:
        self._committing = False
        error = None if written.cancelled() else written.exception()
        if written.cancelled() or error is not None:
            log.error("committing facts failed; their messages will be redelivered", exc_info=error)
            done.set_exception(error or RuntimeError("the commit was cancelled"))
            done.exception()  # every waiter sees it; nobody waiting is fine too
        else:
            self.last_commit_at = self._clock.now()
            done.set_result(None)
        if self._next_commit is not None:  # facts arrived during this commit
            asyncio.get_running_loop().call_soon(self._commit)

    # Querying

    async def view(self, as_of: AsOf) -> ChainView:
        """The chain at the cut-off, read off the event loop and cached until facts change."""
        key = (self._generation, self._store.count, as_of)
        cached = self._views.get(key)
        if cached is not None:
            self._views.move_to_end(key)
            return cached
        view = await asyncio.to_thread(self._read_view, as_of)
        self._views[key] = view
        while len(self._views) > self._view_cache_size:
            self._views.popitem(last=False)
        return view

    async def records_about(
        self, case_id: str | None, victim_ids: Sequence[str] = ()
    ) -> list[FactRecord]:
        """What an audit trail is made from (`FactStore.read_about`), read off the event loop;
        never cached: an audit shows what is held now."""
        return await asyncio.to_thread(self._store.read_about, case_id, list(victim_ids))

    def _read_view(self, as_of: AsOf) -> ChainView:
        return ChainView(as_of, self._store.read(as_of.on_ordinal, as_of.known_by_micros))

    def close(self) -> None:
        """At shutdown, once the consumers are stopped: finish the writes, close the store."""
        try:
            self._writer.shutdown(wait=True)
        finally:
            self._store.close()

    # Rebuilding

    async def rebuild(self, replay: Replay) -> tuple[int, int]:
        """Replay every stream into a fresh table and switch to it; (before, after) counts."""
        async with self._rebuild_lock:
            before = len(self)
            # From the moment this write is queued, every commit also goes to the fresh table,
            # so facts published after a stream's replay ends are not missed.
            self._fresh = True
            try:
                await self._write(self._store.start_fresh)
                self.last_rebuild_replayed = await self._replay_into_fresh(replay)
            except BaseException:
                self._fresh = False
                # Queued after any commit that still writes to the fresh table; not awaited, so
                # a cancelled rebuild ends at once. A table left over is dropped at the next start.
                with contextlib.suppress(RuntimeError):  # the writer already shut down
                    self._writer.submit(self._drop_fresh)
                raise
            self._fresh = False
            after = await self._write(self._store.switch_to_fresh)
            # Queued behind the switch, before any later commit; not awaited: the rebuild is
            # done and durable.
            self._writer.submit(self._drop_replaced)
            self._generation += 1
            self._views.clear()
            log.info("projection rebuilt: %d facts before, %d after", before, after)
            return before, after

    def _drop_replaced(self) -> None:
        try:
            self._store.drop_replaced()
        except Exception:
            log.exception(
                "dropping what the rebuild replaced failed (it goes at the next rebuild or start)"
            )

    def _drop_fresh(self) -> None:
        try:
            self._store.drop_fresh()
        except Exception:
            log.exception("dropping the unfinished rebuild's table failed")

    async def _replay_into_fresh(self, replay: Replay) -> int:
        # The replay hands over facts one at a time and cannot wait: they are gathered and
        # written in chunks by the writer thread, behind any commit already queued.
        buffer: list[FactRecord] = []
        chunks: deque[concurrent.futures.Future[None]] = deque()
        failures: list[BaseException] = []

        def settle(chunk: concurrent.futures.Future[None]) -> None:
            error = chunk.exception()
            if error is not None and not failures:
                failures.append(error)

        def write_chunk() -> None:
            nonlocal buffer
            if not buffer:
                return
            records, buffer = buffer, []
            chunks.append(self._writer.submit(self._store.add_fresh, records))
            while chunks and chunks[0].done():
                settle(chunks.popleft())
            if len(chunks) > 4:
                # The writer has fallen behind the stream: wait (on the event loop) rather than
                # hold ever more facts in memory.
                settle(chunks.popleft())

        def take(fact: ChainFact | FactRecord) -> None:
            buffer.append(fact if isinstance(fact, FactRecord) else to_record(fact))
            if len(buffer) >= self._rebuild_chunk:
                write_chunk()

        replayed = await replay(take)
        write_chunk()
        for chunk in chunks:
            await asyncio.wrap_future(chunk)
        if failures:
            raise failures[0]
        return replayed
