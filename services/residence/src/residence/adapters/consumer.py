"""Residence's inputs off the bus, the watermark of its upstream streams, and the clock.

Three background tasks drive the application:

* `consume` — durable consumers on the upstream streams; each fact stored once (command id =
  event id) and acknowledged only after the transaction that stored it;
* `follow_upstreams` — observes how far residence has applied each upstream stream, which moves
  the settling watermark (see `application.settling`): every ``interval`` (0.1 s), and also at
  the moment the first unsettled victim can settle (`Settling.next_due`), then every
  ``confirm_interval`` (10 ms) until that moment's content is applied, for at most
  ``confirm_for`` (1 s) past it (an upstream that lags is health's to report, not a reason to
  poll the server a hundred times a second). Each round wakes the settling loop;
* `run_settling` — applies the rules to the victims that have settled, and hands the victims
  whose deadline has come (and, at start, every victim unless a clean stop's schedule was
  restored) to the same gate.

Observing at the due moment instead of on the cadence cut a trigger's delay past the grace
period, at 300 events/s, from a p99 of 264 ms to 56–126 ms (the bench's runs on a loaded
machine), with the same watermark (docs/adr/0029).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import nats
from nats.js import JetStreamContext

from ketenzicht_common.bus_access import Feed, feed, jetstream_for
from ketenzicht_common.clock import Clock
from ketenzicht_common.consumer import ReceivedEvent, event_broker, subscribe
from ketenzicht_common.nats_connection import connect
from ketenzicht_common.streams import dead_letter_stream, ensure_stream
from residence.application.residence import UPSTREAM, UPSTREAM_STREAMS, ResidenceCommands

log = logging.getLogger(__name__)

READER = "residence"
STREAM_NOT_FOUND = 10059
"""JetStream's error code for a stream that does not exist (a missing consumer is 10014)."""
SETTLE_AT_ONCE = 64


async def consume(
    commands: ResidenceCommands,
    nats_url: str,
    stop: asyncio.Event,
    seed_file: Path | None = None,
    stream_replicas: int = 1,
) -> None:
    """Residence's feeds on the upstream streams (`bus_access.FEEDS`): the upstream services'
    relays make those durable consumers, so an event published before residence first ran is
    delivered all the same. An event refused or failing on every delivery ends up among
    residence's dead letters, whose stream exists before the first delivery."""
    nc = await connect(nats_url, name="residence-setup", seed_file=seed_file)
    try:
        await ensure_stream(nc.jetstream(), dead_letter_stream(READER, stream_replicas))
    finally:
        await nc.close()

    async def handle(event: ReceivedEvent) -> None:
        await commands.note(event)

    broker = event_broker(nats_url, seed_file)
    subscription = subscribe(
        broker, reader=READER, services=UPSTREAM, handler=handle, concurrency=64
    )
    await broker.start()
    try:
        await stop.wait()
    finally:
        await subscription.close()
        await broker.stop()


async def follow_upstreams(
    commands: ResidenceCommands,
    nats_url: str,
    stop: asyncio.Event,
    seed_file: Path | None = None,
    interval: float = 0.1,
    monotonic: Callable[[], float] = time.monotonic,
    *,
    moved: asyncio.Event | None = None,
    confirm_interval: float = 0.01,
    confirm_for: float = 1.0,
) -> None:
    """Tell the settling gate how far each upstream stream is applied: the stream's last
    sequence against the sequence up to which residence's durable consumer has acknowledged
    everything (it acknowledges only what it stored). Every ``interval``, and sooner when a
    victim is due to settle (see the module docstring); ``moved`` is set after every round."""
    nc = await connect(nats_url, name="residence-watermark", seed_file=seed_file)
    try:
        readings = [feed(READER, stream) for stream in UPSTREAM_STREAMS]

        async def observe(reading: Feed) -> None:
            at = monotonic()
            observed = await _observe(
                jetstream_for(nc, READER, reading.stream), reading.stream, reading.durable
            )
            if observed is not None:
                commands.settling.observed(
                    reading.stream, at=at, last_sequence=observed[0], applied=observed[1]
                )

        every_stream_at = monotonic()
        while not stop.is_set():
            now = monotonic()
            due = commands.settling.next_due()
            if now >= every_stream_at or due is None or due > now:
                looked_at = readings
                every_stream_at = now + interval
            else:
                # A victim is due: only the streams whose content at its due moment is not
                # yet known to be applied (at 300 events/s on one stream, a third of the calls).
                looked_at = [r for r in readings if not commands.settling.covers(r.stream, due)]
            # The streams at once: each observation keeps its own moment.
            await asyncio.gather(*(observe(reading) for reading in looked_at))
            if moved is not None:
                moved.set()
            wait = _next_look(commands, monotonic(), interval, confirm_interval, confirm_for)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):  # not wait_for: see Relay._follow
                    await stop.wait()
    finally:
        await nc.close()


