"""How residence's watermark reads an upstream stream it may only see through its feed."""

from __future__ import annotations

import asyncio

import nats
import nats.aio.msg
import pytest

from ketenzicht_common.bus_access import jetstream_for, provision_feeds
from ketenzicht_common.processes import NatsServer
from ketenzicht_common.streams import ensure_stream, service_stream
from residence.adapters.consumer import READER, _observe

pytestmark = pytest.mark.integration

STREAM, DURABLE = "KETENZICHT_INTAKE", "residence-intake"


async def observed(bus: NatsServer) -> tuple[int, int] | None:
    nc = await nats.connect(**bus.login(READER))
    try:
        return await _observe(jetstream_for(nc, READER, STREAM, timeout=1), STREAM, DURABLE)
    finally:
        await nc.close()


async def test_a_stream_is_waited_for_only_when_it_may_hold_something(
    nats_server: NatsServer,
) -> None:
    # Intake has not started: its stream holds nothing residence could wait for.
    assert await observed(nats_server) == (0, 0)

    nc = await nats.connect(**nats_server.login("intake"))
    try:
        js = nc.jetstream()
        await ensure_stream(js, service_stream("intake"))
        await js.publish("ketenzicht.intake.SignalRegistered", b"{}")
        # The stream exists, residence's consumer does not: what it holds is unknown.
        assert await observed(nats_server) is None

        await provision_feeds(js, "intake")
        # Now it is known: one event, none applied yet.
        assert await observed(nats_server) == (1, 0)
    finally:
        await nc.close()


async def test_a_dead_letter_upstream_does_not_hold_the_watermark_for_ever(
    nats_server: NatsServer,
) -> None:
    nc = await nats.connect(**nats_server.login("intake"))
    try:
        js = nc.jetstream()
        await ensure_stream(js, service_stream("intake"))
        await provision_feeds(js, "intake", max_deliver=2)
        for body in (b"poison", b"fine", b"fine"):
            await js.publish("ketenzicht.intake.SignalRegistered", body)
    finally:
        await nc.close()

    reader = await nats.connect(**nats_server.login(READER))
    try:

        async def handle(message: nats.aio.msg.Msg) -> None:
            await (message.nak() if message.data == b"poison" else message.ack())

        await reader.subscribe("ketenzicht.deliver.intake.residence-intake", cb=handle)
        deadline = asyncio.get_running_loop().time() + 10
        while (found := await observed(nats_server)) != (3, 3):
            assert asyncio.get_running_loop().time() < deadline, found
            await asyncio.sleep(0.1)
    finally:
        await reader.close()
