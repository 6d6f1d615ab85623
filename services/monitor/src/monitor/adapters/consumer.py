"""The monitor on the bus: durable consumers on every service stream, and the replay to rebuild.

- Durable consumers (``ketenzicht_common.consumer.subscribe``), one per service stream, named
  ``monitor-<service>``. Each message becomes a `ChainFact` applied to the live projection;
  its acknowledgement waits until the fact is committed to the fact database (see
  `application.live`).
- The durable consumers are the monitor's feeds (`ketenzicht_common.bus_access.FEEDS`): each
  service's relay makes them, in its own account, so the monitor can start before the services
  whose events it reads and miss nothing they publish later. It never touches their streams.
- When the monitor starts without any stored projection, it rebuilds once from the streams: a
  durable left over from an earlier life would otherwise resume after facts it no longer holds.
- An event whose handling fails on every delivery ends up among the dead letters
  (``ketenzicht_common.streams.dead_letter_stream``), as does a message without an envelope.
- NATS may be down at start or later: the consumer retries, it never takes the process down.
- Every event is checked against the contracts before it is applied, live and in a replay
  (``ketenzicht_common.contract``): one that fails is refused (a dead letter) or skipped.
- `replay` reads each stream from its first message to the last one present when the replay
  began, in batches of JetStream's direct get (`ketenzicht_common.streams.read_stream`: no
  consumer to create in the owner's account, nothing acknowledged), and hands each fact's
  record to a callback that only buffers (the live projection writes the facts in large
  chunks). A message that passes the contract check in one pass (`contract.passes_at_once`,
  docs/adr/0037-one-pass-contract-check.md) becomes its record straight from it; any other
  takes the live consumers' exact check. With rebuild workers (`replay_checks`, the default
  where there are two cores) the event loop reads nothing: it splits the streams into ranges of
  sequences, and the workers read them as the monitor, check them the same way and append the
  records to the fresh table themselves (docs/adr/0039-rebuild-workers-read-their-own-ranges.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import nats.js.errors
import orjson
from faststream.nats import NatsBroker
from nats.aio.client import Client
from nats.aio.msg import Msg

from ketenzicht_common.bus_access import api_prefix, jetstream_for
from ketenzicht_common.consumer import (
    ReceivedEvent,
    Subscription,
    Unprocessable,
    event_broker,
    subscribe,
)
from ketenzicht_common.contract import check_message, passes_at_once
from ketenzicht_common.nats_connection import connect
from ketenzicht_common.streams import dead_letter_stream, ensure_stream, read_stream
from ketenzicht_contracts.envelope import Envelope, stream_for
from monitor.adapters.replay_checks import Range, ReplayChecks
from monitor.application.live import LiveProjection
from monitor.domain import ChainFact, FactRecord, record_of, to_record

log = logging.getLogger(__name__)

SERVICES: tuple[str, ...] = ("intake", "investigation", "prosecution", "residence")
"""The services whose streams the monitor reads."""
READER = "monitor"


class UnreadableEvent(ValueError):
    """A message the monitor cannot read; retrying will not help, so it is skipped."""


def fact_of(envelope: Envelope, body: bytes) -> ChainFact:
    """The monitor's view of one event: the envelope's dates and ids, the payload's fields."""
    return _fact(
        str(envelope.event_id),
        envelope.service,
        envelope.event_type,
        envelope.occurred_on,
        envelope.recorded_at,
        body,
        envelope.organisation,
        envelope.system,
    )


def fact_from_message(message: Msg, stream: str) -> ChainFact:
    """The replay's reading of a message of ``stream``: the live consumers' whole check
    (`ketenzicht_common.contract.check_message`, either envelope version), so that a rebuild
    applies nothing the live consumers would have refused. The common case passes that check in
    one pass (`contract.passes_at_once`) and becomes the fact straight from it; anything else
    takes the whole check, which names the reason."""
    passed = passes_at_once(stream, message.subject, message.headers, message.data)
    if passed is not None:
        document, model, payload = passed
        return ChainFact(
            event_id=document.id,
            service=model.SERVICE,
            event_type=model.event_type(),
            occurred_on=document.occurredon,
            recorded_at=document.time,
            payload=payload,
            organisation=document.organisation,
            system=document.system,
        )
    return _fact_checked_exactly(message, stream)


def _fact_checked_exactly(message: Msg, stream: str) -> ChainFact:
    return _checked_exactly(stream, message.subject, message.headers, message.data)


def _checked_exactly(
    stream: str, subject: str, headers: Mapping[str, str] | None, body: bytes
) -> ChainFact:
    try:
        envelope, _, data = check_message(stream, subject, headers, body)
    except Unprocessable as error:
        # The reason names the rule only, never a header's or an attribute's value.
        raise UnreadableEvent(str(error)) from None
    return fact_of(envelope, data)


