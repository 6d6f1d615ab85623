"""The relay: publishes a service's stored events to JetStream, in order, without loss
(docs/adr/0001, 0009).

The event store is the system of record. The relay follows its notification log and publishes
every public event with its event id as ``Nats-Msg-Id``. An event stored but not yet
acknowledged by JetStream is published again, and JetStream drops the duplicate within its
window. Commands are accepted while NATS is down; the relay waits and catches up when it
returns. It connects as its service's identity, makes the service's streams and the consumers
its readers read them through (`bus_access`, docs/adr/0019), and nothing else.

**What it publishes.** Each event as a CloudEvents document in the body (envelope version 2,
`ketenzicht_contracts.envelope`), the payload as its ``data``, with ``Nats-Msg-Id`` the only
header.

**Where it resumes.** Each message carries the store's identity (``store``) and the event's
place in the notification log (``position``), as envelope attributes (``ce-store`` and
``ce-position`` headers in a version-1 message, which it reads too). At start the relay reads
its stream backwards from the end to the last message that is provably its own: it carries this
store's identity, and the store holds, at that position, the very event the message names (its
``id``). Anything else on the way (an anonymous publish, a message of another store, one that
merely claims this store's identity) is skipped, counted and logged: the bus is a trust
boundary, and a foreign message in the stream must never stop the relay or make it skip
events. Found nothing of its own: it publishes from the start (a fresh stream, or one another
store wrote to).

**An event it cannot publish.** A service checks every public event against its contract before
it stores it (`ChainApplication._record`), so the relay should never meet one that breaks its
contract. Data stored before that check existed may. Such an event is skipped: a record of it
goes to the dead letters (``ketenzicht.deadletters.relay.<service>``: position, event id, type,
aggregate, the rule it breaks; none of its content) and an ERROR line names the same ids.
Stopping would hold back every later event for one that every consumer would refuse anyway
(docs/adr/0009 says why skipping is right).

**What it reads.** The store's only publisher (no lease) is handed each transaction its own
process's writer commits, with the payloads the events were checked to before they were stored
(`ChainApplication.save`); it publishes from that hand-off whenever it follows on what it has
published without a gap, and reads the notification log wherever it does not (events stored
before it ran, a hand-off that overflowed while it was behind): no thread hop, no query and no
decoding for what was just stored, and the same order either way (docs/adr/0032).

**Several instances.** Instances of a service that share one store (PostgreSQL) each run a
relay, and a ``lease`` (`lease`, docs/adr/0026) lets one publish at a time: the others wait to
hold it, and the one that takes it over finds its position in the stream as at start.

**Health.** `stalled` says why the relay makes no progress: it has events to publish and has
published nothing (nor found itself caught up) for a while; ``service.serve`` reports it as the
health sub-service ``<service>.relay``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

import nats.errors
import nats.js.errors
from eventsourcing.persistence import Notification, Recording
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import PubAck, RawStreamMsg

from ketenzicht_contracts.envelope import (
    NATS_MSG_ID,
    Envelope,
    MalformedAttribute,
    is_header_envelope,
    read_document,
    stream_for,
)

from .bus_access import provision_feeds
from .contract import ContractViolation
from .domain import ChainAggregate, event_id_of, parse_event_topic
from .lease import Lease
from .nats_connection import connect
from .store import ChainApplication, Checked
from .streams import ensure_stream, own_streams, relay_skip_subject
from .telemetry import valid_traceparent

log = logging.getLogger(__name__)

SCAN_WINDOW = 64
"""Messages read at once while looking for the relay's last own message."""
HANDED_OVER = 64
"""Transactions the writer's hand-off holds at most (`Relay._recorded`; a bulk stream's are up
to the command batch, 500 commands); past that (NATS down, the relay behind) it starts again
empty, and the relay reads the store until it has caught up."""


