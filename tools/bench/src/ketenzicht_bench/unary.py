"""CPU of one unary command in intake beside a bare grpc.aio unary call, in the same run.

The same request message (``RegisterSignalRequest``) with the same metadata (the bearer token),
a response of the same size, the same number of calls and the same number in flight on one
channel, each server its own process, its CPU read from the kernel
before and after. Intake's includes what the command costs it until its event is on JetStream
(its relay runs in the same process), as a command's cost in the chain does."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import grpc

from ketenzicht.common.v1 import common_pb2
from ketenzicht.intake.v1 import intake_pb2 as intake
from ketenzicht.intake.v1.intake_pb2_grpc import IntakeServiceStub
from ketenzicht_common.client import caller_metadata, connect
from ketenzicht_common.cluster import ClusterStack
from ketenzicht_common.processes import ServiceProcess
from ketenzicht_common.stack import Stack
from ketenzicht_common.testing.fixtures import REPO_ROOT
from ketenzicht_common.testing.jetstream import stream_count

from . import bare_grpc
from .memory import cpu_seconds

POLICE_TOKEN = "local-police-token"


@dataclass(frozen=True)
class UnaryCost:
    calls: int
    intake_ms: float
    bare_ms: float

    @property
    def ratio(self) -> float:
        return self.intake_ms / self.bare_ms if self.bare_ms else 0.0


def _signal() -> intake.RegisterSignalRequest:
    return intake.RegisterSignalRequest(
        occurred_on="2024-05-01",
        source_organisation=intake.SOURCE_ORGANISATION_POLICE,
        form=common_pb2.EXPLOITATION_FORM_LABOUR,
        nationality_group=intake.NATIONALITY_GROUP_DUTCH,
        residence_position=intake.RESIDENCE_POSITION_LAWFUL,
        region=intake.POLICE_REGION_ROTTERDAM,
    )


@contextmanager
def bare_server() -> Iterator[ServiceProcess]:
    process = ServiceProcess(
        "bare-grpc", {}, cwd=REPO_ROOT, args=["-m", "ketenzicht_bench.bare_grpc"]
    )
    process.start()
    try:
        yield process
    finally:
        process.stop()


async def _calls(call: Callable[[], Awaitable[Any]], calls: int, in_flight: int) -> None:
    slots = asyncio.Semaphore(in_flight)

    async def one() -> None:
        async with slots:
            await call()

    await asyncio.gather(*(one() for _ in range(calls)))


async def unary_cost(stack: Stack | ClusterStack, calls: int, in_flight: int = 16) -> UnaryCost:
    with bare_server() as bare:
        assert bare.process is not None
        async with grpc.aio.insecure_channel(bare.address) as channel:
            method = channel.unary_unary(
                bare_grpc.PATH,
                request_serializer=intake.RegisterSignalRequest.SerializeToString,
                response_deserializer=intake.RegisterSignalResponse.FromString,
            )
            request = _signal()
            # The same metadata as intake's callers send (`ketenzicht_common.client`): the
            # bearer token, and a trace context when tracing is on. Checking it is intake's
            # cost; carrying it is grpcio's, on both sides of the comparison.
            metadata = tuple(caller_metadata(POLICE_TOKEN))
            await _calls(lambda: method(request, metadata=metadata), 50, in_flight)  # warm
            before = cpu_seconds(bare.process.pid)
            await _calls(lambda: method(request, metadata=metadata), calls, in_flight)
            bare_ms = 1000 * (cpu_seconds(bare.process.pid) - before) / calls
    process = next(p for p in stack.services if p.name == "intake")
    assert process.process is not None
    before = cpu_seconds(process.process.pid)
    await intake_calls(stack, calls, in_flight)
    intake_ms = 1000 * (cpu_seconds(process.process.pid) - before) / calls
    return UnaryCost(calls, intake_ms, bare_ms)


async def intake_calls(stack: Stack | ClusterStack, calls: int, in_flight: int = 16) -> None:
    """``calls`` unary RegisterSignal calls to intake, ``in_flight`` at once, and the wait
    until its relay has put every event on JetStream (part of the command's cost)."""
    published = await stream_count(stack.profile, "KETENZICHT_INTAKE")
    async with connect(stack.address("intake"), token=POLICE_TOKEN) as channel:
        police = IntakeServiceStub(channel)
        await _calls(lambda: police.RegisterSignal(_signal()), calls, in_flight)
    deadline = time.monotonic() + 60
    while (
        await stream_count(stack.profile, "KETENZICHT_INTAKE") < published + calls
        and time.monotonic() < deadline
    ):
        await asyncio.sleep(0.02)