def record_from_message(message: Msg, stream: str) -> FactRecord:
    """`fact_from_message`'s record (`domain.to_record`), made straight from the one-pass check
    when the message passes it (no `ChainFact` in between): what a rebuild stores."""
    return record_from_parts(stream, message.subject, message.headers, message.data)


def record_from_parts(
    stream: str, subject: str, headers: Mapping[str, str] | None, body: bytes
) -> FactRecord:
    """`record_from_message` of a message given as its parts (what a rebuild worker receives,
    `replay_checks`)."""
    passed = passes_at_once(stream, subject, headers, body)
    if passed is None:
        return to_record(_checked_exactly(stream, subject, headers, body))
    document, model, payload = passed
    return record_of(
        document.id,
        model.SERVICE,
        model.event_type(),
        document.occurredon,
        document.time,
        payload,
        document.organisation,
        document.system,
    )


def _fact(
    event_id: str,
    service: str,
    event_type: str,
    occurred_on: date,
    recorded_at: datetime,
    body: bytes,
    organisation: str = "",
    system: str = "",
) -> ChainFact:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise UnreadableEvent("body is not JSON") from None
    if not isinstance(payload, dict):
        raise UnreadableEvent("body is not a JSON object")
    return ChainFact(
        event_id=event_id,
        service=service,
        event_type=event_type,
        occurred_on=occurred_on,
        recorded_at=recorded_at,
        payload=payload,
        organisation=organisation,
        system=system,
    )


REPLAY_RANGES_PER_WORKER = 8
"""Into how many ranges for each worker a replay splits the streams: a worker that finishes
early takes the next, so the last range decides how long the others wait at the end."""

REPLAY_RANGE_MIN = 2_000
REPLAY_RANGE_MAX = 50_000
"""The bounds of a range's length in sequences (a worker reads one in direct-get batches of
1,000, and holds one chunk of it at a time)."""

REPLAY_GC_THRESHOLD = 200_000
"""The garbage collector's first threshold during a replay (Python's default: 700). Every fact
allocates a dozen container objects and the chunks being written keep tens of thousands alive,
so at the default the collector traversed the survivors over and over: a sixth of a rebuild's
CPU. What a fact allocates is freed by reference counting; the collector still runs, every
200,000 allocations."""


@contextlib.contextmanager
def _young_collections_deferred() -> Iterator[None]:
    first, second, third = gc.get_threshold()
    gc.set_threshold(max(first, REPLAY_GC_THRESHOLD), second, third)
    try:
        yield
    finally:
        # Unless someone changed it meanwhile (a second replay runs under the rebuild's lock).
        if gc.get_threshold()[0] == max(first, REPLAY_GC_THRESHOLD):
            gc.set_threshold(first, second, third)


