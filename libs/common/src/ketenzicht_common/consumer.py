"""Consuming the chain's events: durable JetStream consumers through faststream
(docs/adr/0004, 0008, 0010).

A party reads another's stream through a feed (`bus_access.FEEDS`, docs/adr/0019): a durable
push consumer the stream's owner made, whose delivery subject the owner exports to that reader
alone. Every consumer is durable (it resumes where it left off after a restart), acknowledges only
after its handler succeeded, and a failed event is redelivered after a growing delay
(faststream's default would terminate a message whose handler raised). Handlers must be
idempotent: JetStream delivers at least once, so a handler keys what it records on the event
id (``testing.inbox.SqliteInbox`` does it for the tests' handlers, which have no store).

Nothing reaches a handler unchecked: every message passes `contract.check_message` first (a
readable envelope of either version — in the body, or in the ``ce-*`` headers of an older
message — whose source is the service its type names, a type that service publishes, read from
its stream on the subject it publishes that type on, a payload that validates against the
contract). A handler reads the payload (``ReceivedEvent.body``, ``data``), never the envelope's
wire form. A message that fails is
refused as `Unprocessable`. An event is given up on, and becomes a dead letter
(``streams.dead_letter_stream``), when its handler has failed on every one of ``max_deliver``
deliveries, or when it is refused (by the check or by the handler raising `Unprocessable`): it
breaks its contract, and no redelivery can repair that. A refused message is terminated with
its reason (``+TERM <reason>``), so the dead letter says why; neither the reason nor any log
line carries the message's content (see `contract`).

A dead letter can be handed back to its consumer: every subscription also listens on
``ketenzicht.replay.<consumer>`` (core NATS, request-reply), reads the event named there from
its own stream, checks and handles it like any delivery, and answers with the outcome
(``dead_letters replay`` sends those requests).

Health: a subscription knows which events keep failing, and `consumer_health` names a consumer
that has failed on the same event for longer than a while (``service.serve`` reports it).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import nats.js.errors
import orjson
from faststream import AckPolicy
from faststream.nats import NatsBroker
from faststream.nats.security import NatsNKey
from nats.aio.msg import Msg
from opentelemetry import propagate, trace

from ketenzicht_contracts.envelope import Envelope, stream_for
from ketenzicht_contracts.events import EventPayload, payload_model

from . import telemetry
from .bus_access import MAX_DELIVER, feed, jetstream_for
from .contract import Unprocessable, check_message, label
from .nats_connection import servers

log = logging.getLogger(__name__)

__all__ = [
    "EventHandler",
    "ReceivedEvent",
    "Subscription",
    "Unprocessable",
    "checked",
    "consumer_health",
    "event_broker",
    "replay_subject",
    "subscribe",
]


@dataclass(frozen=True)
class ReceivedEvent:
    envelope: Envelope
    subject: str
    body: bytes
    """The payload's JSON: the ``data`` of a version-2 envelope, the body of a version-1 one."""
    stream: str = ""
    checked_payload: EventPayload | None = field(default=None, compare=False)
    """The body as the contract check validated it (None for an event built by hand)."""

    @cached_property
    def data(self) -> dict[str, Any]:
        loaded: dict[str, Any] = orjson.loads(self.body)
        return loaded

    def payload(self) -> EventPayload:
        if self.checked_payload is not None:
            return self.checked_payload
        model = payload_model(
            self.envelope.service, self.envelope.event_type, self.envelope.version
        )
        return model.model_validate_json(self.body)


EventHandler = Callable[[ReceivedEvent], Awaitable[None]]


def checked(
    stream: str | None, subject: str, headers: Mapping[str, str] | None, body: bytes
) -> ReceivedEvent:
    """A message as an event a handler may apply, or `Unprocessable` (see
    `contract.check_message`)."""
    envelope, payload, data = check_message(stream, subject, headers, body)
    return ReceivedEvent(
        envelope=envelope, subject=subject, body=data, stream=stream or "", checked_payload=payload
    )


def replay_subject(consumer: str) -> str:
    """Where a consumer (``<durable>-<service>``) takes requests to apply a dead letter again.
    Core NATS, outside every stream: a request on a stream's subject would be answered by the
    stream's publish acknowledgement instead of the consumer."""
    return f"ketenzicht.replay.{consumer}"


def delivery_count(message: Msg) -> int:
    """How often JetStream has delivered this message (1 for a message without its metadata).

    Read only when a handler failed: parsing the reply subject for every message cost more
    than the handler's own bookkeeping."""
    with contextlib.suppress(Exception):
        return int(message.metadata.num_delivered or 1)
    return 1


