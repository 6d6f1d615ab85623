"""Two instances of intake on one PostgreSQL schema, commands about one victim sent to both at
once: every command is stored once (optimistic concurrency: the instance that loses the race
re-reads and applies its command again), and a command id is answered once, whichever instance
it reaches."""

from __future__ import annotations

import asyncio
import shutil
import signal as signal_module
import tempfile
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from ketenzicht.intake.v1 import intake_pb2 as pb
from ketenzicht.intake.v1.intake_pb2_grpc import IntakeServiceStub
from ketenzicht_common.client import connect
from ketenzicht_common.cluster import ClusterStack, loopback
from ketenzicht_common.testing import TOKENS

from .test_cluster_profile import signal

pytestmark = [pytest.mark.cluster, pytest.mark.e2e, pytest.mark.postgres]


@pytest.fixture
def two_intakes() -> Iterator[ClusterStack]:
    root = Path(tempfile.mkdtemp(prefix="ketenzicht-writers-"))
    root.chmod(0o755)  # PostgreSQL, as Debian's postgres user when root runs the tests
    stack = ClusterStack(loopback(root=root, free_ports=True))
    try:
        with pytest.MonkeyPatch.context() as environment:
            stack.start(services=["intake"], instances=1)
            stack.start_service("intake", instance="b")
            for key, value in stack.caller_env().items():
                environment.setenv(key, value)  # this test's clients speak TLS to it
            yield stack
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)


def repeat_signal(victim_id: str, n: int) -> pb.RegisterSignalRequest:
    request = signal(n)
    request.command_id = f"repeat-{n}"
    request.victim_id = victim_id
    return request


async def test_concurrent_commands_on_one_victim_through_two_instances_lose_nothing(
    two_intakes: ClusterStack,
) -> None:
    first, second = (p.address for p in two_intakes.services)
    async with (
        connect(first, token=TOKENS["KMAR"]) as one,
        connect(second, token=TOKENS["KMAR"]) as other,
    ):
        stubs = [IntakeServiceStub(one), IntakeServiceStub(other)]
        victim = (await stubs[0].RegisterSignal(signal(0))).victim_id
        # Both instances hold the victim in their caches: each write of one makes the
        # other's copy stale.
        for n, stub in enumerate(stubs, start=1):
            await stub.RegisterSignal(repeat_signal(victim, n))

        count = 40
        replies = await asyncio.gather(
            *(
                stubs[n % 2].RegisterSignal(repeat_signal(victim, n), timeout=30)
                for n in range(3, 3 + count)
            )
        )
        event_ids = [event_id for reply in replies for event_id in reply.ack.event_ids]
        assert len(event_ids) == count == len(set(event_ids))

        # No lost update: both instances see every signal.
        for stub in stubs:
            summary = await stub.GetVictim(pb.GetVictimRequest(victim_id=victim))
            assert summary.signals == 3 + count

        # A command id is answered once: the other instance answers a retry from the log.
        again = await asyncio.gather(
            *(
                stubs[(n + 1) % 2].RegisterSignal(repeat_signal(victim, n), timeout=30)
                for n in range(3, 3 + count)
            )
        )
        assert [list(r.ack.event_ids) for r in again] == [list(r.ack.event_ids) for r in replies]

        # The same new command to both instances at the same moment: stored once.
        both = await asyncio.gather(
            *(stub.RegisterSignal(repeat_signal(victim, 99), timeout=30) for stub in stubs),
            return_exceptions=True,
        )
        answered = [r for r in both if not isinstance(r, BaseException)]
        assert answered, both
        assert all(isinstance(r, grpc.aio.AioRpcError) or r in answered for r in both)
        assert len({tuple(r.ack.event_ids) for r in answered}) == 1
        for stub in stubs:
            summary = await stub.GetVictim(pb.GetVictimRequest(victim_id=victim))
            assert summary.signals == 3 + count + 1


async def test_a_client_with_both_addresses_uses_both_and_carries_on_when_one_dies(
    two_intakes: ClusterStack,
) -> None:
    first, second = two_intakes.services
    assert first.process is not None
    async with connect(f"{first.address},{second.address}", token=TOKENS["KMAR"]) as channel:
        stub = IntakeServiceStub(channel)
        for n in range(10):
            await stub.RegisterSignal(signal(1000 + n), timeout=10)

        # Frozen, the first instance answers nothing: the calls round robin sends it time out,
        # the others are answered by the second.
        first.process.send_signal(signal_module.SIGSTOP)
        outcomes = await asyncio.gather(
            *(stub.RegisterSignal(signal(2000 + n), timeout=2) for n in range(10)),
            return_exceptions=True,
        )
        answered = [o for o in outcomes if not isinstance(o, BaseException)]
        timed_out = [
            o
            for o in outcomes
            if isinstance(o, grpc.aio.AioRpcError) and o.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        ]
        assert answered, outcomes
        assert timed_out, outcomes
        assert len(answered) + len(timed_out) == 10

        # Dead, it is left out: every call reaches the second (a command that was on its way
        # to the first is sent again with its command id, and stored once).
        first.kill()
        refused: list[grpc.StatusCode] = []
        for n in range(20):
            for _attempt in range(5):
                try:
                    await stub.RegisterSignal(signal(3000 + n), timeout=5)
                    break
                except grpc.aio.AioRpcError as error:
                    refused.append(error.code())
                    await asyncio.sleep(0.2)
            else:
                pytest.fail(f"call {n} never answered: {refused}")
        assert set(refused) <= {grpc.StatusCode.UNAVAILABLE}
