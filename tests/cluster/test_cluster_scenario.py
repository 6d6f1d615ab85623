"""A scenario fed through the cluster profile (two instances of every service) while, each
when a share of the feed is sent (so under its load, however long the restarts before took):
the NATS node that leads residence's stream is SIGKILLed and brought back; PostgreSQL is
stopped and started again; an instance of intake, of investigation and of prosecution is
SIGKILLed (each the first, which holds its relay's lease) and started again; the active
residence is SIGKILLed (its standby takes over) and started again (`make test-cluster`; slow,
not in `make test`).

Afterwards no command is left refused UNAVAILABLE, every upstream stream holds each event once,
the triggers standing on residence's stream are one pass of the rules over every fact residence
stored (the reference evaluation, as in
services/residence/tests/unit/test_feed_follows_the_facts.py), no trigger key stands twice, and
each of the monitor's two replicas holds every event of the upstream streams and reports the
chain figures of the monitor's projection applied to all of them in one pass.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import nats
import nats.errors
import nats.js.errors
import pytest

from chainsim.feeder import Feeder
from chainsim.generator import estimate_events
from chainsim.run import feed_scenario, monitor_settled, scenario_profile
from ketenzicht.monitor.v1 import monitor_pb2
from ketenzicht.monitor.v1.monitor_pb2_grpc import MonitorServiceStub
from ketenzicht_common.client import connect
from ketenzicht_common.clock import SystemClock
from ketenzicht_common.cluster import ClusterStack, loopback
from ketenzicht_common.health import ServiceHealth, health_of
from ketenzicht_common.health import report as health_report
from ketenzicht_common.processes import ServiceProcess
from ketenzicht_common.store import StoreSettings
from ketenzicht_common.streams import read_whole
from ketenzicht_common.testing import TOKENS
from ketenzicht_common.testing.jetstream import event_of, payload_of
from monitor.adapters.consumer import fact_from_message
from monitor.adapters.grpc_api import year_figures
from monitor.adapters.store import SqliteFactStore
from monitor.application.live import LiveProjection
from monitor.application.queries import MonitorQueries
from residence.application.residence import ResidenceApplication
from residence.domain import evaluate

from .test_residence_standby import roles

# About 80 s with the cluster's start (scale 0.1, the feed itself 30-45 s) on the shared
# two-core machine; more when it is busier.
pytestmark = [
    pytest.mark.cluster,
    pytest.mark.e2e,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.timeout(600),
]

RESIDENCE_STREAM = "KETENZICHT_RESIDENCE"
SCALE = 0.1
PLANNED = estimate_events(date(2019, 1, 1), date(2024, 12, 31), SCALE)
"""About as many commands as the feed sends (the faults are made at shares of it)."""


@pytest.fixture
def cluster() -> Iterator[ClusterStack]:
    root = Path(tempfile.mkdtemp(prefix="ketenzicht-scenario-"))
    root.chmod(0o755)  # PostgreSQL, as Debian's postgres user when root runs the tests
    stack = ClusterStack(loopback(root=root, free_ports=True), clock_file=root / "scenario-clock")
    stack.profile = scenario_profile(stack.profile)
    try:
        with pytest.MonkeyPatch.context() as environment:
            stack.start()
            for key, value in stack.caller_env().items():
                environment.setenv(key, value)
            yield stack
    finally:
        stack.stop()
        if not os.environ.get("KEEP_CLUSTER"):
            shutil.rmtree(root, ignore_errors=True)


async def leader_of(stack: ClusterStack, party: str, stream: str) -> int:
    nc = await nats.connect(**stack.profile.login(party))
    try:
        info = await nc.jetstream().stream_info(stream)
        assert info.cluster is not None
        return int(str(info.cluster.leader).rsplit("-", 1)[1]) - 1
    finally:
        await nc.close()


async def stream_of(stack: ClusterStack, party: str, stream: str) -> list[nats.aio.msg.Msg]:
    """The whole stream; read again while the restarted node's stream is still catching up
    (a read it serves may time out)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while True:
        nc = await nats.connect(**stack.profile.login(party))
        try:
            return await read_whole(nc, party, stream)
        except (nats.errors.TimeoutError, nats.js.errors.ServiceUnavailableError):
            if loop.time() > deadline:
                raise
            await asyncio.sleep(1.0)
        finally:
            await nc.close()


