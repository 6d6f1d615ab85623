"""Events a consumer gives up on are kept as dead letters an operator can find: the event that
fails on every delivery, and the one that breaks its contract (terminated at once)."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import nats
import pytest

from ketenzicht_common.consumer import ReceivedEvent, Unprocessable
from ketenzicht_common.dead_letters import DeadLetter, read
from ketenzicht_common.processes import NatsServer
from ketenzicht_common.streams import dead_letter_stream, ensure_stream

from .test_consumer_batches import STREAM, consuming, eventually, publish_events, unacknowledged

pytestmark = pytest.mark.integration


async def dead_letters(url: str) -> list[DeadLetter]:
    nc = await nats.connect(url)
    try:
        return await read(nc.jetstream())
    finally:
        await nc.close()


async def keep_dead_letters(url: str) -> None:
    nc = await nats.connect(url)
    try:
        await ensure_stream(nc.jetstream(), dead_letter_stream())
    finally:
        await nc.close()


async def test_an_event_that_fails_on_every_delivery_becomes_a_dead_letter(
        nats_server: NatsServer) -> None:
    await keep_dead_letters(nats_server.url)
    ids = await publish_events(nats_server.url, 5)
    poison = ids[2]
    seen: Counter[str] = Counter()

    async def handle(event: ReceivedEvent) -> None:
        seen[str(event.envelope.event_id)] += 1
        if str(event.envelope.event_id) == poison:
            raise RuntimeError("this event always fails")

    async def given_up() -> bool:
        return bool(await dead_letters(nats_server.url))

    async with consuming(nats_server.url, "poisoned", handle, max_deliver=2):
        assert await eventually(given_up), "the server never gave up on the failing event"
        assert await unacknowledged(nats_server.url, "poisoned-intake") == 0

    [letter] = await dead_letters(nats_server.url)
    assert (letter.stream, letter.consumer) == (STREAM, "poisoned-intake")
    assert letter.event_id == poison, "the dead letter leads to the event in its stream"
    assert letter.event_type.endswith("SignalRegistered")
    assert letter.deliveries == 2
    assert letter.reason == "failed on every delivery"
    assert seen[poison] == 2
    assert all(seen[event_id] == 1 for event_id in ids if event_id != poison)

    # An operator lists them from the command line.
    listed = subprocess.run([sys.executable, "-m", "ketenzicht_common.dead_letters",
                             "--nats", nats_server.url], capture_output=True, text=True,
                            timeout=60, check=True).stdout
    assert f"{STREAM} #3" in listed
    assert poison in listed
    assert "1 dead letter(s)" in listed


async def test_an_event_that_breaks_its_contract_is_a_dead_letter_at_once(
        nats_server: NatsServer) -> None:
    await keep_dead_letters(nats_server.url)
    ids = await publish_events(nats_server.url, 3)
    seen: Counter[str] = Counter()

    async def handle(event: ReceivedEvent) -> None:
        seen[str(event.envelope.event_id)] += 1
        if str(event.envelope.event_id) == ids[0]:
            raise Unprocessable("case_id is missing")

    async def given_up() -> bool:
        return bool(await dead_letters(nats_server.url))

    async with consuming(nats_server.url, "strict", handle):
        assert await eventually(given_up)
        assert await unacknowledged(nats_server.url, "strict-intake") == 0

    [letter] = await dead_letters(nats_server.url)
    assert letter.event_id == ids[0]
    assert letter.reason.startswith("terminated")
    assert seen[ids[0]] == 1, "not redelivered: no redelivery repairs a broken contract"
