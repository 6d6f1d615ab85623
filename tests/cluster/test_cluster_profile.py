"""The cluster profile runs: three NATS nodes over TLS, PostgreSQL, every service (the smoke
test `make test` runs; ``pytest -m cluster`` runs it with the cluster's other tests).

A node of the bus dies mid-way — the one that leads the intake stream, the worst one to lose —
and nothing the services acknowledged is lost or doubled: intake's stream holds every event
once, and the monitor, reading through its durable consumer, holds them all.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest

from ketenzicht.common.v1 import common_pb2
from ketenzicht.intake.v1 import intake_pb2 as pb
from ketenzicht.intake.v1.intake_pb2_grpc import IntakeServiceStub
from ketenzicht.monitor.v1 import monitor_pb2
from ketenzicht.monitor.v1.monitor_pb2_grpc import MonitorServiceStub
from ketenzicht_common.client import connect
from ketenzicht_common.cluster import ClusterStack, loopback
from ketenzicht_common.health import stack_health
from ketenzicht_common.streams import read_whole
from ketenzicht_common.testing import TOKENS
from ketenzicht_common.testing.jetstream import event_of

pytestmark = [pytest.mark.cluster, pytest.mark.e2e, pytest.mark.postgres]

STREAM = "KETENZICHT_INTAKE"


@pytest.fixture(scope="module")
def cluster() -> Iterator[ClusterStack]:
    # Not under pytest's own temporary directory: PostgreSQL runs as Debian's postgres user
    # when the tests run as root, and must reach its data directory.
    root = Path(tempfile.mkdtemp(prefix="ketenzicht-cluster-"))
    root.chmod(0o755)
    stack = ClusterStack(loopback(root=root, free_ports=True))
    try:
        with pytest.MonkeyPatch.context() as environment:
            stack.start()
            for key, value in stack.caller_env().items():
                environment.setenv(key, value)  # this test's clients speak TLS to it
            yield stack
    finally:
        stack.stop()
        if not os.environ.get("KEEP_CLUSTER"):
            shutil.rmtree(root, ignore_errors=True)


def signal(n: int) -> pb.RegisterSignalRequest:
    return pb.RegisterSignalRequest(
        command_id=f"cluster-signal-{n}",
        occurred_on="2023-03-01",
        source_organisation=pb.SOURCE_ORGANISATION_KMAR,
        form=common_pb2.EXPLOITATION_FORM_LABOUR,
        nationality_group=pb.NATIONALITY_GROUP_OTHER_EU,
        residence_position=pb.RESIDENCE_POSITION_LAWFUL,
        region=pb.POLICE_REGION_LIMBURG,
    )


async def register(address: str, numbers: range) -> set[str]:
    async with connect(address, token=TOKENS["KMAR"]) as channel:
        stub = IntakeServiceStub(channel)
        replies = [await stub.RegisterSignal(signal(n), timeout=30) for n in numbers]
    return {event_id for reply in replies for event_id in reply.ack.event_ids}


async def stream_leader(stack: ClusterStack) -> str:
    nc = await nats.connect(**stack.profile.login("intake"))
    try:
        info = await nc.jetstream().stream_info(STREAM)
        assert info.config.num_replicas == 3
        assert info.cluster is not None
        assert info.cluster.leader
        return str(info.cluster.leader)
    finally:
        await nc.close()


async def published(stack: ClusterStack, count: int, timeout: float = 30.0) -> Counter[str]:
    """The event ids in intake's stream, once it holds ``count`` messages (or on timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        nc = await nats.connect(**stack.profile.login("intake"))
        try:
            messages = await read_whole(nc, "intake", STREAM)
        except Exception:  # the stream's new leader may still be being elected
            messages = []
        finally:
            await nc.close()
        ids = Counter(str(event_of(m)[0].event_id) for m in messages)
        if sum(ids.values()) >= count or time.monotonic() > deadline:
            return ids
        await asyncio.sleep(0.5)


async def monitor_facts(address: str, at_least: int, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    async with connect(address, token=TOKENS["ANALYST"]) as channel:
        stub = MonitorServiceStub(channel)
        while True:
            facts = int((await stub.GetStatus(monitor_pb2.GetStatusRequest())).facts)
            if facts >= at_least or time.monotonic() > deadline:
                return facts
            await asyncio.sleep(0.5)


async def test_the_cluster_loses_the_leading_nats_node_and_loses_no_event(
    cluster: ClusterStack,
) -> None:
    # Over TLS, with client certificates. A service answers once its gRPC server is up; its
    # relay and consumers report serving once they have reached the cluster, moments later.
    deadline = time.monotonic() + 30
    while True:
        healths = await stack_health((p.name, p.address) for p in cluster.services)
        if all(h.serving for h in healths) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    assert all(h.serving for h in healths), [h for h in healths if not h.serving]

    before = await register(cluster.address("intake"), range(20))
    assert sum((await published(cluster, 20)).values()) == 20

    leader = await stream_leader(cluster)
    index = next(i for i in range(len(cluster.nodes)) if leader == f"ketenzicht-nats-{i + 1}")
    cluster.kill_node(index)

    during = await register(cluster.address("intake"), range(20, 60))
    ids = await published(cluster, 60)
    assert set(ids) == before | during
    assert all(n == 1 for n in ids.values()), "an event was published twice"
    assert await stream_leader(cluster) != leader  # a surviving node took over the stream

    # The monitor's durable consumer, whose leader may have died too, got every event.
    assert await monitor_facts(cluster.address("monitor"), 60) >= 60