def to_message(
    app: ChainApplication,
    notification: Notification,
    event: object = None,
    checked: Checked = None,
) -> tuple[str, bytes, Envelope]:
    """The subject, the payload's JSON and the envelope of a stored event
    (``envelope.to_message`` makes the message of the last two). ``event`` is the stored
    event's domain event and ``checked`` its subject and payload as checked before it was
    stored, when the writer handed them over (`Relay._recorded`); else the event is decoded
    from the notification and checked here."""
    if event is None:
        event = app.mapper.to_domain_event(notification)
    assert isinstance(event, ChainAggregate.Event)
    service, event_type, version = parse_event_topic(notification.topic)
    # ContractViolation for an event it cannot publish
    subject, body = checked if checked is not None else app.publishable(event)
    provenance = event.provenance
    envelope = Envelope(
        event_id=event_id_of(event.originator_id, event.originator_version),
        service=service,
        event_type=event_type,
        version=version,
        occurred_on=event.occurred_on,
        recorded_at=event.timestamp,
        aggregate_id=event.originator_id,
        aggregate_version=event.originator_version,
        organisation=provenance.get("organisation", ""),
        system=provenance.get("system", ""),
        command_id=provenance.get("command_id", ""),
        # Checked again on the way out: events stored before the edge was strict may hold
        # whatever a caller sent as its trace context.
        traceparent=valid_traceparent(provenance.get("traceparent", "")),
        position=notification.id,
        store=app.store_id(),
        message_id=app.message_id(event),
    )
    return subject, body.__pydantic_serializer__.to_json(body), envelope


T = TypeVar("T")