def event_broker(nats_url: str, seed_file: Path | None = None, **options: Any) -> NatsBroker:
    """A faststream broker for the chain's consumers.

    faststream logs every message received and processed at INFO; at the chain's volumes that
    was a tenth of a consumer's time, so those lines go to DEBUG, below its logger's INFO: they
    are never written. That matters beyond speed: they carry the subject and the start of the
    ``Nats-Msg-Id``, both chosen by whoever published. faststream's own ERROR lines come from a
    handler that raised, and the handler it calls (`Subscription.offer`) only queues.

    ``seed_file``: the nkey seed of the identity the broker connects as (`bus_access`).
    """
    if seed_file is not None:
        options["security"] = NatsNKey.from_file(seed_file)
    # Several servers (a cluster's nodes, comma-separated) are a list to faststream.
    return NatsBroker(servers(nats_url), log_level=logging.DEBUG, **options)


async def _raw_message(message: Any) -> Msg:
    # The handler reads the event from the raw message (headers and body): decoding the body
    # here as well would parse each JSON twice. A coroutine, because faststream runs a plain
    # function decoder in a worker thread: a thread hand-off per message.
    raw: Msg = message.raw_message
    return raw


async def _delivery(message: Any) -> Msg:
    # A JetStream delivery on a core subscription: faststream's core parser marks every
    # message acknowledged (core NATS has no acknowledgement), but this one carries its
    # consumer's acknowledgement subject and is acknowledged once handled (`_handle_one`).
    raw = await _raw_message(message)
    raw._ackd = False
    return raw


async def _apply(event: ReceivedEvent, handler: EventHandler, tracer: trace.Tracer) -> None:
    # One consumer span per event, a child of the span that stored it (its traceparent
    # attribute, checked): a batch must not cut the trace from the police system's call onwards.
    # Nothing of it when no span is recorded (`telemetry.span`).
    if not telemetry.recording(tracer):
        await handler(event)
        return
    carrier = {"traceparent": event.envelope.traceparent} if event.envelope.traceparent else {}
    with tracer.start_as_current_span(
        f"{event.subject} process",
        context=propagate.extract(carrier),
        kind=trace.SpanKind.CONSUMER,
        attributes={
            "messaging.system": "nats",
            "messaging.destination.name": event.subject,
            "messaging.message.id": str(event.envelope.event_id),
        },
    ):
        await handler(event)


async def _terminate(raw: Msg, reason: str) -> None:
    """Terminate with the reason, which JetStream puts into its advisory: the dead letter then
    says why. (nats-py's ``Msg.term()`` sends no reason.)"""
    if not raw.reply:
        return
    await raw._client.publish(raw.reply, b"+TERM " + reason.encode()[:1024])
    raw._ackd = True


def _position(raw: Msg, stream: str) -> str:
    """Where a message sits, for a log line: its stream and sequence, never its subject (the
    publisher chose that)."""
    with contextlib.suppress(Exception):
        return f"{stream} #{raw.metadata.sequence.stream}"
    return stream


async def _handle_one(
    raw: Msg, stream: str, handler: EventHandler, tracer: trace.Tracer, failures: _Failures
) -> None:
    try:
        event = checked(stream, raw.subject, raw.headers, raw.data)
    except Unprocessable as error:
        # No redelivery repairs it: terminated at once, kept as a dead letter.
        log.error("refused a message (%s): %s", _position(raw, stream), error)
        await _settle(_terminate(raw, str(error)))
        return
    except Exception as error:
        # The check reads nothing but the message, so a failure of its own is as certain to
        # come again as a refusal: the message is a dead letter, not a consumer stopped on it.
        # Only the error's type is named: its text may repeat a value from the message.
        reason = f"unreadable: the check failed ({type(error).__name__})"
        log.error("refused a message (%s): %s", _position(raw, stream), reason)
        await _settle(_terminate(raw, reason))
        return
    try:
        await _apply(event, handler, tracer)
    except Unprocessable as error:
        failures.done(stream, event)
        log.error("refused %s (%s): %s", label(event.envelope), _position(raw, stream), error)
        await _settle(_terminate(raw, str(error)))
        return
    except Exception as error:
        # Redelivered later, not at once, so a short outage does not use up max_deliver in
        # seconds.
        deliveries = delivery_count(raw)
        delay = min(30.0, 0.5 * 2 ** (deliveries - 1))
        failures.failed(stream, event, deliveries, error)
        log.exception(
            "%s failed (delivery %d); redelivery in %.1fs", label(event.envelope), deliveries, delay
        )
        await _settle(raw.nak(delay=delay))
        return
    failures.done(stream, event)
    await _settle(raw.ack())


@dataclass
class _Failure:
    since: float
    deliveries: int
    event: str
    error: str


