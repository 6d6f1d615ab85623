"""A rebuild's reading, contract checks and writing, in worker processes beside the event loop.

A rebuild reads every stream, checks every message against its contract before it keeps the
fact (``consumer.record_from_parts``) and appends the records to the fresh table. Reading costs
about as much as the rest, and CPython runs one thread's Python at a time: on one process the
rebuild ran at about 0.4 of what reading allows. With `ReplayChecks` the event loop reads
nothing itself: it splits each stream's sequences, up to the last one present when the rebuild
began, into ranges (`Range`) and hands them to worker processes. A worker reads its range
through the stream's direct get as the monitor (`streams.read_stream`, a connection of its own
with the monitor's identity and permissions), runs the very same check on chunks of it and
appends what passes to the fresh table itself (`store.FreshTable`), handing back how many it
stored and the reasons for what it refused. Nothing is checked less: a worker's verdict is the
one the event loop would have reached (docs/adr/0038-rebuild-checks-in-a-worker-process.md).

The workers are started (spawn: the monitor runs threads, which fork would copy halfway) and
warmed when the monitor starts, so a rebuild never waits for Python to import the contracts.
A worker that dies breaks the pool: the rebuild under way fails as any failed rebuild does
(its fresh table is dropped, the old facts stay), and the next rebuild starts a new pool. A
worker ends once the monitor is gone, however it went.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from nats.aio.client import Client

from ketenzicht_common.nats_connection import connect
from ketenzicht_common.streams import read_stream
from monitor.adapters.store import FreshTable
from monitor.domain import FactRecord

log = logging.getLogger(__name__)

RawMessage = tuple[str, Mapping[str, str] | None, bytes]
"""A message as the rebuild reads it: its subject, its own headers and its body."""

Checked = tuple[int, list[str]]
"""How many of a range's messages were stored, and the reasons for those refused."""


class Range(NamedTuple):
    """The messages of ``stream`` from sequence ``first`` to ``last``, read through the direct
    get of the JetStream API at ``api`` (`bus_access.api_prefix`: the owner's export)."""

    api: str
    stream: str
    first: int
    last: int


class Reading(NamedTuple):
    """How a worker reaches NATS: the servers and the monitor's nkey seed (None: no identity,
    an unsecured server)."""

    nats_url: str
    seed_file: str | None


CONNECT_SECONDS = 10.0
"""How long a worker tries to reach NATS before its range fails (and with it the rebuild)."""

T = TypeVar("T")

WORKER_GC_THRESHOLD = 200_000
"""A worker's first garbage-collector threshold: as the replay's (``consumer``), a chunk's
allocations are freed by reference counting and the collector need not traverse them."""

_tables: dict[str, FreshTable] = {}
"""A worker's connection to each fresh table it appended to, kept for the worker's life (used
on its reader's thread only)."""


def checked(stream: str, messages: Sequence[RawMessage]) -> tuple[list[FactRecord], list[str]]:
    """Each message's record (`consumer.record_from_parts`), in order, and the reasons for those
    refused."""
    # Imported here: the event loop's process has it already, a worker once, when warmed.
    from monitor.adapters.consumer import UnreadableEvent, record_from_parts

    records: list[FactRecord] = []
    refused: list[str] = []
    for subject, headers, body in messages:
        try:
            records.append(record_from_parts(stream, subject, headers, body))
        except UnreadableEvent as error:
            refused.append(str(error))
    return records, refused


def check_and_store(fresh_table: str, stream: str, messages: Sequence[RawMessage]) -> Checked:
    """What a worker does with a chunk: `checked`, and what passes appended to the fresh table
    of the fact database at ``fresh_table``."""
    records, refused = checked(stream, messages)
    table = _tables.get(fresh_table)
    if table is None:
        table = _tables[fresh_table] = FreshTable(Path(fresh_table))
    table.append(records)
    return len(records), refused


