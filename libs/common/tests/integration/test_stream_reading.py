"""Reading a stream by sequence (direct get in batches) and the feeds an owner makes, on a real
nats-server: what a rebuild and an addressee's audit rely on."""

from __future__ import annotations

import logging

import nats
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy

from ketenzicht_common.bus_access import FEEDS, provision_feeds
from ketenzicht_common.processes import NatsServer
from ketenzicht_common.streams import ensure_stream, own_streams, read_stream, service_stream

pytestmark = pytest.mark.integration

STREAM = "KETENZICHT_INTAKE"
SUBJECT = "ketenzicht.intake.SignalRegistered"


async def intake_stream(bus: NatsServer) -> tuple[Client, JetStreamContext]:
    """A connection as intake, with its stream made."""
    nc = await nats.connect(**bus.login("intake"))
    js = nc.jetstream()
    await ensure_stream(js, service_stream("intake"))
    return nc, js


async def test_reading_a_range_with_deleted_messages_stays_within_it(
    nats_server: NatsServer,
) -> None:
    nc, js = await intake_stream(nats_server)
    try:
        for n in range(1, 11):
            # One message carries a header named like the server's status: it is data.
            headers = {"Status": "204"} if n == 7 else None
            await js.publish(SUBJECT, b"%d" % n, headers=headers)
        for sequence in (3, 4, 5):
            await js.delete_msg(STREAM, sequence)
        for n in range(11, 14):
            await js.publish(SUBJECT, b"%d" % n)

        read = [m.data async for m in read_stream(nc, "$JS.API", STREAM, 1, 10, batch=4)]
        assert read == [b"1", b"2", b"6", b"7", b"8", b"9", b"10"]
        # Windows of two: the one of 3 and 4 holds nothing, and its answer (5 is gone too)
        # reaches into the next two windows, which answer for themselves.
        read = [m.data async for m in read_stream(nc, "$JS.API", STREAM, 1, 10, batch=2)]
        assert read == [b"1", b"2", b"6", b"7", b"8", b"9", b"10"]
        read = [m.data async for m in read_stream(nc, "$JS.API", STREAM, 3, 5, batch=2)]
        assert read == []
        everything = [m async for m in read_stream(nc, "$JS.API", STREAM, 1, 13)]
        assert len(everything) == 10
        assert (everything[3].headers or {}).get("Status") == "204"
        assert everything[3].subject == SUBJECT
    finally:
        await nc.close()


async def test_a_batch_the_server_cuts_short_is_read_on_to_its_windows_end(
    nats_server: NatsServer,
) -> None:
    # nats-server ends a direct-get batch once it has sent the bytes asked for (or its
    # max_pending), with the status a whole batch ends with.
    nc, js = await intake_stream(nats_server)
    try:
        for n in range(1, 41):
            await js.publish(SUBJECT, b"%03d" % n + b"." * 20_000)
        await js.delete_msg(STREAM, 20)
        expected = [b"%03d" % n for n in range(1, 41) if n != 20]

        async def read(first: int, last: int, batch: int) -> list[bytes]:
            reading = read_stream(nc, "$JS.API", STREAM, first, last, batch, max_bytes=100_000)
            return [m.data[:3] async for m in reading]

        assert await read(1, 40, 1000) == expected  # a batch of five messages at a time
        assert await read(1, 40, 16) == expected
        assert await read(5, 60, 16) == expected[4:]
        # The default leaves batches of the chain's events whole.
        assert len([m async for m in read_stream(nc, "$JS.API", STREAM, 1, 40)]) == 39
    finally:
        await nc.close()


async def test_a_reading_left_when_its_connection_closed_ends_quietly(
    nats_server: NatsServer,
) -> None:
    nc, js = await intake_stream(nats_server)
    for n in range(1, 6):
        await js.publish(SUBJECT, b"%d" % n)
    reading = read_stream(nc, "$JS.API", STREAM, 1, 5, batch=2)
    assert (await anext(reading)).data == b"1"  # the next window is asked for meanwhile
    await nc.close()  # the monitor shutting down under a rebuild
    await reading.aclose()  # nothing raised: the connection's end is not the reader's error


async def test_a_feed_made_by_an_older_configuration_keeps_serving(
    nats_server: NatsServer, caplog: pytest.LogCaptureFixture
) -> None:
    nc = await nats.connect(**nats_server.login("intake"))
    try:
        js = nc.jetstream()
        for config in own_streams("intake"):
            await ensure_stream(js, config)
        [reading] = [f for f in FEEDS if f.durable == "residence-intake"]
        older = reading.consumer_config()
        older.deliver_policy = DeliverPolicy.NEW
        await js.add_consumer(STREAM, older)
        with caplog.at_level(logging.WARNING):
            await provision_feeds(js, "intake")  # does not stop the relay
        assert "residence-intake on KETENZICHT_INTAKE keeps its former configuration" in (
            caplog.text
        )
        kept = await js.consumer_info(STREAM, "residence-intake")
        assert kept.config.deliver_policy == DeliverPolicy.NEW
        assert isinstance(kept.config, ConsumerConfig)
    finally:
        await nc.close()


async def test_an_addressees_trigger_is_never_given_up_on(nats_server: NatsServer) -> None:
    nc = await nats.connect(**nats_server.login("residence"))
    try:
        js = nc.jetstream()
        for config in own_streams("residence"):
            await ensure_stream(js, config)
        await provision_feeds(js, "residence")
        for addressee in ("ind", "police", "om"):
            stream = f"KETENZICHT_{addressee.upper()}_TRIGGERS"
            assert (await js.consumer_info(stream, addressee)).config.max_deliver == -1
    finally:
        await nc.close()