@dataclass
class _Failures:
    """The events of a subscription that failed and come again: a consumer stuck on one of
    them makes no progress, which health reports (`Subscription.stalled`)."""

    max_deliver: int
    monotonic: Callable[[], float] = time.monotonic
    failing: dict[tuple[str, str], _Failure] = field(default_factory=dict)

    def failed(
        self, stream: str, event: ReceivedEvent, deliveries: int, error: BaseException
    ) -> None:
        key = (stream, str(event.envelope.event_id))
        if deliveries >= self.max_deliver:
            # The server gives up on it now: a dead letter, no longer in the consumer's way.
            self.failing.pop(key, None)
            return
        known = self.failing.get(key)
        self.failing[key] = _Failure(
            known.since if known else self.monotonic(),
            deliveries,
            label(event.envelope),
            type(error).__name__,
        )

    def done(self, stream: str, event: ReceivedEvent) -> None:
        if self.failing:
            self.failing.pop((stream, str(event.envelope.event_id)), None)


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

    def __init__(
        self,
        handler: EventHandler,
        tracer: trace.Tracer,
        concurrency: int,
        close_timeout: float = 10.0,
        max_deliver: int = 50,
        consumers: Mapping[str, str] | None = None,
        reader: str = "",
    ) -> None:
        self._handler = handler
        self._tracer = tracer
        self._slots = asyncio.Semaphore(concurrency)
        self._close_timeout = close_timeout
        self._waiting: deque[tuple[str, Msg]] = deque()
        self._running: set[asyncio.Task[None]] = set()
        self._dispatching: asyncio.Task[None] | None = None
        self._closed = False
        self._failures = _Failures(max_deliver)
        self.reader = reader
        """The party this subscription reads as (its feeds, `bus_access.FEEDS`)."""
        self.consumers: dict[str, str] = dict(consumers or {})
        """The durable consumer of each stream this subscription reads, by stream."""
        self.broker: NatsBroker | None = None
        """The broker whose connection replays read the streams over."""
        self.subscribers: list[Any] = []
        """faststream's subscribers feeding this one, stopped first when it closes."""

    async def offer(self, stream: str, message: Any) -> None:
        """faststream's handler for one stream's consumer: queue the message, start
        dispatching if nothing is. The stream is the one the durable consumer was created on,
        the only one JetStream delivers it from (cheaper than parsing each reply subject)."""
        if self._closed:
            # Not at once: were this subscription still receiving, it would come straight back.
            await _settle(message.nak(delay=1.0))
            return
        self._waiting.append((stream, message))
        if self._dispatching is None:
            # A fresh context: the task outlives the faststream message scope it starts in.
            self._dispatching = asyncio.get_running_loop().create_task(
                self._dispatch(), context=contextvars.Context()
            )

    async def _dispatch(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._waiting and not self._closed:
                await self._slots.acquire()
                if not self._waiting or self._closed:
                    self._slots.release()
                    break
                stream, raw = self._waiting.popleft()
                task = loop.create_task(
                    _handle_one(raw, stream, self._handler, self._tracer, self._failures)
                )
                self._running.add(task)
                task.add_done_callback(self._finished)
        finally:
            self._dispatching = None

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._slots.release()
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "an event's handling failed unexpectedly; it will come again",
                exc_info=task.exception(),
            )

    def stalled(self, after: float) -> dict[str, str]:
        """Each consumer of this subscription, and why it makes no progress ("" when it does):
        it has failed on the same event, again and again, for more than ``after`` seconds."""
        status = dict.fromkeys(self.consumers.values(), "")
        now = self._failures.monotonic()
        for (stream, _), failure in list(self._failures.failing.items()):
            consumer = self.consumers.get(stream, stream)
            if now - failure.since > after and not status.get(consumer):
                status[consumer] = (
                    f"{failure.event} has failed on {failure.deliveries} deliveries for "
                    f"{now - failure.since:.0f} s ({failure.error}); it comes again until it "
                    "is applied or becomes a dead letter"
                )
        return status

    async def replay(self, stream: str, request: Any) -> None:
        """A request to apply one event of ``stream`` again (a dead letter): read from the
        stream itself, checked and handled as any delivery, answered with the outcome."""
        raw: Msg = request
        try:
            sequence = int(json.loads(raw.data)["sequence"])
        except (ValueError, KeyError, TypeError):
            await _answer(raw, "refused", "the request names no stream sequence")
            return
        try:
            if self.broker is None:
                raise RuntimeError("not started")
            js = jetstream_for(self.broker.connection, self.reader, stream)
            stored = await js.get_msg(stream, sequence)
        except nats.js.errors.NotFoundError:
            await _answer(raw, "missing", f"{stream} #{sequence} is no longer in its stream")
            return
        except Exception as error:
            await _answer(raw, "failed", f"reading {stream} #{sequence}: {type(error).__name__}")
            return
        try:
            event = checked(stream, stored.subject or "", stored.headers, stored.data or b"")
            await _apply(event, self._handler, self._tracer)
        except Unprocessable as error:
            log.error("replay of %s #%d refused: %s", stream, sequence, error)
            await _answer(raw, "refused", str(error))
            return
        except Exception as error:
            log.exception("replay of %s #%d failed", stream, sequence)
            await _answer(raw, "failed", type(error).__name__)
            return
        log.info("replayed %s (%s #%d)", label(event.envelope), stream, sequence)
        await _answer(raw, "applied", "")

    async def close(self) -> None:
        """Stop receiving, let the events in hand finish (they are acknowledged) for up to
        ``close_timeout`` seconds, and hand the waiting ones back to the server, so the next
        run gets them at once rather than after their ack wait. Call before the broker stops.

        Messages nats-py had received but not yet passed on when receiving stopped are not
        seen here: they come again after their ack wait."""
        _OPEN.discard(self)
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
                for _, message in waiting:
                    await _settle(message.nak())