async def _in_thread(function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` in a worker thread. A cancellation waits for the call to return
    before it propagates: cancelling ``asyncio.to_thread`` does not stop its thread, and the
    owner closing the store under a query still running there crashes the process (SQLite)."""
    call = asyncio.ensure_future(asyncio.to_thread(function, *args))
    try:
        return await asyncio.shield(call)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await call
        raise


class Relay:
    def __init__(
        self,
        app: ChainApplication,
        nats_url: str,
        *,
        batch_size: int = 500,
        poll_interval: float = 0.5,
        stream_replicas: int = 1,
        seed_file: Path | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        lease: Lease | None = None,
    ) -> None:
        self.app = app
        self.service = app.service
        self.stream = stream_for(self.service)
        self.nats_url = nats_url
        self.seed_file = seed_file
        """The nkey seed of this service's identity on the bus (`bus_access`)."""
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.stream_replicas = stream_replicas
        self.topics: Sequence[str] = app.public_topics()
        self.position = 0
        """Notification id up to which JetStream has acknowledged every public event (the
        private events after the last of them passed over too)."""
        self.skipped = 0
        """Events skipped since start because they break their contract."""
        self._resumed = False
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._nc: Client | None = None
        self._monotonic = monotonic
        self._progress_at = monotonic()
        """When the relay last published a batch or found itself caught up."""
        self._unpublished = True
        """Whether there may be stored events it has not published (known at the next read)."""
        self._last_error = ""
        self.lease = lease
        """Held while this relay may publish (None: the only instance, always)."""
        self._handed: collections.deque[list[tuple[Recording[UUID], Checked]]] = collections.deque(
            maxlen=HANDED_OVER
        )
        """Transactions this process's writer stored, as it stored them (`_recorded`)."""
        self._covered = 0
        """Every notification up to this id is published, or private."""
        self._public = frozenset(self.topics)
        if lease is None:
            # The only instance: every event of the store is stored by this process's writer,
            # so the writer's recordings are the notification log's next entries. Another
            # instance's writer would not tell this relay (then it reads the store only).
            app.recorded_listeners.append(self._recorded)

    def _recorded(self, recordings: list[Recording[UUID]], checked: list[Checked]) -> None:
        """Called in the writer's thread with one committed transaction's recordings."""
        self._handed.append(list(zip(recordings, checked, strict=True)))

    def _from_writer(self) -> tuple[list[tuple[Recording[UUID], Checked]], int] | None:
        """The public events of the transactions handed over that follow on what is published
        without a gap, and the id they cover up to; None when the store must be read: nothing
        handed over, or a gap before the first (stored before the relay ran, or dropped)."""
        covered = max(self._covered, self.position)
        taken: list[tuple[Recording[UUID], Checked]] = []
        while self._handed and len(taken) < self.batch_size:
            recordings = self._handed[0]
            if recordings[-1][0].notification.id <= covered:
                self._handed.popleft()  # already read from the store
                continue
            if recordings[0][0].notification.id > covered + 1:
                break
            self._handed.popleft()
            taken += [
                (r, c)
                for r, c in recordings
                if r.notification.id > self.position and r.notification.topic in self._public
            ]
            covered = recordings[-1][0].notification.id
        if covered == max(self._covered, self.position):
            return None
        return taken, covered

    @property
    def scanned(self) -> int:
        """Every notification up to this id is published or private: where the next look for
        events to publish starts (after it)."""
        return max(self.position, self._covered)

    def wake(self) -> None:
        """Called from any thread after events were stored."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._stored)

    def _stored(self) -> None:
        self._unpublished = True
        self._wake.set()

    def stalled(self, after: float) -> str:
        """Why the relay makes no progress ("" when it does): events wait to be published and
        it has published nothing for more than ``after`` seconds. Ids and counts only."""
        waited = self._monotonic() - self._progress_at
        if self.lease is not None and not self.lease.held:
            return ""  # standing by: another instance's relay publishes
        if not self._unpublished or waited <= after:
            return ""
        where = (
            f"published up to position {self.position}"
            if self._resumed
            else f"its position in {self.stream} not found yet"
        )
        return (
            f"stored events have waited {waited:.0f} s to be published to {self.stream} "
            f"({where})" + (f": {self._last_error}" if self._last_error else "")
        )

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._progress_at = self._monotonic()
        self._unpublished = bool(await _in_thread(self._unpublished_after, 0))
        backoff = 0.1
        try:
            while True:
                try:
                    if self.lease is not None and not self.lease.held:
                        await self.lease.acquire()
                        # Another instance may have published meanwhile: resume from the
                        # stream, as at start.
                        self._resumed = False
                        self._progress_at = self._monotonic()
                    js = await self._jetstream()
                    if not self._resumed:
                        # Once, at start: the stream says how far publishing got. After a
                        # failure the relay resumes from its last fully acknowledged batch
                        # instead, because a message lost mid-batch may sit below the stream's
                        # last one; the re-sent tail is dropped by Nats-Msg-Id.
                        self.position = await self._published_position(js)
                        self._covered = 0
                        self._resumed = True
                    await self._follow(js)
                except asyncio.CancelledError:
                    raise
                except Exception as error:
                    self._last_error = _described(error)
                    log.warning("relay %s paused: %s", self.service, self._last_error)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 2.0)
                else:
                    backoff = 0.1
        finally:
            if self._nc is not None and not self._nc.is_closed:
                await self._nc.close()
            if self.lease is not None:
                await self.lease.release()

    def _unpublished_after(self, position: int) -> bool:
        return bool(self.app.recorder.select_notifications(position + 1, 1, None, self.topics))

    async def _jetstream(self) -> JetStreamContext:
        if self._nc is None or self._nc.is_closed:
            self._nc = await connect(
                self.nats_url, name=f"{self.service}-relay", seed_file=self.seed_file
            )
        js = self._nc.jetstream(timeout=5)
        for config in own_streams(self.service, self.stream_replicas):
            await ensure_stream(js, config)
        # The consumers the service's readers read it through: the owner makes them, so no
        # reader ever configures a consumer in this service's account.
        await provision_feeds(js, self.service)
        return js

    async def _published_position(self, js: JetStreamContext) -> int:
        """The position of the last message in the stream that is provably this store's own
        (see the module docstring); 0 when there is none."""
        info = await js.stream_info(self.stream)
        if not info.state.messages:
            return 0
        first, last = info.state.first_seq or 1, info.state.last_seq
        stored = await _in_thread(self.app.max_notification_id)
        foreign = 0
        sequence = last
        window_size = 1  # the last message is nearly always its own: read more only if not
        while sequence >= first:
            low = max(first, sequence - window_size + 1)
            window_size = SCAN_WINDOW
            window = range(sequence, low - 1, -1)
            messages = await asyncio.gather(*(self._message(js, s) for s in window))
            for at, message in zip(window, messages, strict=True):
                if message is None:
                    continue  # deleted from the stream
                position = await self._own_position(message, stored)
                if position is not None:
                    if foreign:
                        log.warning(
                            "relay %s: skipped %d message(s) of other origin at the end of %s "
                            "(from #%d on); resuming after its own event at position %d (#%d)",
                            self.service,
                            foreign,
                            self.stream,
                            at + 1,
                            position,
                            at,
                        )
                    return position
                foreign += 1
            sequence = low - 1
        if foreign:
            log.warning(
                "relay %s: none of the %d message(s) in %s is of this store; publishing "
                "this store's events from the start",
                self.service,
                foreign,
                self.stream,
            )
        return 0

    async def _message(self, js: JetStreamContext, sequence: int) -> RawStreamMsg | None:
        try:
            return await js.get_msg(self.stream, sequence)
        except nats.js.errors.NotFoundError:
            return None

    async def _own_position(self, message: RawStreamMsg, stored: int) -> int | None:
        """The message's position if it is this store's own event, else None."""
        store, position, event_id = _claims(message)
        if store != self.app.store_id() or position is None:
            return None
        if not 0 < position <= stored:
            # Forged, or the store was restored from a copy older than the stream: either way
            # no event of this store to resume after. Publishing goes on from an earlier one.
            log.error(
                "relay %s: %s #%d claims this store's position %d, beyond the %d it holds; ignored",
                self.service,
                self.stream,
                message.seq,
                position,
                stored,
            )
            return None
        found = await _in_thread(
            self.app.recorder.select_notifications, position, 1, None, self.topics
        )
        if not found or found[0].id != position or event_id != str(_event_id(found[0])):
            log.error(
                "relay %s: %s #%d claims this store's position %d but names another event; ignored",
                self.service,
                self.stream,
                message.seq,
                position,
            )
            return None
        return position

    async def _follow(self, js: JetStreamContext) -> None:
        while True:
            if self.lease is not None:
                self.lease.check()  # LeaseLost: wait to hold it again
            # Cleared before reading, so a wake-up during the read is not lost.
            self._wake.clear()
            handed = self._from_writer()
            if handed is not None:
                # What the writer handed over follows on the last published event: no read of
                # the store (a thread hand-off and a query), no decoding of what it just encoded.
                recordings, covered = handed
                events: list[tuple[Notification, object, Checked]] = [
                    (r.notification, r.domain_event, c) for r, c in recordings
                ]
            else:
                # The store's last position, read before the look: what a look up to it does
                # not return is private, and the next look starts after it. A store that holds
                # mostly private events (residence notes every upstream fact) would otherwise
                # have the whole tail since its last public event read again on every look: a
                # replay of its upstream then cost time growing with the square of the events.
                top = await _in_thread(self.app.max_notification_id)
                notifications = await _in_thread(
                    self.app.recorder.select_notifications,
                    max(self.position, self._covered) + 1,
                    self.batch_size,
                    top,
                    self.topics,
                )
                if not notifications:
                    self._covered = max(self._covered, self.position, top)
                    await self._idle()
                    continue
                events = [(n, None, None) for n in notifications]
                # A short batch was every public event up to ``top``: the look moves past the
                # private ones after it too.
                whole = len(notifications) == self.batch_size
                covered = notifications[-1].id if whole else max(notifications[-1].id, top)
            self._unpublished = True
            acks: list[asyncio.Future[PubAck]] = []
            for notification, event, checked in events:
                try:
                    subject, data, envelope = to_message(self.app, notification, event, checked)
                except ContractViolation as violation:
                    acks.append(await self._skip(js, notification, violation))
                    continue
                headers, body = envelope.to_message(data)
                acks.append(await js.publish_async(subject, body, headers=headers))
            # Every ack must arrive before the position moves: a failure re-reads the stream.
            async with asyncio.timeout(10):
                await asyncio.gather(*acks)
            if events:
                self.position = events[-1][0].id
            self._covered = covered
            self._progress_at = self._monotonic()
            self._last_error = ""
            if self.lease is None and len(events) < self.batch_size and not self._wake.is_set():
                # The only instance: every event stored since the read above came from this
                # process's writer, which wakes the relay after each commit. A short batch and
                # no wake-up since means nothing is left, so the read that would find that out
                # (a thread hand-off and a query per commit) is skipped; the poll still looks.
                await self._idle()

    async def _idle(self) -> None:
        """Caught up: wait for the next wake-up, or the poll interval."""
        self._caught_up()
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow the cancellation
        # that stops the relay (CPython gh-86296), and the service with it.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.poll_interval):
                await self._wake.wait()

    def _caught_up(self) -> None:
        self._unpublished = False
        self._progress_at = self._monotonic()
        self._last_error = ""

    async def _skip(
        self, js: JetStreamContext, notification: Notification, violation: ContractViolation
    ) -> asyncio.Future[PubAck]:
        """Skip a stored event that breaks its contract, with a dead-letter record of it."""
        _, event_type, version = parse_event_topic(notification.topic)
        event_id = _event_id(notification)
        self.skipped += 1
        log.error(
            "relay %s: skipped the stored event at position %d (%s %s v%d, aggregate "
            "%s): it breaks its contract (%s); recorded among the dead letters",
            self.service,
            notification.id,
            event_type,
            event_id,
            version,
            notification.originator_id,
            violation,
        )
        record = {
            "service": self.service,
            "stream": self.stream,
            "position": notification.id,
            "event_id": str(event_id),
            "event_type": event_type,
            "version": version,
            "aggregate_id": str(notification.originator_id),
            "reason": str(violation),
            "store": self.app.store_id(),
        }
        future: asyncio.Future[PubAck] = await js.publish_async(
            relay_skip_subject(self.service),
            json.dumps(record).encode(),
            headers={NATS_MSG_ID: f"relay-skip-{self.app.store_id()}-{notification.id}"},
        )
        return future


def _claims(message: RawStreamMsg) -> tuple[str, int | None, str]:
    """What a message of the stream says of its origin: (store, position, event id), from
    the body's attributes or a version-1 message's headers; nothing trusted yet."""
    headers = message.headers or {}
    if is_header_envelope(headers):
        try:
            position: int | None = int(headers.get("ce-position", ""))
        except ValueError:
            position = None
        return headers.get("ce-store", ""), position, headers.get("ce-id", "")
    try:
        document, _ = read_document(message.data or b"")
    except MalformedAttribute:
        return "", None, ""
    claimed = document.get("position")
    return (
        str(document.get("store", "")),
        claimed if type(claimed) is int else None,
        str(document.get("id", "")),
    )


def _event_id(notification: Notification) -> UUID:
    return event_id_of(UUID(str(notification.originator_id)), notification.originator_version)


def _described(error: BaseException) -> str:
    """An error for a log line and health: NATS's own messages in full, anything else by its
    class only (an exception from reading the store could quote stored data)."""
    if isinstance(error, nats.errors.Error | OSError | TimeoutError):
        return f"{type(error).__name__}: {error}"[:300]
    return type(error).__name__
