"""PostgreSQL stops and starts again under a running service: the commands it could not store
are answered UNAVAILABLE, succeed when sent again with the same command id, and every event
reaches the bus once (the relay gives up its lease and takes it again)."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from ketenzicht.intake.v1.intake_pb2_grpc import IntakeServiceStub
from ketenzicht_common.client import connect
from ketenzicht_common.cluster import ClusterStack, loopback
from ketenzicht_common.testing import TOKENS

from .test_cluster_profile import published, signal

pytestmark = [pytest.mark.cluster, pytest.mark.e2e, pytest.mark.postgres]


@pytest.fixture
def intake_cluster() -> Iterator[ClusterStack]:
    root = Path(tempfile.mkdtemp(prefix="ketenzicht-pg-restart-"))
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


async def test_commands_refused_while_postgres_is_down_succeed_on_retry_once(
    intake_cluster: ClusterStack,
) -> None:
    async with connect(intake_cluster.address("intake"), token=TOKENS["KMAR"]) as channel:
        stub = IntakeServiceStub(channel)
        before = await stub.RegisterSignal(signal(0), timeout=10)

        intake_cluster.postgres.stop()
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.RegisterSignal(signal(1), timeout=30)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "same command_id" in (refused.value.details() or "")

        intake_cluster.start_postgres()
        codes: list[grpc.StatusCode] = []
        deadline = time.monotonic() + 30
        while True:
            try:
                during = await stub.RegisterSignal(signal(1), timeout=10)
                break
            except grpc.aio.AioRpcError as error:  # a pooled connection the restart broke
                codes.append(error.code())
                assert time.monotonic() < deadline, codes
                await asyncio.sleep(0.5)
        assert set(codes) <= {grpc.StatusCode.UNAVAILABLE}
        again = await stub.RegisterSignal(signal(1), timeout=10)
        assert list(again.ack.event_ids) == list(during.ack.event_ids)

    ids = await published(intake_cluster, 2)
    assert set(ids) == {*before.ack.event_ids, *during.ack.event_ids}
    assert all(n == 1 for n in ids.values())
