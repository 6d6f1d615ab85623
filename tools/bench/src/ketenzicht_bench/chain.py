"""Benchmarks of the whole stack: ingest, trigger latency, projection rebuild."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import statistics
import time
from dataclasses import dataclass
from datetime import date

import grpc
import nats
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import DeliverPolicy

from chainsim.feeder import Endpoints, Feeder
from chainsim.generator import generate
from ketenzicht.common.v1 import common_pb2
from ketenzicht.intake.v1 import intake_pb2 as intake
from ketenzicht.intake.v1.intake_pb2_grpc import IntakeServiceStub
from ketenzicht.monitor.v1 import monitor_pb2, monitor_pb2_grpc
from ketenzicht_common.bus_access import FEEDS, Bus, api_for, jetstream_for, trigger_stream_name
from ketenzicht_common.client import connect
from ketenzicht_common.cluster import ClusterStack
from ketenzicht_common.stack import Stack
from ketenzicht_common.streams import read_stream
from ketenzicht_common.testing.jetstream import connect_as, payload_of, stream_count

from .raw import Rate

UPSTREAM_STREAMS = ("KETENZICHT_INTAKE", "KETENZICHT_INVESTIGATION", "KETENZICHT_PROSECUTION")
ALL_STREAMS = (*UPSTREAM_STREAMS, "KETENZICHT_RESIDENCE")
ANALYST = "local-analyst-token"
REBUILDER = "monitor"
"""Who reads every stream in a rebuild: `raw_stream_read` reads them as the monitor does."""
IND_TRIGGERS = trigger_stream_name("ind")


@dataclass(frozen=True)
class Latency:
    name: str
    samples: list[float]
    offered_per_second: float = 0.0
    achieved_per_second: float = 0.0
    failures: int = 0

    def percentile(self, share: float) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000 if ordered else 0


def endpoints(stack: Stack | ClusterStack) -> Endpoints:
    return Endpoints(
        stack.address("intake"),
        stack.address("investigation"),
        stack.address("prosecution"),
        stack.address("residence"),
        stack.profile,
    )


async def _total(bus: Bus, streams: tuple[str, ...]) -> int:
    """The messages in ``streams``, each counted by its owner."""
    return sum([await stream_count(bus, s) for s in streams])


async def monitor_facts(address: str) -> int:
    """How many facts the monitor has applied (its GetStatus)."""
    async with connect(address, token=ANALYST) as channel:
        status = await monitor_pb2_grpc.MonitorServiceStub(channel).GetStatus(
            monitor_pb2.GetStatusRequest()
        )
        return int(status.facts)


PUSH_FEEDS = tuple(feed for feed in FEEDS if not feed.pull)
"""The services' feeds (residence's and the monitor's); the addressees' pull feeds wait for
the addressees' own systems, which the bench does not play."""


async def consumed(stack: Stack | ClusterStack) -> None:
    """Wait until the durable consumers (residence's, the monitor's) have acknowledged every
    event published: each feed's consumer info, asked by the owner of its stream, in whose
    account the consumer lives."""
    owners = sorted({feed.owner for feed in PUSH_FEEDS})
    connections = {owner: await connect_as(stack.profile, owner) for owner in owners}
    try:
        while await _outstanding(connections):
            await asyncio.sleep(0.05)
    finally:
        for nc in connections.values():
            await nc.close()


async def _outstanding(connections: dict[str, Client]) -> int:
    """Events not yet acknowledged on every push feed; a feed whose consumer its owner's
    relay has not made yet counts as outstanding."""
    outstanding = 0
    for feed in PUSH_FEEDS:
        try:
            info = (
                await connections[feed.owner].jetstream().consumer_info(feed.stream, feed.durable)
            )
        except nats.js.errors.NotFoundError:
            return 1
        outstanding += int(info.num_pending or 0) + int(info.num_ack_pending or 0)
    return outstanding


@dataclass(frozen=True)
class Ingest:
    """The end-to-end ingest: events (the figure the targets speak of) and the commands that
    caused them — the feeder's, plus the IND's decisions it reports back."""

    events: Rate
    commands: int


async def ingest(stack: Stack | ClusterStack, scale: float, seed: int = 7) -> Ingest:
    """A generated backlog fed over the bulk streams, timed until every event is stored, on
    JetStream, and applied by the projections: residence's rules (whose own events follow)
    and the monitor."""
    bus = stack.profile
    before = await _total(bus, ALL_STREAMS)
    feeder = Feeder(endpoints(stack), today=date.today(), seed=seed)
    started = time.perf_counter()
    report = await feeder.feed(generate(seed, date(2018, 1, 1), date(2024, 12, 31), scale))
    await feeder.close()
    accepted = report.accepted
    # Every accepted command stores at least one event; residence's triggers come on top.
    while await _total(bus, ALL_STREAMS) - before < accepted:
        await asyncio.sleep(0.05)
    await consumed(stack)
    # Applied: the monitor holds every published event (or, should it skip some kinds, its
    # count has stopped growing); the time is when it last grew.
    published = await _total(bus, ALL_STREAMS)
    last, changed_at = -1, time.perf_counter()
    while True:
        facts = await monitor_facts(stack.address("monitor"))
        if facts != last:
            last, changed_at = facts, time.perf_counter()
        if facts >= published or time.perf_counter() - changed_at > 3:
            break
        await asyncio.sleep(0.05)
    events = Rate(
        "end-to-end ingest (events): gRPC → JetStream → residence, monitor",
        published - before,
        changed_at - started,
    )
    return Ingest(events, accepted)