class ChainConsumer:
    """Feeds the live projection from the bus; also the replay source for a rebuild."""

    def __init__(
        self,
        nats_url: str,
        live: LiveProjection,
        *,
        services: Sequence[str] = SERVICES,
        seed_file: Path | None = None,
        rebuild_at_start: bool = False,
        batch_size: int = 256,
        replay_idle_seconds: float = 5.0,
        stream_replicas: int = 1,
        replica: int = 1,
        checks: ReplayChecks | None = None,
        replay_chunk: int = 1000,
    ) -> None:
        self.nats_url = nats_url
        self.replica = replica
        """Which of the monitor's active replicas this is: each reads through feeds of its
        own (`bus_access.all_feeds`), so each sees every event."""
        self.seed_file = seed_file
        self.live = live
        self.services = tuple(services)
        self.rebuild_at_start = rebuild_at_start
        self.batch_size = batch_size
        self.replay_idle_seconds = replay_idle_seconds
        self.stream_replicas = stream_replicas
        self.checks = checks
        """Worker processes for a replay's contract checks (`replay_checks`); without, the
        replay checks each message itself."""
        self.replay_chunk = replay_chunk
        self.consuming = False
        self.skipped = 0
        self._nc: Client | None = None

    async def handle(self, event: ReceivedEvent) -> None:
        # The shared consumer has checked the event against its contract already.
        try:
            fact = fact_of(event.envelope, event.body)
        except UnreadableEvent as error:
            # Redelivering a malformed message cannot repair it: skipped, kept as a dead letter.
            self.skipped += 1
            raise Unprocessable(str(error)) from error
        await self.live.apply(fact)

    async def run(self) -> None:
        """Consume until cancelled, reconnecting and resubscribing after any failure."""
        delay = 0.2
        while True:
            broker: NatsBroker | None = None
            subscription: Subscription | None = None
            try:
                self._nc = await connect(self.nats_url, name="monitor", seed_file=self.seed_file)
                js = self._nc.jetstream(timeout=5)
                await ensure_stream(js, dead_letter_stream(READER, self.stream_replicas))
                broker = event_broker(
                    self.nats_url,
                    self.seed_file,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=1,
                    graceful_timeout=5.0,
                )
                subscription = subscribe(
                    broker,
                    reader=READER,
                    services=self.services,
                    handler=self.handle,
                    concurrency=self.batch_size,
                    replica=self.replica,
                )
                await broker.start()
                self.consuming = True
                log.info("consuming %s", ", ".join(self.services))
                if self.rebuild_at_start:
                    # No stored projection, but the durables may resume after facts a former
                    # life of the monitor held: every stream is read once from its start.
                    await self.live.rebuild(self.replay)
                    self.rebuild_at_start = False
                delay = 0.2
                await asyncio.Event().wait()  # until cancelled; nats-py reconnects by itself
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("monitor consumer paused: %s; retrying in %.1fs", error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            finally:
                self.consuming = False
                if subscription is not None:
                    with contextlib.suppress(Exception):
                        await subscription.close()
                if broker is not None:
                    with contextlib.suppress(Exception):
                        await broker.stop()
                if self._nc is not None:
                    with contextlib.suppress(Exception):
                        await self._nc.close()
                    self._nc = None

    async def replay(self, apply: Callable[[ChainFact | FactRecord], Any]) -> int:
        """Every fact of every stream, from the first message to the last one present now,
        into the rebuild's fresh table: handed to ``apply``, or, with `checks`, appended to
        the table by the checking workers; how many."""
        nc = self._nc
        if nc is None or not nc.is_connected:
            raise ConnectionError("not connected to NATS")
        with _young_collections_deferred():
            if self.checks is not None:
                ranges = await self._ranges(nc, self.checks.workers)
                return await self._replay_read_apart(self.checks, ranges)
            total = 0
            for service in self.services:
                total += await self._replay_stream(nc, service, apply)
            return total

    async def _present(self, nc: Client, service: str) -> Range | None:
        """The whole of a service's stream as it is now, if it holds anything: up to its last
        sequence; anything published later reaches the fresh table through the live
        consumers."""
        stream = stream_for(service)
        try:
            info = await jetstream_for(nc, READER, stream).stream_info(stream)
        except nats.js.errors.NotFoundError:
            return None
        if not info.state.messages:
            return None
        return Range(api_prefix(service), stream, info.state.first_seq, info.state.last_seq)

    async def _ranges(self, nc: Client, workers: int) -> list[Range]:
        """Every stream's messages present now, in ranges of sequences for ``workers``: about
        `REPLAY_RANGES_PER_WORKER` for each, so that none waits long for the last."""
        present = [w for service in self.services if (w := await self._present(nc, service))]
        total = sum(whole.last - whole.first + 1 for whole in present)
        size = min(
            REPLAY_RANGE_MAX,
            max(REPLAY_RANGE_MIN, total // (REPLAY_RANGES_PER_WORKER * workers)),
        )
        return [
            whole._replace(first=first, last=min(first + size - 1, whole.last))
            for whole in present
            for first in range(whole.first, whole.last + 1, size)
        ]

    async def _replay_stream(
        self, nc: Client, service: str, apply: Callable[[ChainFact | FactRecord], Any]
    ) -> int:
        whole = await self._present(nc, service)
        if whole is None:
            return 0
        count = 0
        async for message in read_stream(nc, *whole):
            try:
                apply(record_from_message(message, whole.stream))
                count += 1
            except UnreadableEvent as error:
                log.warning("replay skips a message of %s: %s", whole.stream, error)
        log.info("replayed %d events of %s", count, whole.stream)
        return count

    async def _replay_read_apart(self, checks: ReplayChecks, ranges: Sequence[Range]) -> int:
        """The ``ranges`` read, checked and stored in the fresh table by `checks`' workers,
        as many at once as there are workers (nothing is handed to ``apply``)."""
        counts: dict[str, int] = {}
        pending = [(part.stream, checks.submit(part, self.replay_chunk)) for part in ranges]
        try:
            for stream, future in pending:
                stored, refused = await asyncio.wrap_future(future)
                counts[stream] = counts.get(stream, 0) + stored
                for reason in refused:
                    log.warning("replay skips a message of %s: %s", stream, reason)
        except BaseException:
            # What no worker has begun is dropped; what one has, is waited for, so that no
            # write of this rebuild lands after the caller has dropped its fresh table, or in
            # the next rebuild's. Without a deadline, and with the event loop serving: a begun
            # range ends within a direct-get batch's timeout and a chunk's wait for SQLite.
            for _, future in pending:
                future.cancel()
            begun = [asyncio.wrap_future(future) for _, future in pending]
            if begun:
                await asyncio.wait(begun)
            for ended in begun:
                if not ended.cancelled():
                    ended.exception()  # seen: the replay fails with the first range's error
            raise
        for stream, count in counts.items():
            log.info("replayed %d events of %s", count, stream)
        return sum(counts.values())