def _next_look(
    commands: ResidenceCommands,
    now: float,
    interval: float,
    confirm_interval: float,
    confirm_for: float,
) -> float:
    """How long until the next observation: the cadence, or the moment the first unsettled
    victim can settle, or (once that moment has passed and it still waits for the
    watermark) the short confirming interval."""
    due = commands.settling.next_due()
    if due is None:
        return interval
    if due > now:
        return min(interval, due - now)
    if now - due <= confirm_for and not all(
        commands.settling.covers(stream, due) for stream in UPSTREAM_STREAMS
    ):
        return confirm_interval
    return min(interval, confirm_interval * 2)  # covered: the settling loop takes it now


async def _observe(js: JetStreamContext, stream: str, durable: str) -> tuple[int, int] | None:
    """(last sequence of the stream, sequence up to which the consumer acknowledged all), or
    None while that cannot be known.

    A stream that does not exist yet (its owner has not started) holds nothing residence
    could wait for: (0, 0). Its owner makes residence's consumer before it publishes, and the
    consumer delivers from the stream's start. A stream without residence's consumer may hold
    anything: unknown, so triggers wait (and health says which stream holds them back)."""
    try:
        info = await js.consumer_info(stream, durable)
    except nats.js.errors.NotFoundError as error:
        return (0, 0) if error.err_code == STREAM_NOT_FOUND else None
    except (nats.errors.NoRespondersError, nats.errors.TimeoutError, TimeoutError):
        return None
    delivered = info.delivered.stream_seq if info.delivered else 0
    last = (delivered or 0) + (info.num_pending or 0)
    if not info.num_pending and not info.num_ack_pending:
        # Everything delivered is settled: acknowledged, refused, or given up on after its
        # last delivery (a dead letter, which JetStream's ack floor never passes).
        return last, last
    applied = info.ack_floor.stream_seq if info.ack_floor else 0
    return last, applied or 0


async def run_settling(
    commands: ResidenceCommands,
    clock: Clock,
    stop: asyncio.Event,
    tick_seconds: float,
    interval: float = 0.05,
    monotonic: Callable[[], float] = time.monotonic,
    *,
    moved: asyncio.Event | None = None,
) -> None:
    """At start, unless the schedule of a clean stop was restored, every victim is changed;
    then, continually: victims whose deadline has come (checked every ``tick_seconds``) are
    changed, and every victim that has settled gets the rules applied and its feed sent. It
    looks again as soon as the watermark may have moved (``moved``, set by
    `follow_upstreams`), and at least every ``interval``."""
    if not commands.schedule.complete:
        victims = await asyncio.to_thread(commands.all_victims)
        commands.settling.changed(victims, monotonic())
        commands.schedule.complete = True
        log.info("the rules are applied to all %d victims once upstream has settled", len(victims))
    next_tick = monotonic()
    while not stop.is_set():
        if moved is not None:
            moved.clear()  # before looking: a move from now on wakes the wait below
        today = clock.today()
        if monotonic() >= next_tick:
            commands.settling.changed(commands.schedule.take_due(today), monotonic())
            next_tick = monotonic() + tick_seconds
        ready, covered = commands.settling.ready(limit=SETTLE_AT_ONCE)
        if ready:
            await _settle(commands, ready, covered, today)
            continue
        waits = [asyncio.ensure_future(stop.wait())]
        if moved is not None:
            waits.append(asyncio.ensure_future(moved.wait()))
        try:
            await asyncio.wait(waits, timeout=interval, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()


async def _settle(
    commands: ResidenceCommands, victims: list[str], covered: float, today: date
) -> None:
    try:
        deadlines = await commands.settle(victims, today)
    except Exception:
        # One victim's failure must not stop the others: they are tried again one by one.
        log.exception("settling %d victims failed; each is tried again", len(victims))
        for victim_id in victims:
            try:
                commands.schedule.set(await commands.settle([victim_id], today))
                commands.settling.settled([victim_id], covered)
            except Exception:
                log.exception("settling victim %s failed; again at the next tick", victim_id)
                commands.schedule.due_again([victim_id], today)
                commands.settling.settled([victim_id], covered)
        return
    commands.schedule.set(deadlines)
    commands.settling.settled(victims, covered)


def feed_health(
    commands: ResidenceCommands, monotonic: Callable[[], float] = time.monotonic
) -> dict[str, str]:
    """Named health sub-services and why each is not serving ("" when it is): the feed as a
    whole, and each upstream stream that holds triggers back."""
    lagging = commands.settling.holding_back(monotonic())
    status = {f"residence.upstream.{stream}": "" for stream in UPSTREAM_STREAMS}
    for lag in lagging:
        status[f"residence.upstream.{lag.stream}"] = (
            f"{lag.stream} not applied for {lag.seconds:.0f} s ({lag.behind} events behind): "
            "triggers wait for it"
        )
    status["residence.feed"] = "; ".join(r for r in status.values() if r)
    return status
