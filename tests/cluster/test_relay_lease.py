"""Two instances of a service on one store: exactly one relay publishes (the lease), and when
it dies mid-publication the other takes over and publishes the rest, nothing twice."""

from __future__ import annotations

import asyncio
import shutil
import signal
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest

from ketenzicht.intake.v1.intake_pb2_grpc import IntakeServiceStub
from ketenzicht_common.client import connect
from ketenzicht_common.cluster import ClusterStack, loopback
from ketenzicht_common.streams import read_whole
from ketenzicht_common.testing import TOKENS
from ketenzicht_common.testing.jetstream import event_of

from .test_cluster_profile import STREAM
from .test_cluster_profile import signal as signal_request

pytestmark = [pytest.mark.cluster, pytest.mark.e2e, pytest.mark.postgres]


@pytest.fixture
def intake_cluster() -> Iterator[ClusterStack]:
    root = Path(tempfile.mkdtemp(prefix="ketenzicht-lease-"))
    root.chmod(0o755)  # PostgreSQL, as Debian's postgres user when root runs the tests
    stack = ClusterStack(loopback(root=root, free_ports=True))
    try:
        with pytest.MonkeyPatch.context() as environment:
            stack.start(services=["intake"], instances=1)
            for key, value in stack.caller_env().items():
                environment.setenv(key, value)  # this test's clients speak TLS to it
            yield stack
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)


async def register_many(address: str, numbers: range) -> set[str]:
    limit = asyncio.Semaphore(32)
    async with connect(address, token=TOKENS["KMAR"]) as channel:
        stub = IntakeServiceStub(channel)

        async def one(n: int) -> list[str]:
            async with limit:
                reply = await stub.RegisterSignal(signal_request(n), timeout=30)
                return list(reply.ack.event_ids)

        replies = await asyncio.gather(*(one(n) for n in numbers))
    return {event_id for ids in replies for event_id in ids}


async def stream_count(stack: ClusterStack) -> int:
    nc = await nats.connect(**stack.profile.login("intake"))
    try:
        info = await nc.jetstream().stream_info(STREAM)
        return int(info.state.messages)
    finally:
        await nc.close()


async def stream_ids(stack: ClusterStack) -> Counter[str]:
    nc = await nats.connect(**stack.profile.login("intake"))
    try:
        return Counter(str(event_of(m)[0].event_id) for m in await read_whole(nc, "intake", STREAM))
    finally:
        await nc.close()


async def test_the_standby_relay_publishes_the_rest_when_the_holder_dies_mid_publication(
    intake_cluster: ClusterStack,
) -> None:
    holder = intake_cluster.services[0]
    standby = intake_cluster.start_service("intake", instance="b")
    assert holder.process is not None

    # Frozen, the holder keeps its lease and publishes nothing: what the standby stores waits.
    holder.process.send_signal(signal.SIGSTOP)
    total = 1500
    stored = await register_many(standby.address, range(total))
    assert len(stored) == total
    await asyncio.sleep(1.5)
    assert await stream_count(intake_cluster) == 0, "the standby published without the lease"

    # Let the holder publish, and stop it again part-way through.
    holder.process.send_signal(signal.SIGCONT)
    deadline = time.monotonic() + 30
    while (published := await stream_count(intake_cluster)) == 0:
        assert time.monotonic() < deadline, "the holder never published"
    holder.process.send_signal(signal.SIGSTOP)
    await asyncio.sleep(0.5)
    at_death = await stream_count(intake_cluster)
    assert 0 < at_death < total, f"the holder had published {published}, then {at_death}"
    holder.kill()
    killed_at = time.monotonic()

    while (await stream_count(intake_cluster)) < total:
        assert time.monotonic() - killed_at < 20, "the standby did not take over"
        await asyncio.sleep(0.1)
    took_over = time.monotonic() - killed_at
    print(f"the standby published the rest {took_over:.2f} s after the holder died")

    await asyncio.sleep(1.0)  # room for a duplicate to show up, if there were one
    ids = await stream_ids(intake_cluster)
    assert set(ids) == stored
    assert all(n == 1 for n in ids.values()), "an event was published twice"
    assert took_over < 10, f"the standby took {took_over:.1f} s to take over"
    log = (intake_cluster.log_dir / "intake-b.log").read_text()
    assert "lease ketenzicht.relay.intake acquired" in log
