"""The command bus: one writer thread per service that applies commands and stores their events.

Commands that arrive together are applied one after another and stored in one transaction
(group commit), and each caller is answered only after that transaction is durable. A single
writer also means the aggregate cache is never stale and SQLite never sees two writers. Why, and
what a failing batch does: docs/adr/0003-single-writer-and-group-commit.md. Several instances on
one PostgreSQL store each have their writer: a conflict on an aggregate (another instance
stored its next version first) is retried on fresh state (docs/adr/0026).

Handlers follow one contract: they check every precondition before they trigger an event, so a
refused command leaves nothing behind in the batch.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, LRUCache
from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError
from pydantic import BaseModel

from .commands import CommandResult
from .domain import ChainAggregate, Provenance, event_id_of
from .errors import AlreadyExists, CommandRejected, StoreUnavailable
from .store import ChainApplication, CommandLog, fingerprint

log = logging.getLogger(__name__)

A = TypeVar("A", bound=ChainAggregate)

CONFLICT_RETRIES = 8
"""How often one command is applied again after another instance stored a newer version of an
aggregate it changed (optimistic concurrency, docs/adr/0026): each retry re-reads the store,
so it sees that instance's events (and its command log: a command id the other instance
answered is answered from there, not applied twice)."""


def store_unavailable(error: BaseException) -> bool:
    """Whether ``error`` says the store could not be reached (down, restarting, no connection
    to be had), as opposed to a command it could not store."""
    import psycopg

    return isinstance(error, OperationalError | InterfaceError | psycopg.OperationalError)


def _cached(cache: Any, aggregate_id: UUID) -> bool:
    if cache is None:
        return False
    try:
        cache.get(aggregate_id)
    except KeyError:
        return False
    return True


class UnitOfWork:
    """The aggregates one batch works on, loaded once and saved together.

    It also notes which aggregates the current command touched, and how many pending events
    each had before, so the events of one command can be told apart from the batch's.
    """

    def __init__(self, app: ChainApplication) -> None:
        self.app = app
        self._aggregates: dict[UUID, ChainAggregate] = {}
        self._missing: set[UUID] = set()
        self._touched: dict[UUID, int] = {}

    def known_absent(self, ids: list[UUID]) -> None:
        """Ids the store was asked about in bulk and does not hold: no query per id later."""
        self._missing.update(ids)

    def begin_command(self) -> None:
        self._touched = {}

    def _touch(self, aggregate: ChainAggregate, before: int) -> None:
        self._touched.setdefault(aggregate.id, before)

    def get(self, aggregate_id: UUID, kind: type[A]) -> A | None:
        found = self._aggregates.get(aggregate_id)
        if found is None and aggregate_id not in self._missing:
            try:
                found = self.app.repository.get(aggregate_id)
            except AggregateNotFoundError:
                self._missing.add(aggregate_id)
                return None
            self._aggregates[aggregate_id] = found
        if found is None:
            return None
        if not isinstance(found, kind):
            raise TypeError(f"aggregate {aggregate_id} is a {type(found).__name__}")
        self._touch(found, len(found.pending_events))
        return found

    def get_or_open(self, aggregate_id: UUID, kind: type[A], opening: Callable[[], A]) -> A:
        """The aggregate, or, when the store has none yet, the one ``opening`` starts (added to
        the batch). ``opening`` is called only then: starting an aggregate triggers its first
        event, and a command must not trigger events it does not keep."""
        found = self.get(aggregate_id, kind)
        if found is None:
            found = opening()
            self.add(found)
        return found

    def add(self, aggregate: ChainAggregate) -> None:
        self._missing.discard(aggregate.id)
        self._aggregates[aggregate.id] = aggregate
        self._touch(aggregate, 0)

    def command_events(self) -> list[ChainAggregate.Event]:
        """The events the current command triggered so far."""
        events: list[ChainAggregate.Event] = []
        for aggregate_id, before in self._touched.items():
            pending = self._aggregates[aggregate_id].pending_events[before:]
            events.extend(cast(list[ChainAggregate.Event], pending))
        return events

    def dirty(self) -> list[ChainAggregate]:
        return [a for a in self._aggregates.values() if a.pending_events]


T = TypeVar("T")

Handler = Callable[[UnitOfWork], T]
"""Applies one command inside a unit of work and returns its answer (see CommandResult)."""


@dataclass
class _Query:
    """A read run on the writer thread between batches: it sees stored state only."""

    read: Callable[[], Any]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]


@dataclass
class _Pending:
    command: BaseModel
    provenance: Provenance
    handler: Handler[Any]
    answer: type[Any]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[CommandResult[Any]]
    prefetch: list[UUID] = field(default_factory=list)
    outcome: CommandResult[Any] | BaseException | None = field(default=None)
    _log_id: UUID | None = field(default=None)

    @property
    def log_id(self) -> UUID:
        """The id of this command's entry in the command log, derived once (a uuid5: the
        batch asks the store about it and the command looks it up, and a retry one by one
        does both again)."""
        if self._log_id is None:
            self._log_id = CommandLog.id_for(
                self.provenance.organisation, self.provenance.command_id
            )
        return self._log_id


class CommandBus:
    def __init__(
        self,
        app: ChainApplication,
        *,
        max_batch: int = 500,
        on_stored: Callable[[], None] | None = None,
    ) -> None:
        self.app = app
        self.max_batch = max_batch
        self._on_stored = on_stored
        self._public_topics = frozenset(app.public_topics())
        self._queue: queue.SimpleQueue[_Pending | _Query | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=f"{app.name}-writer", daemon=True)
        self._thread.start()

    async def execute(
        self,
        command: BaseModel,
        provenance: Provenance,
        handler: Handler[T],
        answer: type[T],
        prefetch: list[UUID] | None = None,
    ) -> CommandResult[T]:
        """Apply ``handler`` and store its events; ``answer`` is the type it returns (to answer
        a retry from the command log), and ``prefetch`` names aggregates it will look up, so
        that the batch asks the store about all of them in one query."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[CommandResult[Any]] = loop.create_future()
        self._queue.put(
            _Pending(command, provenance, handler, answer, loop, future, prefetch or [])
        )
        result: CommandResult[T] = await future
        return result

    async def query(self, read: Callable[[], T]) -> T:
        """Run ``read`` on the writer thread, between batches.

        The writer changes cached aggregates in place, so a read from another thread could
        see a batch that is not (or never will be) stored. ``read`` must return values that
        stay valid afterwards (a summary, not a live aggregate).
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Query(read, loop, future))
        return await future

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    @property
    def stopped(self) -> bool:
        """Closed, and nothing is being stored any more."""
        return not self._thread.is_alive()

    def _run(self) -> None:
        waiting: _Pending | _Query | None = None
        while True:
            first = waiting if waiting is not None else self._queue.get()
            waiting = None
            if first is None:
                return
            if isinstance(first, _Query):
                self._read(first)
                continue
            batch = [first]
            stop = False
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                if isinstance(item, _Query):
                    waiting = item  # answered after this batch is stored
                    break
                batch.append(item)
            self._apply_batch(batch)
            self._answer_all(batch)
            if stop:
                return

    @staticmethod
    def _read(query: _Query) -> None:
        try:
            value = query.read()
        except BaseException as error:
            outcome: Any = error
            failed = True
        else:
            outcome, failed = value, False

        def settle() -> None:
            if query.future.done():
                return
            if failed:
                query.future.set_exception(outcome)
            else:
                query.future.set_result(outcome)

        query.loop.call_soon_threadsafe(settle)

    def _forget_unsaved_state(self) -> None:
        # Cached aggregates were changed in place by a batch that did not save.
        # A new cache rather than cache.clear(): eventsourcing 9.5.6's LRUCache.clear() resets
        # its recency list but keeps the entries themselves.
        cache = self.app.repository.cache
        if isinstance(cache, LRUCache):
            self.app.repository.cache = LRUCache(maxsize=cache.maxsize)
        elif cache is not None:
            self.app.repository.cache = type(cache)()

    def _apply_batch(self, batch: list[_Pending]) -> None:
        try:
            self._try_batch(batch)
        except IntegrityError:
            self._forget_unsaved_state()
            # Another writer (a second instance on PostgreSQL) got there first: re-read and
            # apply one command at a time so that only the conflicting command fails.
            log.warning("store conflict in a batch of %d; retrying one by one", len(batch))
            self._one_by_one(batch)
        except Exception as error:
            # Whatever failed, nothing of this batch is stored: the cached aggregates changed
            # in place must be forgotten, or they would carry unsaved events into the next one.
            self._forget_unsaved_state()
            if store_unavailable(error):
                # Not one command's fault: every one of them may be sent again as it is.
                log.warning(
                    "event store unavailable (%s): %d command(s) answered UNAVAILABLE",
                    type(error).__name__,
                    len(batch),
                )
                for item in batch:
                    item.outcome = StoreUnavailable()
            elif len(batch) > 1:
                # One command's failure must not fail the commands it happened to share a
                # transaction with (an upstream event redelivered with a poisoned one would
                # fail again and again, and end up a dead letter).
                log.warning("a batch of %d failed (%s); retrying one by one", len(batch), error)
                self._one_by_one(batch)
            else:
                log.exception("command failed")
                batch[0].outcome = error
        if self._on_stored is not None:
            try:
                self._on_stored()
            except Exception:
                log.exception("on_stored failed")

    def _one_by_one(self, batch: list[_Pending]) -> None:
        for item in batch:
            for attempt in range(CONFLICT_RETRIES + 1):
                try:
                    self._try_batch([item])
                except IntegrityError as error:
                    self._forget_unsaved_state()
                    if attempt < CONFLICT_RETRIES:
                        # Re-read what the other writer stored, and apply it again; after a
                        # random pause that grows, so two writers retrying in step part.
                        time.sleep(random.uniform(0, 0.001 * 2**attempt))
                        continue
                    item.outcome = CommandRejected(f"conflict with a concurrent write: {error}")
                except Exception as error:
                    self._forget_unsaved_state()
                    if store_unavailable(error):
                        item.outcome = StoreUnavailable()
                    else:
                        log.exception("command failed")
                        item.outcome = error
                break

    def _try_batch(self, batch: list[_Pending]) -> None:
        uow = UnitOfWork(self.app)
        # Retries are rare and new aggregates common: ask the store once which command ids of
        # the batch it has seen, and which of the aggregates the commands named exist.
        ids = [i.log_id for i in batch]
        cache = self.app.repository.cache
        for item in batch:
            ids += [i for i in item.prefetch if not _cached(cache, i)]
        seen = self.app.stored_aggregates(sorted(set(ids)))
        uow.known_absent([i for i in ids if i not in seen])
        for item in batch:
            item.outcome = self._apply_one(uow, item)
        dirty = uow.dirty()
        if dirty:
            self.app.save(*dirty)

    def _apply_one(self, uow: UnitOfWork, item: _Pending) -> CommandResult[Any] | BaseException:
        log_id = item.log_id
        digest = fingerprint(item.command)
        uow.begin_command()
        seen = uow.get(log_id, CommandLog)
        if seen is not None:
            if seen.fingerprint != digest:
                return AlreadyExists(
                    "command_id was already used for a different command; use a new command_id"
                )
            return CommandResult.replay(item.answer, seen.result)
        try:
            answer = item.handler(uow)
        except CommandRejected as rejected:
            if uow.command_events():
                raise RuntimeError(
                    f"{type(item.command).__name__} triggered events before it was refused"
                ) from rejected
            return rejected
        new_events = uow.command_events()
        result = CommandResult(
            answer,
            tuple(
                str(event_id_of(e.originator_id, e.originator_version))
                for e in new_events
                if getattr(type(e), "TOPIC", "") in self._public_topics
            ),
        )
        occurred_on = new_events[0].occurred_on if new_events else None
        if occurred_on is not None:
            uow.add(
                CommandLog.start(
                    log_id,
                    CommandLog.Handled,
                    item.provenance,
                    occurred_on,
                    fingerprint=digest,
                    result=result.record(),
                )
            )
        return result

    @staticmethod
    def _answer_all(batch: list[_Pending]) -> None:
        # One wake-up of each event loop per batch, not one per command: waking a loop from
        # another thread costs a write to its self-pipe and a lock.
        by_loop: dict[asyncio.AbstractEventLoop, list[_Pending]] = {}
        for item in batch:
            by_loop.setdefault(item.loop, []).append(item)
        for loop, items in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle_all, items)
            except Exception:  # a closed event loop must not kill the writer
                log.exception("could not answer %d commands", len(items))


def _settle_all(items: list[_Pending]) -> None:
    for item in items:
        if item.future.done():
            continue
        if isinstance(item.outcome, BaseException):
            item.future.set_exception(item.outcome)
        elif item.outcome is None:
            item.future.set_exception(RuntimeError("the command was never applied"))
        else:
            item.future.set_result(item.outcome)
