"""Who may do what on the bus, tried as an attacker would against a real nats-server with the
accounts `bus_access` renders: anonymous clients, each service's identity out of its lane, the
addressees' read-only identities, and replies the server publishes on a client's behalf."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable

import nats
import nats.errors
import nats.js.errors
import pytest
from nats.aio.client import Client
from nats.js.api import ConsumerConfig, RePublish, StreamConfig

from ketenzicht_common.bus_access import (
    ADDRESSEES,
    DEAD_LETTER_STREAM,
    FEEDS,
    OWN_STREAMS,
    PARTIES,
    SERVICES,
    WRITERS,
    addressee_feed,
    api_prefix,
    dead_letter_subjects,
    provision_feeds,
    trigger_stream_name,
)
from ketenzicht_common.dead_letters import DiscardReason, discard, read
from ketenzicht_common.processes import NatsServer
from ketenzicht_common.streams import dead_letter_stream, ensure_stream, own_streams

pytestmark = pytest.mark.integration

ALL_STREAMS = sorted({stream for streams in OWN_STREAMS.values() for stream in streams})


class Party:
    """A connection as one party that records what the server refused it."""

    def __init__(self, nc: Client, refused: list[str]) -> None:
        self.nc, self.refused = nc, refused

    async def publish(self, subject: str, body: bytes = b"{}", reply: str = "") -> None:
        await self.nc.publish(subject, body, reply=reply)
        await self.nc.flush()
        await asyncio.sleep(0.05)  # the server's -ERR arrives after the flush's PONG at worst


@contextlib.asynccontextmanager
async def as_party(bus: NatsServer, party: str) -> AsyncIterator[Party]:
    refused: list[str] = []

    async def on_error(error: Exception) -> None:
        refused.append(str(error).lower())

    nc = await nats.connect(**bus.login(party), error_cb=on_error, allow_reconnect=False)
    try:
        yield Party(nc, refused)
    finally:
        await nc.close()


async def stream_state(bus: NatsServer) -> dict[str, int]:
    """How many messages each stream holds, read by its owner."""
    counts = {}
    for owner, streams in OWN_STREAMS.items():
        nc = await nats.connect(**bus.login(owner))
        try:
            for stream in streams:
                counts[stream] = (await nc.jetstream().stream_info(stream)).state.messages
        finally:
            await nc.close()
    return counts


@pytest.fixture
async def chain_bus(nats_server: NatsServer) -> NatsServer:
    """Every service's streams and its readers' consumers, as the relays make them, and one
    genuine event in each stream (the IND's feed holds one trigger)."""
    for owner in SERVICES:
        nc = await nats.connect(**nats_server.login(owner))
        try:
            js = nc.jetstream()
            for config in own_streams(owner):
                await ensure_stream(js, config)
            await provision_feeds(js, owner)
            if owner in WRITERS:
                subject = (
                    "ketenzicht.residence.triggers.ind.TemporaryPermitApplicationIndicated"
                    if owner == "residence"
                    else f"ketenzicht.{owner}.SignalRegistered"
                )
                await js.publish(subject, b"{}")
        finally:
            await nc.close()
    await asyncio.sleep(0.3)  # the trigger streams source from residence's stream
    return nats_server


async def test_an_anonymous_client_is_refused(chain_bus: NatsServer) -> None:
    with pytest.raises(nats.errors.Error):  # nats-py gives up on "Authorization Violation"
        await nats.connect(
            chain_bus.url, allow_reconnect=False, connect_timeout=2, max_reconnect_attempts=0
        )


async def test_a_made_up_identity_is_refused(chain_bus: NatsServer, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import secrets

    import nkeys

    seed = tmp_path / "stranger.nk"
    seed.write_bytes(nkeys.encode_seed(secrets.token_bytes(32), nkeys.PREFIX_BYTE_USER))
    with pytest.raises(nats.errors.Error):
        await nats.connect(
            chain_bus.url,
            nkeys_seed=str(seed),
            allow_reconnect=False,
            connect_timeout=2,
            max_reconnect_attempts=0,
        )


@pytest.mark.parametrize("party", PARTIES)
async def test_no_party_publishes_on_anothers_subjects_or_the_trigger_feeds(
    chain_bus: NatsServer, party: str
) -> None:
    before = await stream_state(chain_bus)
    async with as_party(chain_bus, party) as me:
        for other in WRITERS:
            if other == party:
                continue
            await me.publish(f"ketenzicht.{other}.SignalRegistered")
            await me.publish(f"ketenzicht.{other}.triggers.ind.NonTemporaryPermitIndicated")
        for addressee in ADDRESSEES:
            if party != "residence":
                await me.publish(f"ketenzicht.residence.triggers.{addressee}.TriggerRetracted")
        assert me.refused, f"{party} was let publish on another's subjects"
        assert all("permissions violation" in refusal for refusal in me.refused)
    assert await stream_state(chain_bus) == before


@pytest.mark.parametrize("party", PARTIES)
async def test_no_party_creates_deletes_or_purges_anothers_stream(
    chain_bus: NatsServer, party: str
) -> None:
    before = await stream_state(chain_bus)
    async with as_party(chain_bus, party) as me:
        js = me.nc.jetstream(timeout=0.5)

        async def attempt(request: Awaitable[object]) -> None:
            # A refused request is never answered (a timeout), or is answered by the party's
            # own JetStream, which holds no such stream.
            with contextlib.suppress(
                nats.errors.TimeoutError,
                nats.js.errors.NotFoundError,
                nats.js.errors.BadRequestError,
                nats.js.errors.ServiceUnavailableError,
            ):
                await request

        await asyncio.gather(
            *(
                attempt(request)
                for stream in ALL_STREAMS
                if stream not in OWN_STREAMS.get(party, ())
                for request in (
                    js.delete_stream(stream),
                    js.purge_stream(stream),
                    js.add_stream(StreamConfig(name=stream, subjects=["ketenzicht.>"])),
                    js.delete_consumer(stream, FEEDS[0].durable),
                )
            )
        )
        await asyncio.sleep(0.1)
    assert await stream_state(chain_bus) == before
    for owner, streams in OWN_STREAMS.items():
        nc = await nats.connect(**chain_bus.login(owner))
        try:
            for stream in streams:
                info = await nc.jetstream().stream_info(stream)
                assert "ketenzicht.>" not in (info.config.subjects or [])
                names = {c.name for c in await nc.jetstream().consumers_info(stream)}
                assert names == {f.durable for f in FEEDS if f.stream == stream}
        finally:
            await nc.close()


async def test_no_reader_configures_a_consumer_in_the_owners_account(chain_bus: NatsServer) -> None:
    """A push consumer delivers where its creator says, even onto a stream's subjects
    (nats-server #8274): only owners make consumers, so a reader's attempt reaches nothing."""
    before = await stream_state(chain_bus)
    for reading in FEEDS:
        async with as_party(chain_bus, reading.reader) as me:
            js = me.nc.jetstream(prefix=api_prefix(reading.owner), timeout=0.5)
            with contextlib.suppress(
                nats.errors.TimeoutError,
                nats.errors.NoRespondersError,
                nats.js.errors.ServiceUnavailableError,
            ):
                await js.add_consumer(
                    reading.stream,
                    ConsumerConfig(
                        durable_name=reading.durable,
                        deliver_subject=f"ketenzicht.{reading.owner}.SignalRegistered",
                    ),
                )
    await asyncio.sleep(0.2)
    assert await stream_state(chain_bus) == before
    for reading in FEEDS:
        nc = await nats.connect(**chain_bus.login(reading.owner))
        try:
            info = await nc.jetstream().consumer_info(reading.stream, reading.durable)
            assert info.config.deliver_subject == (
                None if reading.pull else reading.deliver_subject
            )
        finally:
            await nc.close()


@pytest.mark.parametrize("addressee", ADDRESSEES)
async def test_an_addressee_reads_its_own_feed_and_nothing_else(
    chain_bus: NatsServer, addressee: str
) -> None:
    before = await stream_state(chain_bus)
    async with as_party(chain_bus, addressee) as me:
        feed = await addressee_feed(me.nc, addressee)
        fetched = await feed.fetch(10, timeout=2) if addressee == "ind" else []
        for message in fetched:
            await message.ack()
        assert [m.subject.rsplit(".", 1)[1] for m in fetched] == (
            ["TemporaryPermitApplicationIndicated"] if addressee == "ind" else []
        )

        # Another addressee's feed, residence's whole stream, a service's stream: nothing.
        residence = me.nc.jetstream(prefix=api_prefix("residence"), timeout=0.5)
        for other in ADDRESSEES:
            if other == addressee:
                continue
            with pytest.raises(
                (
                    nats.errors.TimeoutError,
                    nats.errors.NoRespondersError,
                    nats.js.errors.ServiceUnavailableError,
                )
            ):
                await residence.consumer_info(trigger_stream_name(other), other)
        for stream in ("KETENZICHT_RESIDENCE", "KETENZICHT_INTAKE"):
            with pytest.raises(
                (
                    nats.errors.TimeoutError,
                    nats.errors.NoRespondersError,
                    nats.js.errors.ServiceUnavailableError,
                    nats.js.errors.NotFoundError,
                )
            ):
                await residence.get_msg(stream, 1)
        # It publishes nothing, not even onto its own feed's subjects.
        await me.publish(f"ketenzicht.residence.triggers.{addressee}.TriggerRetracted")
        await me.publish("ketenzicht.deliver.residence.residence-intake")
        assert me.refused
    assert await stream_state(chain_bus) == before


async def test_a_reply_the_server_publishes_for_a_party_lands_in_that_partys_account_only(
    chain_bus: NatsServer,
) -> None:
    """nats-server delivers a JetStream reply wherever the request's reply subject says,
    without the requester's publish permissions (nats-server discussion #8924). Each party has
    an account of its own, so such a reply can only land among the party's own subjects."""
    before = await stream_state(chain_bus)
    targets = [
        "ketenzicht.intake.SignalRegistered",
        "ketenzicht.residence.triggers.ind.NonTemporaryPermitIndicated",
        "ketenzicht.prosecution.VerdictDelivered",
    ]
    for reading in FEEDS:
        async with as_party(chain_bus, reading.reader) as me:
            api = api_prefix(reading.owner)
            requests = [
                f"{api}.CONSUMER.INFO.{reading.stream}.{reading.durable}",
                f"{api}.STREAM.MSG.GET.{reading.stream}",
            ]
            if reading.pull:
                requests.append(f"{api}.CONSUMER.MSG.NEXT.{reading.stream}.{reading.durable}")
            if reading.browse:
                requests += [
                    f"{api}.STREAM.INFO.{reading.stream}",
                    f"{api}.DIRECT.GET.{reading.stream}",
                ]
            for request in requests:
                body = json.dumps({"seq": 1, "batch": 5}).encode() if "GET" in request else b""
                for target in targets:
                    if target.startswith(f"ketenzicht.{reading.reader}."):
                        continue  # its own subjects: it may publish there anyway
                    await me.publish(request, body, reply=target)
    await asyncio.sleep(0.5)
    assert await stream_state(chain_bus) == before


def test_the_permission_table_keeps_dead_letters_per_party() -> None:
    # Each service keeps its own dead letters: the advisories of the feeds it reads, no one
    # else's (those of the addressees' consumers stay with nobody).
    assert dead_letter_subjects("intake") == ["ketenzicht.deadletters.>"]
    residence = dead_letter_subjects("residence")
    assert any("KETENZICHT_INTAKE.residence-intake" in s for s in residence)
    assert not any(".ind" in s for s in residence)
    assert DEAD_LETTER_STREAM not in OWN_STREAMS["residence"]


async def test_an_owner_cannot_pass_a_forged_advisory_off_as_a_readers_dead_letter(
    chain_bus: NatsServer,
) -> None:
    """The advisories of residence's consumers come from intake's account, where intake can
    publish on their subjects too (its own stream republishing there). Such a record is
    listed as malformed when it names what its subject does not, is never replayed or erased,
    and one too large for a dead letter is not kept at all."""
    subject = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.KETENZICHT_INTAKE.residence-intake"
    forged = {
        "type": "io.nats.jetstream.advisory.v1.max_deliver",
        "stream": "KETENZICHT_RESIDENCE",
        "consumer": "residence-intake",
        "stream_seq": 1,
        "deliveries": 50,
    }
    nc = await nats.connect(**chain_bus.login("intake"))
    try:
        js = nc.jetstream()
        # Its own dead-letter stream republishes what it stores onto the advisory's subject.
        config = dead_letter_stream("intake")
        config.republish = RePublish(src="ketenzicht.deadletters.fake", dest=subject)
        config.max_msg_size = -1
        await js.update_stream(config)
        await js.publish("ketenzicht.deadletters.fake", json.dumps(forged).encode())
        await js.publish("ketenzicht.deadletters.fake", b"x" * 10_000)  # beyond a dead letter
    finally:
        await nc.close()
    await asyncio.sleep(0.5)

    nc = await nats.connect(**chain_bus.login("residence"))
    try:
        kept = await nc.jetstream().stream_info("KETENZICHT_DEAD_LETTERS")
        assert kept.state.messages == 1, "the oversized record is not kept"
        [letter] = await read(nc, "residence")
        assert letter.malformed
        assert not letter.replayable
        assert letter.reason.startswith("malformed")
        await discard(nc, "residence", letter.sequence, DiscardReason.FORGED, erase=True)
    finally:
        await nc.close()
    assert (await stream_state(chain_bus))["KETENZICHT_RESIDENCE"] == 1, "nothing erased"


async def test_an_addressees_requests_are_bounded(chain_bus: NatsServer) -> None:
    async with as_party(chain_bus, "ind") as me:
        reply = await me.nc.request(
            f"{api_prefix('residence')}.CONSUMER.MSG.NEXT.KETENZICHT_IND_TRIGGERS.ind",
            json.dumps({"batch": 100_000, "expires": 3_600_000_000_000}).encode(),
            timeout=2,
        )
        assert (reply.headers or {}).get("Status") == "409", reply.headers
