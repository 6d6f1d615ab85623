"""Consuming the chain's events: durable JetStream consumers through faststream.

Every consumer is durable (it resumes where it left off after a restart), acknowledges only
after its handler succeeded, and a failed event is redelivered after a growing delay
(faststream's default would terminate a message whose handler raised). Handlers must be
idempotent: JetStream delivers at least once, so a handler keys what it records on the event
id. ``SqliteInbox`` is the simple way to do that for handlers that have no store of their own.

An event is given up on, and becomes a dead letter (``streams.dead_letter_stream``), when its
handler has failed on every one of ``max_deliver`` deliveries, when it has no readable envelope,
or when its handler raises `Unprocessable`: it breaks its contract, and no redelivery can
repair that.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import sqlite3
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from faststream import AckPolicy
from faststream.nats import JStream, NatsBroker
from nats.aio.msg import Msg
from nats.js.api import AckPolicy as JsAckPolicy
from nats.js.api import ConsumerConfig, DeliverPolicy
from opentelemetry import propagate, trace

from ketenzicht_contracts.envelope import Envelope, stream_for
from ketenzicht_contracts.events import EventPayload, payload_model

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReceivedEvent:
    envelope: Envelope
    subject: str
    body: bytes

    @cached_property
    def data(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.body)
        return loaded

    def payload(self) -> EventPayload:
        model = payload_model(self.envelope.service, self.envelope.event_type,
                              self.envelope.version)
        return model.model_validate_json(self.body)


EventHandler = Callable[[ReceivedEvent], Awaitable[None]]


class Unprocessable(Exception):
    """Raised by a handler for an event that breaks its contract (a missing field, a body that
    is not JSON): it is terminated at once instead of redelivered, and kept as a dead letter."""


def received(message: Msg) -> ReceivedEvent:
    return ReceivedEvent(
        envelope=Envelope.from_headers(message.headers or {}),
        subject=message.subject,
        body=message.data,
    )


def delivery_count(message: Msg) -> int:
    """How often JetStream has delivered this message (1 for a message without its metadata).

    Read only when a handler failed: parsing the reply subject for every message cost more
    than the handler's own bookkeeping."""
    with contextlib.suppress(Exception):
        return int(message.metadata.num_delivered or 1)
    return 1


def event_broker(nats_url: str, **options: Any) -> NatsBroker:
    """A faststream broker for the chain's consumers.

    faststream logs every message received and processed at INFO; at the chain's volumes that
    was a tenth of a consumer's time, so those lines go to DEBUG. Failures still log at ERROR.
    """
    return NatsBroker(nats_url, log_level=logging.DEBUG, **options)


async def _raw_message(message: Any) -> Msg:
    # The handler reads the event from the raw message (headers and body): decoding the body
    # here as well would parse each JSON twice. A coroutine, because faststream runs a plain
    # function decoder in a worker thread: a thread hand-off per message.
    raw: Msg = message.raw_message
    return raw


async def _handle_one(raw: Msg, handler: EventHandler, tracer: trace.Tracer) -> None:
    try:
        event = received(raw)
    except Exception:
        # Unreadable headers cannot be repaired by redelivery: terminate, loudly.
        log.exception("terminated an unreadable message on %s", raw.subject)
        await _settle(raw.term())
        return
    try:
        # One consumer span per event, a child of the span that stored it (its traceparent
        # header): a batch must not cut the trace from the police system's call onwards.
        with tracer.start_as_current_span(
                f"{raw.subject} process", context=propagate.extract(raw.headers or {}),
                kind=trace.SpanKind.CONSUMER,
                attributes={"messaging.system": "nats",
                            "messaging.destination.name": raw.subject,
                            "messaging.message.id": str(event.envelope.event_id)}):
            await handler(event)
    except Unprocessable as error:
        log.error("terminated %s %s: %s", event.envelope.event_type, event.envelope.event_id,
                  error)
        await _settle(raw.term())
        return
    except Exception:
        # Redelivered later, not at once, so a short outage does not use up max_deliver in
        # seconds.
        deliveries = delivery_count(raw)
        delay = min(30.0, 0.5 * 2 ** (deliveries - 1))
        log.exception("%s %s failed (delivery %d); redelivery in %.1fs",
                      event.envelope.event_type, event.envelope.event_id, deliveries, delay)
        await _settle(raw.nak(delay=delay))
        return
    await _settle(raw.ack())


