"""Consuming the chain's events: durable JetStream consumers through faststream.

Every consumer is durable (it resumes where it left off after a restart), acknowledges only
after its handler succeeded, and a failed event is redelivered after a growing delay
(faststream's default would terminate a message whose handler raised). Handlers must be
idempotent: JetStream delivers at least once, so a handler keys what it records on the event
id. ``SqliteInbox`` is the simple way to do that for handlers that have no store of their own.
"""

from __future__ import annotations

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
from faststream.nats import JStream, NatsBroker, NatsMessage
from nats.js.api import AckPolicy as JsAckPolicy
from nats.js.api import ConsumerConfig, DeliverPolicy

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


def received(message: NatsMessage) -> ReceivedEvent:
    headers = {k: str(v) for k, v in (message.headers or {}).items()}
    raw = message.raw_message
    deliveries = 1
    metadata = getattr(raw, "metadata", None)
    if metadata is not None:
        deliveries = int(getattr(metadata, "num_delivered", 1) or 1)
    return ReceivedEvent(
        envelope=Envelope.from_headers(headers),
        subject=message.raw_message.subject,
        body=message.body,
        delivery_count=deliveries,
    )


def subscribe(
    broker: NatsBroker,
    *,
    durable: str,
    services: Iterable[str],
    handler: EventHandler,
    max_deliver: int = 50,
    ack_wait_seconds: float = 30.0,
    concurrency: int = 1,
) -> None:
    """Subscribe ``handler`` to every event of the given services, one durable per stream.

    Durable push consumers: the server delivers as soon as an event is stored (a pull
    consumer's batch fetch waits for its batch to fill or time out, which costs latency), and
    at most ``max_ack_pending`` unacknowledged events are in flight. With ``concurrency`` > 1
    several events are handled at once — only for handlers whose result does not depend on
    the order of events (then the command bus can store them in one transaction).
    """
    for service in services:
        stream = stream_for(service)

        async def on_message(body: Any, message: NatsMessage) -> None:
            try:
                event = received(message)
            except Exception:
                # Unreadable headers cannot be repaired by redelivery: terminate, loudly.
                log.exception("terminated an unreadable message on %s",
                              message.raw_message.subject)
                await message.reject()
                return
            try:
                await handler(event)
            except Exception:
                # Redelivered later, not at once, so a short outage does not use up
                # max_deliver in seconds.
                delay = min(30.0, 0.5 * 2 ** (event.delivery_count - 1))
                log.exception("%s %s failed (delivery %d); redelivery in %.1fs",
                              event.envelope.event_type, event.envelope.event_id,
                              event.delivery_count, delay)
                await message.nack(delay=delay)
                return
            await message.ack()

        options: dict[str, Any] = {"max_workers": concurrency} if concurrency > 1 else {}
        broker.subscriber(
            f"ketenzicht.{service}.>",
            stream=JStream(stream, declare=False),
            durable=f"{durable}-{service}",
            ack_policy=AckPolicy.MANUAL,
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
