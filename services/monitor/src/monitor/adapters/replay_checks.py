"""The rebuild's contract checks and its writing in a worker process beside the event loop.

A rebuild reads every stream, checks every message against its contract before it keeps the
fact (``consumer.record_from_parts``) and appends the records to the fresh table. On one
process these take turns, and reading alone costs about as much as the rest: the rebuild ran at
about 0.4 of what reading allows. With `ReplayChecks` the event loop only reads; chunks of raw
messages (subject, headers, body) go to worker processes, which run the very same check and
append what passes to the fresh table themselves (`store.FreshTable`), handing back how many
they stored and the reasons for what they refused. Nothing is checked less: a worker's verdict
is the one the event loop would have reached (docs/adr/0038-rebuild-checks-in-a-worker-process.md).

The workers are started (spawn: the monitor runs threads, which fork would copy halfway) and
warmed when the monitor starts, so a rebuild never waits for Python to import the contracts.
A worker that dies breaks the pool: the rebuild under way fails as any failed rebuild does
(its fresh table is dropped, the old facts stay), and the next rebuild starts a new pool. A
worker ends once the monitor is gone, however it went.
"""

from __future__ import annotations

import concurrent.futures
import gc
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from monitor.adapters.store import FreshTable
from monitor.domain import FactRecord

log = logging.getLogger(__name__)

RawMessage = tuple[str, Mapping[str, str] | None, bytes]
"""A message as the rebuild reads it: its subject, its own headers and its body."""

Checked = tuple[int, list[str]]
"""How many of a chunk's messages were stored, and the reasons for those refused."""

WORKER_GC_THRESHOLD = 200_000
"""A worker's first garbage-collector threshold: as the replay's (``consumer``), a chunk's
allocations are freed by reference counting and the collector need not traverse them."""

_tables: dict[str, FreshTable] = {}
"""A worker's connection to each fresh table it appended to, kept for the worker's life."""


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


def _warm(_: int = 0) -> int:
    checked("", ())
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
    """``workers`` processes that check a rebuild's messages and append them to the fresh table
    of the fact database at ``database``."""

    def __init__(self, workers: int, database: Path) -> None:
        self.workers = workers
        self.database = database
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._closed = False

    def start(self) -> list[int]:
        """Start and warm the workers (blocking; the monitor calls it off its event loop);
        their process ids."""
        # A worker is started for each call while none is idle; one that takes two calls leaves
        # another to be warmed by its first chunk.
        return sorted(set(self._current().map(_warm, range(self.workers))))

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

    def submit(
        self, stream: str, messages: Sequence[RawMessage]
    ) -> concurrent.futures.Future[Checked]:
        """Check ``messages`` of ``stream`` in a worker and store what passes in the fresh
        table, which must exist. A pool whose worker died is replaced first; a worker dying
        while it has the chunk fails it (`concurrent.futures.process.BrokenProcessPool`)."""
        pool = self._current()
        try:
            return pool.submit(check_and_store, str(self.database), stream, messages)
        except concurrent.futures.process.BrokenProcessPool:
            # A worker died since the last chunk, perhaps between rebuilds: a new pool for it.
            log.warning("a rebuild worker died: its pool is replaced")
            with self._lock:
                if self._pool is pool:
                    self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)
            return self._current().submit(check_and_store, str(self.database), stream, messages)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
