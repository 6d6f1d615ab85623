"""The monitor on the bus: durable consumers on every service stream, and the replay to rebuild.

- Durable consumers (``ketenzicht_common.consumer.subscribe``), one per service stream, named
  ``<durable>-<service>``. Each message becomes a `ChainFact` applied to the live projection;
  its acknowledgement waits until the fact is committed to the fact database (see
  `application.live`).
- A stream that does not exist yet is created with the shared stream configuration, so the
  monitor can start before the services whose events it reads, and miss nothing they publish
  later. An existing stream is never touched: its owner decides its configuration.
- When the monitor starts without any stored projection, its durable consumers are reset (deleted
  and created again) so that they deliver every stream from the start: a durable left over from
  an earlier life would otherwise resume after facts the monitor no longer holds.
- An event whose handling fails on every delivery ends up among the dead letters
  (``ketenzicht_common.streams.dead_letter_stream``), as does a message without an envelope.
- NATS may be down at start or later: the consumer retries, it never takes the process down.
- Every event is checked against the contracts before it is applied, live and in a replay
  (``ketenzicht_common.contract``): one that fails is refused (a dead letter) or skipped.
- `replay` reads each stream from its first message until as many as it held when the replay
  began have come, through an ephemeral ordered consumer (push, flow-controlled, nothing
  acknowledged), and hands each fact to a callback: no acknowledgement per message, and the
  callback only buffers (the live projection writes the facts in large chunks).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

import nats.js.errors
from faststream.nats import NatsBroker
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy

from ketenzicht_common.consumer import (
    ReceivedEvent,
    Subscription,
    Unprocessable,
    event_broker,
    subscribe,
)
from ketenzicht_common.contract import check_payload, check_route, contract_of
from ketenzicht_common.nats_connection import connect
from ketenzicht_common.streams import (
    STREAM_IN_USE,
    dead_letter_stream,
    ensure_stream,
    service_stream,
)
from ketenzicht_contracts.envelope import TYPE_PREFIX, Envelope, stream_for
from monitor.application.live import LiveProjection
from monitor.domain import ChainFact

log = logging.getLogger(__name__)

SERVICES: tuple[str, ...] = ("intake", "investigation", "prosecution", "residence")
"""The services whose streams the monitor reads."""

class UnreadableEvent(ValueError):
    """A message the monitor cannot read; retrying will not help, so it is skipped."""


def fact_of(envelope: Envelope, body: bytes) -> ChainFact:
    """The monitor's view of one event: the envelope's dates and ids, the payload's fields."""
    return _fact(str(envelope.event_id), envelope.service, envelope.event_type,
                 envelope.occurred_on, envelope.recorded_at, body)


def fact_from_message(message: Msg, stream: str) -> ChainFact:
    """The replay's reading of a message of ``stream``: only the envelope attributes a fact
    keeps, read straight from the headers. A whole `Envelope` (a pydantic model of sixteen
    fields) cost more per event than everything else the replay does with it. The rest of the
    live consumers' check applies as well (`ketenzicht_common.contract`): a rebuild applies
    nothing the live consumers would have refused."""
    headers = message.headers or {}
    try:
        ce_type = headers["ce-type"]
        service, _, event_type = ce_type.removeprefix(TYPE_PREFIX).partition(".")
        if not ce_type.startswith(TYPE_PREFIX) or not service or not event_type:
            raise ValueError("not a ketenzicht event type")
        event_id = str(UUID(headers["ce-id"]))  # the form the live path stores
        occurred_on = date.fromisoformat(headers["ce-occurredon"])
        recorded_at = datetime.fromisoformat(headers["ce-time"])
        # Not kept, but required of an envelope: what the live consumers refuse, so does this.
        UUID(headers["ce-subject"])
        version = int(headers["ce-schemaversion"])
        int(headers["ce-aggregateversion"])
    except (KeyError, ValueError):
        # The error's text may quote a header's value: the reason names the rule only.
        raise UnreadableEvent("no-envelope: a ce- header is missing or malformed") from None
    try:
        model = contract_of(service, event_type, version)
        check_route(model, stream, message.subject)
        check_payload(model, message.data, occurred_on)
    except Unprocessable as error:
        raise UnreadableEvent(str(error)) from None
    return _fact(event_id, service, event_type, occurred_on, recorded_at, message.data)