_OPEN: weakref.WeakSet[Subscription] = weakref.WeakSet()
"""The subscriptions of this process that are not closed, for `consumer_health`."""


def consumer_health(after: float) -> dict[str, str]:
    """Every open consumer of this process and why it makes no progress ("" when it does)."""
    status: dict[str, str] = {}
    for subscription in list(_OPEN):
        for consumer, reason in subscription.stalled(after).items():
            status[consumer] = status.get(consumer) or reason
    return status


async def _answer(request: Msg, outcome: str, reason: str) -> None:
    with contextlib.suppress(Exception):
        await request.respond(json.dumps({"outcome": outcome, "reason": reason}).encode())


async def _settle(outcome: Awaitable[None]) -> None:
    # An acknowledgement that cannot reach the server (the connection is closing) only means
    # the event comes again: every handler is idempotent.
    try:
        await outcome
    except Exception as error:
        # The type only: nats-py's errors quote the whole message, body included.
        log.warning("could not settle a message (it will come again): %s", type(error).__name__)


def subscribe(
    broker: NatsBroker,
    *,
    reader: str,
    services: Iterable[str],
    handler: EventHandler,
    concurrency: int = 1,
    max_deliver: int = MAX_DELIVER,
    tracer: trace.Tracer | None = None,
    replica: int = 1,
) -> Subscription:
    """Subscribe ``handler`` to every event of the given services, through the durable
    consumer each service's relay made for ``reader`` (`bus_access.FEEDS`).

    Durable push consumers: the server delivers as soon as an event is stored, and at most
    ``max_ack_pending`` unacknowledged events are in flight (docs/adr/0004). The consumer lives in
    its owner's account; this side only subscribes to its delivery subject and acknowledges, so it
    never creates or configures a consumer on another's stream. Each event is acknowledged after its
    handler succeeded; a failed one is redelivered after a growing delay. With ``concurrency`` > 1
    up to that many events are handled at once (see `Subscription`) — only for handlers whose result
    does not depend on the order of events. Each event is handled in a consumer span continuing its
    trace.
    ``replica``: which replica of ``reader`` this is (the monitor's run several, each through
    feeds of its own, `bus_access.all_feeds`).
    ``max_deliver`` is the consumers' (as their owner made them): after that many failed
    deliveries an event is a dead letter, and no longer holds its consumer up.
    """
    readings = [feed(reader, stream_for(service), replica) for service in services]
    subscription = Subscription(
        handler,
        tracer or trace.get_tracer("ketenzicht.consumer"),
        concurrency=max(1, concurrency),
        max_deliver=max_deliver,
        consumers={reading.stream: reading.durable for reading in readings},
        reader=reader,
    )
    subscription.broker = broker
    for reading in readings:
        # A core subscription on the consumer's delivery subject, acknowledged by hand: the
        # messages carry their JetStream acknowledgement subject (imported from the owner).
        subscriber = broker.subscriber(
            reading.deliver_subject, ack_policy=AckPolicy.MANUAL, no_reply=True, decoder=_delivery
        )
        subscriber(_for_stream(subscription.offer, reading.stream))
        subscription.subscribers.append(subscriber)
        # Requests to apply a dead letter again; a queue group, so that one instance of the
        # consumer answers.
        replays = broker.subscriber(
            replay_subject(reading.durable),
            queue=reading.durable,
            no_reply=True,
            decoder=_raw_message,
        )
        replays(_for_stream(subscription.replay, reading.stream))
        subscription.subscribers.append(replays)
    _OPEN.add(subscription)
    return subscription


def _for_stream(
    handle: Callable[[str, Any], Awaitable[None]], stream: str
) -> Callable[[Any], Awaitable[None]]:
    # A plain coroutine function of one argument, as faststream's dependency injection wants
    # its handlers (it inspects the signature; a functools.partial has no globals to resolve).
    async def handler(message: Any) -> None:
        await handle(stream, message)

    return handler
