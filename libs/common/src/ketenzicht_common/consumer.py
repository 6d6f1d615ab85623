"""Consuming the chain's events: durable JetStream consumers through faststream.

Every consumer is durable (it resumes where it left off after a restart), acknowledges only
after its handler succeeded, and a failed event is redelivered after a growing delay
(faststream's default would terminate a message whose handler raised). Handlers must be
idempotent: JetStream delivers at least once, so a handler keys what it records on the event
id. ``SqliteInbox`` is the simple way to do that for handlers that have no store of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import threading
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

from faststream import AckPolicy, Context
from faststream.nats import JStream, NatsBroker, PullSub
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
    delivery_count: int = 1

    @cached_property
    def data(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.body)
        return loaded

    def payload(self) -> EventPayload:
        model = payload_model(self.envelope.service, self.envelope.event_type,
                              self.envelope.version)
        return model.model_validate_json(self.body)


EventHandler = Callable[[ReceivedEvent], Awaitable[None]]


def received(message: Msg) -> ReceivedEvent:
    headers = {k: str(v) for k, v in (message.headers or {}).items()}
    deliveries = 1
    with contextlib.suppress(Exception):  # a message without JetStream metadata: first delivery
        deliveries = int(message.metadata.num_delivered or 1)
    return ReceivedEvent(
        envelope=Envelope.from_headers(headers),
        subject=message.subject,
        body=message.data,
        delivery_count=deliveries,
    )


def event_broker(nats_url: str, **options: Any) -> NatsBroker:
    """A faststream broker for the chain's consumers.

    faststream logs every message received and processed at INFO; at the chain's volumes that
    was a tenth of a consumer's time, so those lines go to DEBUG. Failures still log at ERROR.
    """
    return NatsBroker(nats_url, log_level=logging.DEBUG, **options)


def _bodies_unread(message: Any) -> None:
    # The handler reads each event from its raw message (headers and body); decoding every body
    # into the batch's body list as well would parse each JSON twice.
    return None


async def _handle_one(raw: Msg, handler: EventHandler, tracer: trace.Tracer) -> None:
    try:
        event = received(raw)
    except Exception:
        # Unreadable headers cannot be repaired by redelivery: terminate, loudly.
        log.exception("terminated an unreadable message on %s", raw.subject)
        await raw.term()
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
    except Exception:
        # Redelivered later, not at once, so a short outage does not use up max_deliver in
        # seconds.
        delay = min(30.0, 0.5 * 2 ** (event.delivery_count - 1))
        log.exception("%s %s failed (delivery %d); redelivery in %.1fs",
                      event.envelope.event_type, event.envelope.event_id,
                      event.delivery_count, delay)
        await raw.nak(delay=delay)
        return
    await raw.ack()


def subscribe(
    broker: NatsBroker,
    *,
    durable: str,
    services: Iterable[str],
    handler: EventHandler,
    max_deliver: int = 50,
    ack_wait_seconds: float = 30.0,
    concurrency: int = 1,
    batch_size: int = 256,
    max_wait_seconds: float = 0.01,
    tracer: trace.Tracer | None = None,
) -> None:
    """Subscribe ``handler`` to every event of the given services, one durable per stream.

    Durable pull consumers, read in batches (faststream's batch pull subscriber): up to
    ``batch_size`` events per fetch, and a fetch returns after at most ``max_wait_seconds``
    with what has arrived, so a lone event waits no longer than that. Per-message dispatch
    through faststream cost about a millisecond an event; per batch it is amortised.

    Each event is acknowledged on its own, after its handler succeeded; a failed one is
    redelivered after a growing delay. With ``concurrency`` > 1 the events of a batch are
    handled that many at a time (the command bus then stores them in one transaction) — only
    for handlers whose result does not depend on the order of events; otherwise one by one,
    in stream order. Each event is handled in a consumer span continuing its trace.
    """
    event_tracer = tracer or trace.get_tracer("ketenzicht.consumer")
    for service in services:
        stream = stream_for(service)

        async def on_batch(_: Any, message: Annotated[Any, Context("message")]) -> None:
            raws: list[Msg] = list(message.raw_message)
            if concurrency <= 1:
                for raw in raws:
                    await _handle_one(raw, handler, event_tracer)
                return
            for start in range(0, len(raws), concurrency):
                await asyncio.gather(*(_handle_one(raw, handler, event_tracer)
                                       for raw in raws[start:start + concurrency]))

        broker.subscriber(
            f"ketenzicht.{service}.>",
            stream=JStream(stream, declare=False),
            durable=f"{durable}-{service}",
            pull_sub=PullSub(batch_size=batch_size, timeout=max_wait_seconds, batch=True),
            ack_policy=AckPolicy.MANUAL,
            decoder=_bodies_unread,
            config=ConsumerConfig(
                durable_name=f"{durable}-{service}",
                deliver_policy=DeliverPolicy.ALL,
                ack_policy=JsAckPolicy.EXPLICIT,
                max_deliver=max_deliver,
                ack_wait=ack_wait_seconds,
                max_ack_pending=max(1000, 4 * batch_size),
            ),
        )(on_batch)


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
