"""A small scenario fed through the cluster profile (two instances of every service) while,
one after the other: the NATS node that leads residence's stream is SIGKILLed and brought
back; an instance of intake, of investigation and of prosecution is SIGKILLed (each the
first, which holds its relay's lease) and started again; the active residence is SIGKILLed
(its standby takes over) and started again; PostgreSQL is stopped and started again (`make
test-cluster`; slow, not in `make test`).

Afterwards every upstream stream holds each event once, the triggers standing on residence's
stream are one pass of the rules over every fact residence stored (the reference evaluation,
as in services/residence/tests/unit/test_feed_follows_the_facts.py), no trigger key stands
twice, and each of the monitor's two replicas holds every event of the upstream streams, with
the same figures.
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

from chainsim.run import feed_scenario, monitor_settled, scenario_profile
from ketenzicht.monitor.v1 import monitor_pb2
from ketenzicht.monitor.v1.monitor_pb2_grpc import MonitorServiceStub
from ketenzicht_common.client import connect
from ketenzicht_common.cluster import ClusterStack, loopback
from ketenzicht_common.store import StoreSettings
from ketenzicht_common.streams import read_whole
from ketenzicht_common.testing import TOKENS
from ketenzicht_common.testing.jetstream import event_of, payload_of
from residence.application.files import VictimFile
from residence.application.residence import ResidenceApplication
from residence.domain import evaluate

from .test_residence_standby import roles

# About 80 s on a quiet two-core machine; more when it is shared.
pytestmark = [
    pytest.mark.cluster,
    pytest.mark.e2e,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.timeout(600),
]

RESIDENCE_STREAM = "KETENZICHT_RESIDENCE"


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


async def quiet(stack: ClusterStack, quiet_seconds: float = 5.0, timeout: float = 120.0) -> None:
    """Until residence's stream stops growing."""
    loop = asyncio.get_running_loop()
    last, since, deadline = -1, loop.time(), loop.time() + timeout
    while loop.time() < deadline:
        count = len(await stream_of(stack, "residence", RESIDENCE_STREAM))
        if count != last:
            last, since = count, loop.time()
        elif loop.time() - since >= quiet_seconds:
            return
        await asyncio.sleep(1.0)


async def figures(address: str) -> bytes:
    async with connect(address, token=TOKENS["ANALYST"]) as channel:
        stub = MonitorServiceStub(channel)
        reply = await stub.GetChainFigures(monitor_pb2.GetChainFiguresRequest(), timeout=60)
    return bytes(reply.SerializeToString(deterministic=True))


async def test_a_scenario_through_a_node_loss_ends_in_one_pass_of_the_rules(
    cluster: ClusterStack,
) -> None:
    today = date.today()
    feeding = asyncio.create_task(
        feed_scenario(cluster, 2026, date(2019, 1, 1), date(2024, 12, 31), 0.04, today)
    )

    def still_feeding(before: str) -> None:
        if feeding.done():
            feeding.result()  # the feed's own error, if it failed
            pytest.fail(f"the feed ended before {before}")

    await asyncio.sleep(2)  # under way
    node = await leader_of(cluster, "residence", RESIDENCE_STREAM)
    still_feeding("the node was killed")
    cluster.kill_node(node)
    await asyncio.sleep(2)
    cluster.nodes[node].start()
    await asyncio.sleep(1)
    # An instance of each writing service dies, the one that started first (it took the
    # relay's lease): the client's channel leaves it out, the feeder's stream to it breaks and
    # what it had not answered is sent again to the other; the other's relay takes the lease.
    for service in ("intake", "investigation", "prosecution"):
        still_feeding(f"{service} was killed")
        cluster.instances(service)[0].kill()
        await asyncio.sleep(1)
    for service in ("intake", "investigation", "prosecution"):
        await asyncio.to_thread(cluster.restart, cluster.instances(service)[0])
    # The active residence dies: the standby takes the lease and over.
    active, _standby = await roles(cluster)
    still_feeding("the active residence was killed")
    active.kill()
    print(f"killed the active {active.label}", flush=True)
    await asyncio.sleep(3)
    await asyncio.to_thread(cluster.restart, active)
    # PostgreSQL stops and starts again: the commands it misses are answered UNAVAILABLE and
    # sent again by the feeder, as the source systems do.
    still_feeding("PostgreSQL was stopped")
    await asyncio.to_thread(cluster.postgres.stop)
    await asyncio.sleep(3)
    await asyncio.to_thread(cluster.start_postgres)
    print("every fault made; waiting for the feed", flush=True)
    report = await feeding
    assert report.accepted > 100
    logs = "".join(path.read_text() for path in cluster.log_dir.glob("*.log"))
    assert "event store unavailable" in logs, "no command met PostgreSQL down"
    await quiet(cluster)

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
        held = []
        for victim_id in app.victim_ids():
            file = app.repository.get(VictimFile.id_for(victim_id))
            held += file.facts.values()
            held += [
                f
                for case_id in file.case_ids()
                if (case := app.case_file(case_id))
                for f in case.facts.values()
            ]
        reference = evaluate(list({f.event_id: f for f in held}.values()), today)
    finally:
        app.close()
    assert reference, "the scenario raises triggers"
    assert sorted((t["trigger_key"], t["occurred_on"]) for t in standing.values()) == sorted(
        (d.key, d.fires_on.isoformat()) for d in reference
    )

    # Each event once in its stream, whichever instance stored it and whichever relay sent it.
    upstream = 0
    for service in ("intake", "investigation", "prosecution", "residence"):
        messages = await stream_of(cluster, service, f"KETENZICHT_{service.upper()}")
        ids = Counter(str(event_of(m)[0].event_id) for m in messages)
        assert all(n == 1 for n in ids.values()), f"{service} published an event twice"
        upstream += len(messages)
    # Each monitor replica, reading every stream through its own feeds, holds every event,
    # and they report the same figures.
    monitors = cluster.instances("monitor")
    assert len(monitors) == 2
    for monitor in monitors:
        assert await monitor_settled(monitor.address) == upstream, monitor.label
    assert len({await figures(m.address) for m in monitors}) == 1

    # Nothing was given up on: no service or consumer put an event among its dead letters.
    for party in ("intake", "investigation", "prosecution", "residence", "monitor"):
        assert await stream_of(cluster, party, "KETENZICHT_DEAD_LETTERS") == [], party