async def caught_up(
    stack: ClusterStack, quiet_seconds: float = 5.0, timeout: float = 180.0
) -> None:
    """Until residence has caught up: its active instance holds nothing back (its health: every
    upstream stream applied, the feed serving) and its stream has not grown for
    ``quiet_seconds``. A stream that merely stops growing is not enough: while an upstream
    stream lags (a consumer after a node's loss), the triggers wait for it."""
    loop = asyncio.get_running_loop()
    last, since, deadline = -1, loop.time(), loop.time() + timeout
    healths: list[ServiceHealth] = []
    while loop.time() < deadline:
        count = len(await stream_of(stack, "residence", RESIDENCE_STREAM))
        instances = [p for p in stack.instances("residence") if p.process is not None]
        healths = [await health_of(p.label, p.address) for p in instances]
        active = [h for h in healths if h.serving and not h.standby]
        if count != last or len(active) != 1:
            last, since = count, loop.time()
        elif loop.time() - since >= quiet_seconds:
            return
        await asyncio.sleep(1.0)
    pytest.fail(f"residence did not catch up in {timeout:.0f} s: {health_report(healths)}")


async def figures(address: str) -> bytes:
    async with connect(address, token=TOKENS["ANALYST"]) as channel:
        stub = MonitorServiceStub(channel)
        reply = await stub.GetChainFigures(monitor_pb2.GetChainFiguresRequest(), timeout=60)
    return bytes(reply.SerializeToString(deterministic=True))


async def reference_figures(streams: dict[str, list[nats.aio.msg.Msg]], root: Path) -> bytes:
    """The chain figures of the monitor's projection fed every stream's events in one pass,
    as the monitor answers GetChainFigures (today, the default group size)."""
    clock = SystemClock()
    live = LiveProjection(SqliteFactStore(root / "reference-facts.sqlite3"), clock)
    try:
        await asyncio.gather(
            *(
                live.apply(fact_from_message(message, stream))
                for stream, messages in streams.items()
                for message in messages
            )
        )
        queries = MonitorQueries(live, clock)
        as_of = queries.as_of()
        result = await queries.figures(as_of)
    finally:
        live.close()
    assert result.years, "the scenario's facts make chain figures"
    reply = monitor_pb2.GetChainFiguresResponse(
        as_of=as_of.on.isoformat(),
        known_by=as_of.known_by.isoformat(),
        years=[year_figures(y) for y in result.years],
        min_group_size=result.min_group_size,
    )
    return bytes(reply.SerializeToString(deterministic=True))