class _Reader:
    """A worker's event loop, on a thread of its own, and its connection to NATS: made at its
    first range and kept, so that nats-py answers the server's pings between rebuilds and
    reconnects as any client of the monitor does."""

    def __init__(self, reading: Reading) -> None:
        self.reading = reading
        self.loop = asyncio.new_event_loop()
        self._nc: Client | None = None
        self._connecting = asyncio.Lock()
        threading.Thread(target=self.loop.run_forever, name="rebuild-reader", daemon=True).start()

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result()

    def start_connecting(self) -> None:
        """Connect in the background (a rebuild then finds the connection made); should
        that fail, the first range tries again."""
        asyncio.run_coroutine_threadsafe(self.connection(), self.loop)

    async def connection(self) -> Client:
        async with self._connecting:
            if self._nc is None or self._nc.is_closed:
                seed = self.reading.seed_file
                self._nc = await asyncio.wait_for(
                    connect(
                        self.reading.nats_url,
                        name="monitor-rebuild",
                        seed_file=Path(seed) if seed else None,
                    ),
                    CONNECT_SECONDS,
                )
            return self._nc


_readers: dict[Reading, _Reader] = {}


def _reader_for(reading: Reading) -> _Reader:
    reader = _readers.get(reading)
    if reader is None:
        reader = _readers[reading] = _Reader(reading)
    return reader


def read_and_store(fresh_table: str, reading: Reading, part: Range, chunk: int) -> Checked:
    """What a worker does with a range: reads it, checks it in chunks of ``chunk`` messages
    (`check_and_store`) and appends what passes to the fresh table at ``fresh_table``."""
    reader = _reader_for(reading)
    return reader.run(_read_and_store(reader, fresh_table, part, chunk))


async def _read_and_store(reader: _Reader, fresh_table: str, part: Range, chunk: int) -> Checked:
    nc = await reader.connection()
    stored, refused = 0, []
    messages: list[RawMessage] = []
    async for message in read_stream(nc, part.api, part.stream, part.first, part.last):
        messages.append((message.subject, message.headers, message.data))
        if len(messages) >= chunk:
            count, reasons = check_and_store(fresh_table, part.stream, messages)
            stored, messages = stored + count, []
            refused += reasons
    if messages:
        count, reasons = check_and_store(fresh_table, part.stream, messages)
        stored += count
        refused += reasons
    return stored, refused


def _warm(reading: Reading) -> int:
    checked("", ())
    _reader_for(reading).start_connecting()
    return os.getpid()


def _worker_start(monitor_pid: int) -> None:
    # Ctrl-C reaches the whole process group: the monitor stops its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    first, second, third = gc.get_threshold()
    gc.set_threshold(max(first, WORKER_GC_THRESHOLD), second, third)

    def watch() -> None:
        # A killed monitor's pool does not always end its workers (here one in two or three
        # stayed behind without this): a worker leaves once it is handed to another parent.
        while os.getppid() == monitor_pid:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="monitor-watch", daemon=True).start()


class ReplayChecks:
    """``workers`` processes that read a rebuild's messages as ``reading`` says, check them and
    append them to the fresh table of the fact database at ``database``."""

    def __init__(self, workers: int, database: Path, reading: Reading) -> None:
        self.workers = workers
        self.database = database
        self.reading = reading
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._closed = False

    def start(self) -> list[int]:
        """Start and warm the workers (blocking; the monitor calls it off its event loop);
        their process ids."""
        # A worker is started for each call while none is idle; one that takes two calls leaves
        # another to be warmed by its first range.
        return sorted(set(self._current().map(_warm, [self.reading] * self.workers)))

    def _current(self) -> concurrent.futures.ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise RuntimeError("the rebuild workers are closed")
            if self._pool is None:
                self._pool = concurrent.futures.ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_worker_start,
                    initargs=(os.getpid(),),
                )
            return self._pool

    def submit(self, part: Range, chunk: int = 1000) -> concurrent.futures.Future[Checked]:
        """Read ``part`` in a worker, check it in chunks of ``chunk`` messages and store what
        passes in the fresh table, which must exist. A pool whose worker died is replaced
        first; a worker dying while it has the range fails it
        (`concurrent.futures.process.BrokenProcessPool`)."""
        arguments = (str(self.database), self.reading, part, chunk)
        pool = self._current()
        try:
            return pool.submit(read_and_store, *arguments)
        except concurrent.futures.process.BrokenProcessPool:
            # A worker died since the last range, perhaps between rebuilds: a new pool for it.
            log.warning("a rebuild worker died: its pool is replaced")
            with self._lock:
                if self._pool is pool:
                    self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)
            return self._current().submit(read_and_store, *arguments)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
