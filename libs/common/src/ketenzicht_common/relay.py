"""The relay: publishes a service's stored events to JetStream, in order, without loss.

The event store is the system of record. The relay follows its notification log and publishes
every public event with its event id as ``Nats-Msg-Id``. Its tracking position is the position
of the last event the stream holds (carried in the ``ce-position`` header), so the stream
itself says how far publishing got: after a crash, or a restart of nats-server, the relay
resumes right after it. An event stored but not yet acknowledged by JetStream is published
again, and JetStream drops the duplicate within its window.

Commands are accepted while NATS is down; the relay waits and catches up when it returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from eventsourcing.persistence import Notification
from nats.aio.client import Client
from nats.js import JetStreamContext

from ketenzicht_contracts.envelope import Envelope, stream_for
from ketenzicht_contracts.events import payload_model

from .domain import ChainAggregate, event_facts, event_id_of, parse_event_topic
from .nats_connection import connect
from .store import ChainApplication
from .streams import ensure_stream

log = logging.getLogger(__name__)


class StreamAheadOfStore(RuntimeError):
    """The stream's last event comes from a store other than this one."""


def to_message(app: ChainApplication, notification: Notification) -> tuple[str, bytes, Envelope]:
    """The subject, body and envelope of a stored event."""
    event = app.mapper.to_domain_event(notification)
    assert isinstance(event, ChainAggregate.Event)
    service, event_type, version = parse_event_topic(notification.topic)
    body = payload_model(service, event_type, version).model_validate(event_facts(event))
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
        traceparent=provenance.get("traceparent", ""),
        tracestate=provenance.get("tracestate", ""),
        position=notification.id,
        store=app.store_id(),
        message_id=app.message_id(event),
    )
    return app.subject_of(event), body.model_dump_json().encode(), envelope


class Relay:
    def __init__(
        self,
        app: ChainApplication,
        nats_url: str,
        *,
        batch_size: int = 500,
        poll_interval: float = 0.5,
        stream_replicas: int = 1,
    ) -> None:
        self.app = app
        self.service = app.service
        self.stream = stream_for(self.service)
        self.nats_url = nats_url
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.stream_replicas = stream_replicas
        self.topics: Sequence[str] = app.public_topics()
        self.position = 0
        """Notification id of the last event JetStream has acknowledged."""
        self._resumed = False
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._nc: Client | None = None

    def wake(self) -> None:
        """Called from any thread after events were stored."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        backoff = 0.1
        try:
            while True:
                try:
                    js = await self._jetstream()
                    if not self._resumed:
                        # Once, at start: the stream says how far publishing got. After a
                        # failure the relay resumes from its last fully acknowledged batch
                        # instead, because a message lost mid-batch may sit below the stream's
                        # last one; the re-sent tail is dropped by Nats-Msg-Id.
                        self.position = await self._published_position(js)
                        self._resumed = True
                    await self._follow(js)
                except asyncio.CancelledError:
                    raise
                except Exception as error:
                    log.warning("relay %s paused: %s", self.service, error)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 2.0)
                else:
                    backoff = 0.1
        finally:
            if self._nc is not None and not self._nc.is_closed:
                await self._nc.close()

    async def _jetstream(self) -> JetStreamContext:
        if self._nc is None or self._nc.is_closed:
            self._nc = await connect(self.nats_url, name=f"{self.service}-relay")
        js = self._nc.jetstream(timeout=5)
        for config in self.app.streams(self.stream_replicas):
            await ensure_stream(js, config)
        return js

    async def _published_position(self, js: JetStreamContext) -> int:
        info = await js.stream_info(self.stream)
        last = info.state.last_seq
        if not last or not info.state.messages:
            return 0
        message = await js.get_msg(self.stream, seq=last)
        headers = message.headers or {}
        position = int(headers.get("ce-position", "0"))
        stored = await asyncio.to_thread(self.app.max_notification_id)
        if headers.get("ce-store", "") != self.app.store_id() or position > stored:
            # The stream's last event comes from another store (or this one was reset):
            # publishing by position would silently skip events, so stop and say so.
            raise StreamAheadOfStore(
                f"stream {self.stream} ends with an event of another store (position "
                f"{position}); the {self.service} store holds {stored}. The stream belongs to "
                "another store: point the service at its own store or stream. Nothing is "
                "published until then."
            )
        return position

    async def _follow(self, js: JetStreamContext) -> None:
        while True:
            # Cleared before reading, so a wake-up during the read is not lost.
            self._wake.clear()
            notifications = await asyncio.to_thread(
                self.app.recorder.select_notifications,
                self.position + 1,
                self.batch_size,
                None,
                self.topics,
            )
            if not notifications:
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow the
                # cancellation that stops the relay (CPython gh-86296), and the service with it.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll_interval):
                        await self._wake.wait()
                continue
            acks = []
            for notification in notifications:
                subject, body, envelope = to_message(self.app, notification)
                acks.append(
                    await js.publish_async(subject, body, headers=envelope.to_headers())
                )
            # Every ack must arrive before the position moves: a failure re-reads the stream.
            async with asyncio.timeout(10):
                await asyncio.gather(*acks)
            self.position = notifications[-1].id