async def test_a_scenario_through_a_node_loss_ends_in_one_pass_of_the_rules(
    cluster: ClusterStack,
) -> None:
    today = date.today()
    feeders: list[Feeder] = []
    feeding = asyncio.create_task(
        feed_scenario(
            cluster,
            2026,
            date(2019, 1, 1),
            date(2024, 12, 31),
            SCALE,
            today,
            watch=feeders.append,
        )
    )

    async def fed(share: float, before: str) -> None:
        """Until that share of the plan's commands is sent: each fault under the feed's load,
        however long the restarts before it took."""
        while not feeders or feeders[0].report.sent < share * PLANNED:
            if feeding.done():
                feeding.result()  # the feed's own error, if it failed
                pytest.fail(f"the feed ended before {before}")
            await asyncio.sleep(0.1)
        print(f"\n{feeders[0].report.sent} commands sent: {before}", flush=True)

    await fed(0.05, "the node leading residence's stream is killed")
    node = await leader_of(cluster, "residence", RESIDENCE_STREAM)
    cluster.kill_node(node)
    await asyncio.sleep(2)
    cluster.nodes[node].start()
    # PostgreSQL stops and starts again, before any instance is restarting (one starting
    # meanwhile would not find its store): the commands it misses are answered UNAVAILABLE and
    # sent again by the feeder, as the source systems do; every instance lives through it and
    # connects again (its event store's pool, its key store).
    await fed(0.12, "PostgreSQL is stopped")
    await asyncio.to_thread(cluster.postgres.stop)
    await asyncio.sleep(3)
    await asyncio.to_thread(cluster.start_postgres)
    # An instance of each writing service dies, the one that started first (it took the
    # relay's lease): the client's channel leaves it out, the feeder's stream to it breaks and
    # what it had not answered is sent again to the other; the other's relay takes the lease.
    # Each is started again while the feed goes on and the next fault is made.
    restarts: list[asyncio.Task[None]] = []
    for share, service in zip(
        (0.2, 0.27, 0.34), ("intake", "investigation", "prosecution"), strict=True
    ):
        await fed(share, f"{service} is killed")
        first = cluster.instances(service)[0]
        first.kill()
        restarts.append(asyncio.create_task(asyncio.to_thread(cluster.restart, first)))
    # The active residence dies: the standby takes the lease and over.
    await fed(0.45, "the active residence is killed")
    active, _standby = await roles(cluster)
    active.kill()

    async def after(seconds: float, process: ServiceProcess) -> None:
        await asyncio.sleep(seconds)
        await asyncio.to_thread(cluster.restart, process)

    restarts.append(asyncio.create_task(after(3, active)))
    await asyncio.gather(*restarts)
    print("every fault made; waiting for the feed", flush=True)
    report = await feeding
    assert report.accepted > 100
    # Every command an instance could not store (PostgreSQL down, the instance dying, the
    # standby) was sent again until one stored it: none is left refused as unavailable.
    assert not [k for k in report.refused if "UNAVAILABLE" in k or k.startswith("stream ")], (
        report.refused
    )
    logs = "".join(path.read_text() for path in cluster.log_dir.glob("*.log"))
    assert "event store unavailable" in logs, "no command met PostgreSQL down"
    await caught_up(cluster)

    standing: dict[str, dict[str, object]] = {}
    for message in await stream_of(cluster, "residence", RESIDENCE_STREAM):
        if ".triggers." not in (message.subject or ""):
            continue
        trigger = payload_of(message)
        if (message.subject or "").endswith(".TriggerRetracted"):
            del standing[str(trigger["retracted_trigger_id"])]
            continue
        assert trigger["trigger_key"] not in {t["trigger_key"] for t in standing.values()}
        standing[str(trigger["trigger_id"])] = trigger

    residence = next(s for s in cluster.topology.services if s.name == "residence")
    env = cluster.service_env(residence.name)
    app = ResidenceApplication(
        StoreSettings(
            backend="postgres",
            postgres_dsn=env["KETENZICHT_STORE__POSTGRES_DSN"],
            postgres_schema=env["KETENZICHT_STORE__POSTGRES_SCHEMA"],
        )
    )
    try:
        reference = evaluate(app.held_facts(), today)
    finally:
        app.close()
    assert reference, "the scenario raises triggers"
    assert sorted((t["trigger_key"], t["occurred_on"]) for t in standing.values()) == sorted(
        (d.key, d.fires_on.isoformat()) for d in reference
    )

    # Each event once in its stream, whichever instance stored it and whichever relay sent it.
    streams: dict[str, list[nats.aio.msg.Msg]] = {}
    for service in ("intake", "investigation", "prosecution", "residence"):
        stream = f"KETENZICHT_{service.upper()}"
        streams[stream] = await stream_of(cluster, service, stream)
        ids = Counter(str(event_of(m)[0].event_id) for m in streams[stream])
        assert all(n == 1 for n in ids.values()), f"{service} published an event twice"
    upstream = sum(len(messages) for messages in streams.values())
    # Each monitor replica, reading every stream through its own feeds (through the faults),
    # holds every event, and reports the figures of the monitor's projection applied to every
    # stream's events in one pass.
    reference = await reference_figures(streams, cluster.log_dir.parent)
    monitors = cluster.instances("monitor")
    assert len(monitors) == 2
    for monitor in monitors:
        assert await monitor_settled(monitor.address) == upstream, monitor.label
        assert await figures(monitor.address) == reference, monitor.label

    # Nothing was given up on: no service or consumer put an event among its dead letters.
    for party in ("intake", "investigation", "prosecution", "residence", "monitor"):
        assert await stream_of(cluster, party, "KETENZICHT_DEAD_LETTERS") == [], party