def _fact(event_id: str, service: str, event_type: str, occurred_on: date,
          recorded_at: datetime, body: bytes) -> ChainFact:
    try:
        payload = json.loads(body)
    except ValueError as error:
        raise UnreadableEvent(f"body is not JSON: {error}") from error
    if not isinstance(payload, dict):
        raise UnreadableEvent("body is not a JSON object")
    return ChainFact(event_id=event_id, service=service, event_type=event_type,
                     occurred_on=occurred_on, recorded_at=recorded_at, payload=payload)


async def create_missing_streams(js: JetStreamContext, services: Sequence[str],
                                 replicas: int = 1) -> None:
    for service in services:
        config = service_stream(service, replicas)
        assert config.name is not None
        try:
            await js.stream_info(config.name)
        except nats.js.errors.NotFoundError:
            try:
                await js.add_stream(config)
                log.info("created stream %s (its service has not published yet)", config.name)
            except nats.js.errors.BadRequestError as error:
                if error.err_code != STREAM_IN_USE:
                    raise


class ChainConsumer:
    """Feeds the live projection from the bus; also the replay source for a rebuild."""

    def __init__(
        self,
        nats_url: str,
        live: LiveProjection,
        *,
        services: Sequence[str] = SERVICES,
        durable: str = "monitor",
        reset_durables: bool = False,
        batch_size: int = 256,
        replay_idle_seconds: float = 5.0,
        stream_replicas: int = 1,
    ) -> None:
        self.nats_url = nats_url
        self.live = live
        self.services = tuple(services)
        self.durable = durable
        self.reset_durables = reset_durables
        self.batch_size = batch_size
        self.replay_idle_seconds = replay_idle_seconds
        self.stream_replicas = stream_replicas
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
                self._nc = await connect(self.nats_url, name="monitor")
                js = self._nc.jetstream(timeout=5)
                await create_missing_streams(js, self.services, self.stream_replicas)
                await ensure_stream(js, dead_letter_stream(self.stream_replicas))
                if self.reset_durables:
                    await self._reset_durables(js)
                    self.reset_durables = False
                broker = event_broker(self.nats_url, max_reconnect_attempts=-1,
                                      reconnect_time_wait=1, graceful_timeout=5.0)
                subscription = subscribe(broker, durable=self.durable, services=self.services,
                                         handler=self.handle, concurrency=self.batch_size)
                await broker.start()
                self.consuming = True
                log.info("consuming %s as %s", ", ".join(self.services), self.durable)
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

    async def _reset_durables(self, js: JetStreamContext) -> None:
        for service in self.services:
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await js.delete_consumer(stream_for(service), f"{self.durable}-{service}")
                log.info("reset durable %s-%s: no stored projection, reading from the start",
                         self.durable, service)

    async def replay(self, apply: Callable[[ChainFact], Any]) -> int:
        """Every fact of every stream, from the first message to the last one present now."""
        nc = self._nc
        if nc is None or not nc.is_connected:
            raise ConnectionError("not connected to NATS")
        js = nc.jetstream(timeout=5)
        total = 0
        for service in self.services:
            total += await self._replay_stream(js, service, apply)
        return total

    async def _replay_stream(self, js: JetStreamContext, service: str,
                             apply: Callable[[ChainFact], Any]) -> int:
        stream = stream_for(service)
        try:
            info = await js.stream_info(stream)
        except nats.js.errors.NotFoundError:
            return 0
        # The messages present now, all up to the stream's last sequence; the ordered consumer
        # delivers them first, in order. Once that many have come, every one still in the stream
        # has: if retention removed some meanwhile, newer ones make up the count, and the live
        # consumers write those to the fresh table as well.
        present = info.state.messages
        if not present:
            return 0
        done = asyncio.Event()
        count = received = 0

        async def on_message(message: Msg) -> None:
            nonlocal count, received
            received += 1
            try:
                apply(fact_from_message(message, stream))
                count += 1
            except UnreadableEvent as error:
                log.warning("replay skips a message of %s: %s", stream, error)
            if received >= present:
                done.set()

        subscription = await js.subscribe(
            f"ketenzicht.{service}.>", stream=stream, cb=on_message, ordered_consumer=True,
            deliver_policy=DeliverPolicy.ALL, pending_msgs_limit=max(self.batch_size * 64, 65536),
        )
        try:
            seen = -1
            # Progress, not a deadline: a large stream may take long, but a stream whose messages
            # were deleted meanwhile may never make up the count.
            while not done.is_set() and received != seen:
                seen = received
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.replay_idle_seconds):  # see Relay._follow
                        await done.wait()
        finally:
            await subscription.unsubscribe()
        log.info("replayed %d events of %s", count, stream)
        return count