async def trigger_latency(
    stack: Stack | ClusterStack, pairs: int, events_per_second: float
) -> Latency:
    """Signal and report of third-country victims at a steady rate; the time from the report's
    acknowledgement to its TemporaryPermitApplicationIndicated on the IND's stream.

    Seen by residence, the stream's owner, through an ordered push consumer of its own on its
    own stream (the IND may not make consumers; its pull feed is what the IND's system reads,
    and the bench leaves it alone): the moment the trigger is stored, as `raw_latency` sees
    its messages."""
    nc = await connect_as(stack.profile, "residence")
    arrived: dict[str, float] = {}
    acked: dict[str, float] = {}

    async def on_trigger(message: Msg) -> None:
        # The trigger is the envelope's data (either envelope version).
        trigger = payload_of(message)
        arrived.setdefault(trigger["victim_id"], time.perf_counter())

    js = nc.jetstream()
    subscription = await js.subscribe(
        "ketenzicht.residence.triggers.ind.TemporaryPermitApplicationIndicated",
        stream=IND_TRIGGERS,
        ordered_consumer=True,
        deliver_policy=DeliverPolicy.NEW,
        cb=on_trigger,
    )
    try:
        async with connect(stack.address("intake"), token="local-police-token") as channel:
            police = IntakeServiceStub(channel)

            in_flight = asyncio.Semaphore(256)
            failures = 0

            async def one(n: int) -> None:
                nonlocal failures
                async with in_flight:
                    try:
                        await pair(n)
                    except grpc.aio.AioRpcError:
                        failures += 1

            async def pair(n: int) -> None:
                signal = await police.RegisterSignal(
                    intake.RegisterSignalRequest(
                        occurred_on="2024-05-01",
                        source_organisation=intake.SOURCE_ORGANISATION_POLICE,
                        form=common_pb2.EXPLOITATION_FORM_LABOUR,
                        nationality_group=intake.NATIONALITY_GROUP_THIRD_COUNTRY,
                        residence_position=intake.RESIDENCE_POSITION_IRREGULAR,
                        region=intake.POLICE_REGION_ROTTERDAM,
                    )
                )
                await police.FileReport(
                    intake.FileReportRequest(
                        victim_id=signal.victim_id,
                        # Of the shape investigation issues (intake checks the shape only): an
                        # OpenCase per pair would add a third round trip to what is measured.
                        case_id=f"C-{n:020x}",
                        occurred_on="2024-05-02",
                    )
                )
                acked[signal.victim_id] = time.perf_counter()

            interval = 2 / events_per_second  # two events a pair
            tasks = []
            started = next_at = time.perf_counter()
            for n in range(pairs):
                tasks.append(asyncio.create_task(one(n)))
                next_at += interval
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
            await asyncio.gather(*tasks)
            achieved = 2 * (pairs - failures) / (time.perf_counter() - started)
        deadline = time.monotonic() + 30
        while len(arrived.keys() & acked.keys()) < pairs and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    finally:
        await subscription.unsubscribe()
        await nc.close()
    samples = [max(0.0, arrived[v] - acked[v]) for v in acked if v in arrived]
    return Latency(
        "trigger latency: report acknowledged → trigger on the IND stream",
        samples,
        events_per_second,
        achieved,
        failures,
    )


async def raw_latency(url: str, messages: int, per_second: float, replicas: int = 1) -> Latency:
    """The raw limit for latency: a JetStream publish seen by a push consumer, same rate, on
    the bench's own unsecured nats-server (``url``: `raw.raw_server`, or a node of
    `cluster.raw_cluster` with ``replicas`` 3)."""
    from ketenzicht_common.streams import ensure_stream, stream_config

    nc = await nats.connect(url)
    js = nc.jetstream()
    await ensure_stream(js, stream_config("RAW_LATENCY", ["raw.latency"], replicas))
    sent: dict[int, float] = {}
    samples: list[float] = []

    async def on_message(message: Msg) -> None:
        samples.append(time.perf_counter() - sent[int(message.data)])

    subscription = await js.subscribe(
        "raw.latency", ordered_consumer=True, deliver_policy=DeliverPolicy.NEW, cb=on_message
    )
    try:
        next_at = time.perf_counter()
        for n in range(messages):
            sent[n] = time.perf_counter()
            await js.publish("raw.latency", str(n).encode(), headers={"Nats-Msg-Id": f"l{n}"})
            next_at += 1 / per_second
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        deadline = time.monotonic() + 10
        while len(samples) < messages and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
    finally:
        await subscription.unsubscribe()
        await nc.close()
    return Latency("JetStream publish → push consumer (nats-py)", samples)


