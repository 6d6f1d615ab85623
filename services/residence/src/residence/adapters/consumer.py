"""Residence's inputs off the bus, and the clock that makes deadlines fire by themselves."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import date

from ketenzicht_common.clock import Clock
from ketenzicht_common.consumer import ReceivedEvent, event_broker, subscribe
from ketenzicht_common.nats_connection import connect
from ketenzicht_common.streams import dead_letter_stream, ensure_stream, service_stream
from residence.application.residence import ResidenceCommands

log = logging.getLogger(__name__)

UPSTREAM = ("intake", "investigation", "prosecution")


async def consume(commands: ResidenceCommands, nats_url: str, stop: asyncio.Event,
                  stream_replicas: int = 1) -> None:
    """Durable consumers on the upstream streams; each event applied once (command id = event
    id), acknowledged only after the transaction that applied it. An event that fails on
    every delivery ends up among the dead letters (`dead_letter_stream`)."""
    # The upstream streams may not exist yet (their services not started): create them as
    # their relays would, so that nothing published later is missed.
    nc = await connect(nats_url, name="residence-setup")
    try:
        js = nc.jetstream()
        for service in UPSTREAM:
            await ensure_stream(js, service_stream(service, stream_replicas))
        await ensure_stream(js, dead_letter_stream(stream_replicas))
    finally:
        await nc.close()

    async def handle(event: ReceivedEvent) -> None:
        await commands.note(event)

    broker = event_broker(nats_url)
    subscription = subscribe(broker, durable="residence", services=UPSTREAM, handler=handle,
                             concurrency=64)
    await broker.start()
    try:
        await stop.wait()
    finally:
        await subscription.close()
        await broker.stop()


async def run_deadlines(commands: ResidenceCommands, clock: Clock, stop: asyncio.Event,
                        tick_seconds: float) -> None:
    """At start, unless the schedule of a clean stop was restored, apply the rules to every
    victim; then, at once and at every tick, to the victims whose next deadline has come
    (deadlines that passed while the service was down fire now, once)."""
    if not commands.schedule_complete:
        today = clock.today()
        victims = await asyncio.to_thread(commands.app.victim_ids)
        await _reevaluate_all(commands, victims, today)
        commands.schedule_complete = True
        log.info("deadlines checked for %d victims as of %s", len(victims), today)
    while True:
        today = clock.today()
        due = [v for v, day in list(commands.deadlines.items()) if day <= today]
        await _reevaluate_all(commands, due, today)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(tick_seconds):  # not wait_for: see Relay._follow
                await stop.wait()
        if stop.is_set():
            return


async def _reevaluate_all(commands: ResidenceCommands, victims: list[str], today: date,
                          at_once: int = 64) -> None:
    # Several at a time, so that the bus stores them in shared transactions.
    for start in range(0, len(victims), at_once):
        await asyncio.gather(*(_reevaluate(commands, victim_id, today)
                               for victim_id in victims[start:start + at_once]))


async def _reevaluate(commands: ResidenceCommands, victim_id: str, today: date) -> None:
    # One victim's failure must not stop the deadlines of all the others.
    try:
        await commands.reevaluate(victim_id, today)
    except Exception:
        log.exception("re-evaluating victim %s as of %s failed; again at the next tick",
                      victim_id, today)
        commands.deadlines[victim_id] = today
