"""The shared consumer hands the events that arrive together to its handler at once: what a
downstream service sees.

A burst is handled together (so one transaction can store it), a failing event comes again
while the rest of its batch is acknowledged once, and a consumer that is closed hands the
events it had not started back to the server, so the next run gets them at once instead of
after their ack wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

import nats
import pytest

from ketenzicht_common.bus_access import MAX_DELIVER, provision_feeds
from ketenzicht_common.consumer import (
    EventHandler,
    ReceivedEvent,
    Subscription,
    consumer_health,
    event_broker,
    subscribe,
)
from ketenzicht_common.processes import NatsServer
from ketenzicht_common.streams import ensure_stream, service_stream
from ketenzicht_contracts.envelope import Envelope
from ketenzicht_contracts.events.categories import (
    ExploitationForm,
    NationalityGroup,
    PoliceRegion,
    ResidencePosition,
    SourceOrganisation,
)
from ketenzicht_contracts.events.intake import SignalRegistered

pytestmark = pytest.mark.integration

STREAM = "KETENZICHT_INTAKE"
READER = "residence"
DURABLE = "residence-intake"


async def publish_events(bus: NatsServer, count: int, max_deliver: int = MAX_DELIVER) -> list[str]:
    """``count`` events on the intake stream, published the relay's way (as intake, its
    readers' consumers made first, giving up on an event after ``max_deliver``); their
    ids."""
    nc = await nats.connect(**bus.login("intake"))
    try:
        js = nc.jetstream()
        await ensure_stream(js, service_stream("intake"))
        await provision_feeds(js, "intake", max_deliver)
        ids = []
        for n in range(count):
            envelope = Envelope(
                event_id=uuid.uuid4(),
                service="intake",
                event_type="SignalRegistered",
                version=1,
                occurred_on=date(2024, 3, 1),
                recorded_at=datetime.now(UTC),
                aggregate_id=uuid.uuid4(),
                aggregate_version=1,
                organisation="politie",
                system="police-registration",
                position=n + 1,
            )
            body = SignalRegistered(
                occurred_on=date(2024, 3, 1),
                victim_id=f"victim-{n}",
                signal_id=f"signal-{n}",
                source_organisation=SourceOrganisation.POLICE,
                form=ExploitationForm.LABOUR,
                minor=False,
                nationality_group=NationalityGroup.OTHER_EU,
                residence_position=ResidencePosition.LAWFUL,
                region=PoliceRegion.LIMBURG,
            )
            headers, message = envelope.to_message(body)
            await js.publish("ketenzicht.intake.SignalRegistered", message, headers=headers)
            ids.append(str(envelope.event_id))
        return ids
    finally:
        await nc.close()


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


@contextlib.asynccontextmanager
async def consuming(
    bus: NatsServer, handler: EventHandler, **options: Any
) -> AsyncIterator[Subscription]:
    """Residence's durable consumer on the intake stream, closed as the services close
    theirs."""
    broker = event_broker(bus.url, bus.seed(READER))
    subscription = subscribe(broker, reader=READER, services=["intake"], handler=handler, **options)
    await broker.start()
    try:
        yield subscription
    finally:
        await subscription.close()
        await broker.stop()


async def unacknowledged(bus: NatsServer) -> int:
    nc = await nats.connect(**bus.login("intake"))  # the consumer lives in intake's account
    try:
        info = await nc.jetstream().consumer_info(STREAM, DURABLE)
        return int(info.num_ack_pending or 0) + int(info.num_pending or 0)
    finally:
        await nc.close()


async def test_a_burst_is_handled_together_and_a_failed_event_comes_again_alone(
    nats_server: NatsServer,
) -> None:
    ids = await publish_events(nats_server, 300)
    failing = ids[123]
    seen: Counter[str] = Counter()
    handled: set[str] = set()
    in_flight = most_in_flight = 0

    async def handle(event: ReceivedEvent) -> None:
        nonlocal in_flight, most_in_flight
        event_id = str(event.envelope.event_id)
        seen[event_id] += 1
        in_flight += 1
        most_in_flight = max(most_in_flight, in_flight)
        try:
            await asyncio.sleep(0.001)  # a store's commit: the rest of the batch runs meanwhile
            if event_id == failing and seen[event_id] == 1:
                raise RuntimeError("the store is briefly unavailable")
            handled.add(event_id)
        finally:
            in_flight -= 1

    async def all_handled() -> bool:
        return len(handled) == len(ids)

    async def all_acknowledged() -> bool:
        return await unacknowledged(nats_server) == 0

    async with consuming(nats_server, handle, concurrency=64):
        assert await eventually(all_handled), f"{len(handled)} of {len(ids)} handled"
        assert await eventually(all_acknowledged)

    assert seen[failing] == 2, "the failed event is redelivered"
    assert all(seen[event_id] == 1 for event_id in ids if event_id != failing), (
        "the rest of its batch is acknowledged once, not redelivered with it"
    )
    assert 1 < most_in_flight <= 64, "events that arrive together are handled together"


async def test_closing_hands_back_the_events_not_yet_started(nats_server: NatsServer) -> None:
    ids = await publish_events(nats_server, 5)
    release = asyncio.Event()
    first_run: list[str] = []

    async def slow(event: ReceivedEvent) -> None:
        first_run.append(str(event.envelope.event_id))
        await release.wait()

    # The consumer's ack wait (bus_access.ACK_WAIT_SECONDS) is longer than this test waits: an
    # event that is not handed back would not come again within it.
    broker = event_broker(nats_server.url, nats_server.seed(READER))
    subscription = subscribe(broker, reader=READER, services=["intake"], handler=slow)
    await broker.start()

    async def all_delivered() -> bool:
        nc = await nats.connect(**nats_server.login("intake"))
        try:
            info = await nc.jetstream().consumer_info(STREAM, DURABLE)
            return bool(info.num_ack_pending == len(ids))
        finally:
            await nc.close()

    assert await eventually(all_delivered)
    assert first_run == ids[:1], "one at a time: the others wait in the consumer"

    closing = asyncio.create_task(subscription.close())
    await asyncio.sleep(0.1)
    assert not closing.done(), "close waits for the event in hand"
    release.set()
    await closing
    await broker.stop()

    second_run: list[str] = []

    async def record(event: ReceivedEvent) -> None:
        second_run.append(str(event.envelope.event_id))

    async def rest_delivered() -> bool:
        return len(second_run) >= len(ids) - 1

    async with consuming(nats_server, record):
        assert await eventually(rest_delivered), second_run
    assert sorted(second_run) == sorted(ids[1:]), (
        "the event finished before closing is not delivered again; the others come at once"
    )
    assert await unacknowledged(nats_server) == 0, (
        "every event, the one in hand at closing included, is settled"
    )


async def test_a_slow_event_holds_only_its_own_place(nats_server: NatsServer) -> None:
    ids = await publish_events(nats_server, 50)
    slow = ids[0]
    others_done = asyncio.Event()
    handled: set[str] = set()

    async def handle(event: ReceivedEvent) -> None:
        event_id = str(event.envelope.event_id)
        if event_id == slow:
            await others_done.wait()  # a store that hangs for this one event
        handled.add(event_id)
        if handled >= set(ids[1:]):
            others_done.set()

    async def all_handled() -> bool:
        return handled == set(ids)

    async with consuming(nats_server, handle, concurrency=4):
        assert await eventually(all_handled), (
            f"{len(handled)} of {len(ids)} handled while the first event was stuck"
        )


async def test_a_consumer_that_keeps_failing_on_one_event_is_named_until_it_succeeds(
    nats_server: NatsServer,
) -> None:
    ids = await publish_events(nats_server, 3)
    broken = True

    async def handle(event: ReceivedEvent) -> None:
        if broken and str(event.envelope.event_id) == ids[1]:
            raise RuntimeError("the store is unavailable")

    async def stalled() -> bool:
        return bool(consumer_health(after=1.0).get(DURABLE))

    async with consuming(nats_server, handle):
        assert consumer_health(after=1.0) == {DURABLE: ""}
        assert await eventually(stalled)
        reason = consumer_health(after=1.0)[DURABLE]
        assert reason.startswith(f"intake SignalRegistered {ids[1]} has failed on ")
        assert "(RuntimeError)" in reason
        broken = False

        async def recovered() -> bool:
            return consumer_health(after=1.0) == {DURABLE: ""}

        assert await eventually(recovered)
    assert DURABLE not in consumer_health(after=1.0), "a closed consumer is not named"


async def test_a_message_the_check_itself_fails_on_is_a_dead_letter_and_the_rest_flow(
    nats_server: NatsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No message can stop a consumer: should the contract check fail in a way of its own
    (not a refusal), the message is terminated at once instead of coming back every ack wait."""
    from ketenzicht_common import consumer

    ids = await publish_events(nats_server, 20)
    poisoned = ids[7]
    check = consumer.check_message
    calls: Counter[str] = Counter()

    def failing_check(stream: Any, subject: str, headers: Any, body: bytes) -> Any:
        # A fault in the check on one message (stands for a bug no refusal anticipates).
        envelope, payload, data = check(stream, subject, headers, body)
        calls[str(envelope.event_id)] += 1
        if str(envelope.event_id) == poisoned:
            raise OverflowError("a value from the message")
        return envelope, payload, data

    monkeypatch.setattr(consumer, "check_message", failing_check)
    handled: set[str] = set()

    async def handle(event: ReceivedEvent) -> None:
        handled.add(str(event.envelope.event_id))

    async def the_rest_handled() -> bool:
        return handled == set(ids) - {poisoned}

    async def nothing_pending() -> bool:
        return await unacknowledged(nats_server) == 0

    async with consuming(nats_server, handle):
        assert await eventually(the_rest_handled)
        assert await eventually(nothing_pending), "the poisoned message still waits"
    assert calls[poisoned] == 1, "terminated at once, not redelivered"