class Subscription:
    """The events faststream delivers for one `subscribe` call, up to ``concurrency`` at once.

    faststream's own dispatch only appends each message here, in delivery order; one task
    starts a handler for each, keeping up to ``concurrency`` running and starting the next as
    soon as one finishes, so the events of a burst share a transaction (the command bus's group
    commit, the monitor's) and one slow event holds only its own slot. That replaced
    faststream's concurrent workers (``max_workers``), whose dispatch per message cost the
    monitor a tenth of its time. Messages wait here while every slot is taken: at most
    ``max_ack_pending`` per stream, plus any the server redelivers after their ack wait.
    """

    def __init__(self, handler: EventHandler, tracer: trace.Tracer, concurrency: int,
                 close_timeout: float = 10.0) -> None:
        self._handler = handler
        self._tracer = tracer
        self._slots = asyncio.Semaphore(concurrency)
        self._close_timeout = close_timeout
        self._waiting: deque[Msg] = deque()
        self._running: set[asyncio.Task[None]] = set()
        self._dispatching: asyncio.Task[None] | None = None
        self._closed = False
        self.subscribers: list[Any] = []
        """faststream's subscribers feeding this one, stopped first when it closes."""

    async def offer(self, message: Any) -> None:
        """faststream's handler: queue the message, start dispatching if nothing is."""
        if self._closed:
            # Not at once: were this subscription still receiving, it would come straight back.
            await _settle(message.nak(delay=1.0))
            return
        self._waiting.append(message)
        if self._dispatching is None:
            # A fresh context: the task outlives the faststream message scope it starts in.
            self._dispatching = asyncio.get_running_loop().create_task(
                self._dispatch(), context=contextvars.Context())

    async def _dispatch(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._waiting and not self._closed:
                await self._slots.acquire()
                if not self._waiting or self._closed:
                    self._slots.release()
                    break
                raw = self._waiting.popleft()
                task = loop.create_task(_handle_one(raw, self._handler, self._tracer))
                self._running.add(task)
                task.add_done_callback(self._finished)
        finally:
            self._dispatching = None

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._slots.release()
        if not task.cancelled() and task.exception() is not None:
            log.error("an event's handling failed unexpectedly; it will come again",
                      exc_info=task.exception())

    async def close(self) -> None:
        """Stop receiving, let the events in hand finish (they are acknowledged) for up to
        ``close_timeout`` seconds, and hand the waiting ones back to the server, so the next
        run gets them at once rather than after their ack wait. Call before the broker stops.

        Messages nats-py had received but not yet passed on when receiving stopped are not
        seen here: they come again after their ack wait."""
        try:
            for subscriber in self.subscribers:
                try:
                    await subscriber.stop()
                except Exception as error:
                    log.warning("stopping a subscriber failed: %s", error)
        finally:
            self._closed = True
            try:
                in_hand = set(self._running)
                if in_hand:
                    await asyncio.wait(in_hand, timeout=self._close_timeout)
            finally:
                waiting, self._waiting = list(self._waiting), deque()
                for message in waiting:
                    await _settle(message.nak())


async def _settle(outcome: Awaitable[None]) -> None:
    # An acknowledgement that cannot reach the server (the connection is closing) only means
    # the event comes again: every handler is idempotent.
    try:
        await outcome
    except Exception as error:
        log.warning("could not settle a message (it will come again): %s", error)


def subscribe(
    broker: NatsBroker,
    *,
    durable: str,
    services: Iterable[str],
    handler: EventHandler,
    max_deliver: int = 50,
    ack_wait_seconds: float = 30.0,
    concurrency: int = 1,
    tracer: trace.Tracer | None = None,
) -> Subscription:
    """Subscribe ``handler`` to every event of the given services, one durable per stream.

    Durable push consumers: the server delivers as soon as an event is stored, and at most
    ``max_ack_pending`` unacknowledged events are in flight. (faststream's batch pull
    subscriber costs less per event, but it holds every batch until it fills or its wait runs
    out, and here it left some events unacknowledged until their ack wait passed: 30 s late.)
    Each event is acknowledged after its handler succeeded; a failed one is redelivered after
    a growing delay. With ``concurrency`` > 1 up to that many events are handled at once (see
    `Subscription`) — only for handlers whose result does not depend on the order of events.
    Each event is handled in a consumer span continuing its trace.
    """
    subscription = Subscription(handler, tracer or trace.get_tracer("ketenzicht.consumer"),
                                concurrency=max(1, concurrency))
    for service in services:
        stream = stream_for(service)
        subscriber = broker.subscriber(
            f"ketenzicht.{service}.>",
            stream=JStream(stream, declare=False),
            durable=f"{durable}-{service}",
            ack_policy=AckPolicy.MANUAL,
            decoder=_raw_message,
            config=ConsumerConfig(
                durable_name=f"{durable}-{service}",
                deliver_policy=DeliverPolicy.ALL,
                ack_policy=JsAckPolicy.EXPLICIT,
                max_deliver=max_deliver,
                ack_wait=ack_wait_seconds,
                max_ack_pending=max(1000, 4 * concurrency),
            ),
        )
        subscriber(subscription.offer)
        subscription.subscribers.append(subscriber)
    return subscription


class SqliteInbox:
    """Remembers which event ids a consumer has handled, so a redelivery changes nothing."""

    def __init__(self, path: str | Path) -> None:
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS inbox (event_id TEXT PRIMARY KEY, subject TEXT NOT NULL,"
            " occurred_on TEXT NOT NULL, body TEXT NOT NULL)"
        )
        self._lock = threading.Lock()

    def accept(self, event: ReceivedEvent) -> bool:
        """Record the event; False when it was handled before."""
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO inbox VALUES (?, ?, ?, ?)",
                (str(event.envelope.event_id), event.subject,
                 event.envelope.occurred_on.isoformat(), event.body.decode()),
            )
            return cursor.rowcount == 1

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM inbox").fetchone()[0])

    def subjects(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT subject FROM inbox ORDER BY rowid")]

    def close(self) -> None:
        self._db.close()