async def rebuild(stack: Stack | ClusterStack, timeout: float = 600) -> Rate:
    async with connect(stack.address("monitor"), token=ANALYST) as channel:
        stub = monitor_pb2_grpc.MonitorServiceStub(channel)
        started = time.perf_counter()
        result = await stub.Rebuild(monitor_pb2.RebuildRequest(), timeout=timeout)
        return Rate(
            "projection rebuild: the monitor re-reads every stream",
            int(result.facts_after),
            time.perf_counter() - started,
        )


async def raw_stream_read(bus: Bus) -> Rate:
    """The raw limit for a rebuild: every stream read as the monitor's rebuild reads it — as
    the monitor, through each owner's exported direct get in batches (`streams.read_stream`),
    nothing applied."""
    nc = await connect_as(bus, REBUILDER)
    try:
        return await _read_streams(
            nc,
            REBUILDER,
            ALL_STREAMS,
            "the rebuild's reading: direct get as the monitor, nothing applied",
        )
    finally:
        await nc.close()


async def raw_bare_read(url: str) -> Rate:
    """The same reading of `raw.jetstream_publish`'s messages, whose only header is the
    ``Nats-Msg-Id``, on the bench's unsecured nats-server (``url``): beside `raw_stream_read`,
    what the events' envelope headers cost."""
    nc = await nats.connect(url)
    try:
        return await _read_streams(
            nc, None, ("RAW_BENCH",), "the same, of messages whose only header is Nats-Msg-Id"
        )
    finally:
        await nc.close()


async def _read_streams(nc: Client, me: str | None, streams: tuple[str, ...], name: str) -> Rate:
    """Every message of ``streams`` by direct get, as ``me`` (`bus_access.api_for`), or in
    the connection's own account when ``me`` is None (an unsecured server)."""
    total = 0
    started = time.perf_counter()
    for stream in streams:
        if me is None:
            js, api = nc.jetstream(), "$JS.API"
        else:
            js, api = jetstream_for(nc, me, stream), api_for(me, stream)
        info = await js.stream_info(stream)
        if not info.state.messages or not info.state.last_seq:
            continue
        async with asyncio.timeout(600):
            async for _ in read_stream(nc, api, stream, info.state.first_seq, info.state.last_seq):
                total += 1
    return Rate(name, total, time.perf_counter() - started)


def describe(latency: Latency) -> str:
    if not latency.samples:
        return "no samples"
    return (
        f"p50 {latency.percentile(0.5):.1f} ms, p99 {latency.percentile(0.99):.1f} ms "
        f"({len(latency.samples)} samples, mean {statistics.mean(latency.samples) * 1000:.1f})"
    )


async def feed_retractions(bus: Bus) -> tuple[int, int]:
    """(triggers residence sent, of which retractions) on its stream, every addressee's: the
    stream's subjects, asked by residence, its owner."""
    nc = await connect_as(bus, "residence")
    try:
        info = await nc.jetstream().stream_info(
            "KETENZICHT_RESIDENCE", subjects_filter="ketenzicht.residence.triggers.>"
        )
        subjects = info.state.subjects or {}
        sent = sum(subjects.values())
        retracted = sum(
            n for subject, n in subjects.items() if subject.endswith(".TriggerRetracted")
        )
        return sent, retracted
    finally:
        await nc.close()


async def residence_replay(stack: Stack | ClusterStack, timeout: float = 3600) -> Rate:
    """Residence replaying its upstream from the start: stopped, its data removed, its feeds
    on the upstream streams made again from their first message (each by its stream's owner,
    in whose account it lives, with the configuration the owner's relay gives it), started,
    and timed until it has acknowledged every upstream event (stored each, as it acknowledges
    only what it stored). What it sends afterwards is a restarted residence's own business;
    the bench stops the stack after this."""
    residence = next(p for p in stack.services if p.name == "residence")
    spec = next(s for s in stack.profile.services if s.name == "residence")
    residence.stop()
    shutil.rmtree(spec.data_dir, ignore_errors=True)
    upstream = [f for f in PUSH_FEEDS if f.reader == "residence"]
    connections = {f.owner: await connect_as(stack.profile, f.owner) for f in upstream}
    try:
        events = 0
        for reading in upstream:
            js = connections[reading.owner].jetstream()
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await js.delete_consumer(reading.stream, reading.durable)
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await js.add_consumer(reading.stream, config=reading.consumer_config())
                events += int((await js.stream_info(reading.stream)).state.messages or 0)
        started = time.perf_counter()
        await asyncio.to_thread(residence.start)
        async with asyncio.timeout(timeout):
            while True:
                outstanding = 0
                for reading in upstream:
                    info = await (
                        connections[reading.owner]
                        .jetstream()
                        .consumer_info(reading.stream, reading.durable)
                    )
                    outstanding += int(info.num_pending or 0) + int(info.num_ack_pending or 0)
                if not outstanding:
                    break
                await asyncio.sleep(0.2)
        return Rate(
            "residence replaying its upstream (stopped, emptied, consumed again from the start)",
            events,
            time.perf_counter() - started,
        )
    finally:
        for nc in connections.values():
            await nc.close()
