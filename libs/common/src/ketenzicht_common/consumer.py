"""Consuming the chain's events: durable JetStream consumers through faststream.

Every consumer is durable (it resumes where it left off after a restart), acknowledges only
after its handler succeeded, and a failed event is redelivered after a growing delay
(faststream's default would terminate a message whose handler raised). Handlers must be
idempotent: JetStream delivers at least once, so a handler keys what it records on the event
id. ``SqliteInbox`` is the simple way to do that for handlers that have no store of their own.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
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
    tracer: trace.Tracer | None = None,
) -> None:
    """Subscribe ``handler`` to every event of the given services, one durable per stream.

    Durable push consumers: the server delivers as soon as an event is stored, and at most
    ``max_ack_pending`` unacknowledged events are in flight. (faststream's batch pull
    subscriber costs less per event, but it holds every batch until it fills or its wait runs
    out, and here it left some events unacknowledged until their ack wait passed: 30 s late.)
    Each event is acknowledged after its handler succeeded; a failed one is redelivered after
    a growing delay. With ``concurrency`` > 1 several events are handled at once — only for
    handlers whose result does not depend on the order of events (then the command bus can
    store them in one transaction). Each event is handled in a consumer span continuing its
    trace.
    """
    event_tracer = tracer or trace.get_tracer("ketenzicht.consumer")
    for service in services:
        stream = stream_for(service)

        async def on_message(raw: Any) -> None:
            await _handle_one(raw, handler, event_tracer)

        options: dict[str, Any] = {"max_workers": concurrency} if concurrency > 1 else {}
        broker.subscriber(
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
            **options,
        )(on_message)


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
