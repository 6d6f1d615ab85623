"""The feeder's bulk stream to a service of two instances, one of which answers every command
UNAVAILABLE (residence's warm standby before its health says so, or an instance whose store is
unreachable): the commands it refuses go, on a new stream, to the other, with their command
ids, and each is answered once; with no instance able to store them, they are answered
UNAVAILABLE after the stream's patience instead of being waited on for ever. Real gRPC servers
on loopback, each playing an instance of intake's bulk ``Submit``."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import grpc
import pytest
from google.rpc import code_pb2, status_pb2

from chainsim.feeder import CommandStream
from ketenzicht.common.v1 import common_pb2
from ketenzicht.intake.v1 import intake_pb2, intake_pb2_grpc
from ketenzicht_common.client import open_channel

pytestmark = pytest.mark.integration


class Instance(intake_pb2_grpc.IntakeServiceServicer):  # type: ignore[misc]
    """One instance's bulk stream: stores each command (counted by its command id), or refuses
    each with the status ``refuse`` (UNAVAILABLE: a standby)."""

    def __init__(self, refuse: int | None = None) -> None:
        self.refuse = refuse
        self.stored: Counter[str] = Counter()
        self.refused = 0

    async def Submit(
        self, requests: AsyncIterator[intake_pb2.IntakeCommand], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[intake_pb2.IntakeCommandResult]:
        sequence = 0
        async for request in requests:
            command_id = request.file_report.command_id
            if self.refuse is not None:
                self.refused += 1
                yield intake_pb2.IntakeCommandResult(
                    sequence=sequence, error=status_pb2.Status(code=self.refuse)
                )
            else:
                self.stored[command_id] += 1
                yield intake_pb2.IntakeCommandResult(
                    sequence=sequence, ack=common_pb2.CommandAck(event_ids=[command_id])
                )
            sequence += 1


async def start(instance: Instance, servers: list[grpc.aio.Server]) -> str:
    server = grpc.aio.server()
    intake_pb2_grpc.add_IntakeServiceServicer_to_server(instance, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    servers.append(server)
    return f"127.0.0.1:{port}"


def report(command_id: str) -> intake_pb2.IntakeCommand:
    return intake_pb2.IntakeCommand(
        file_report=intake_pb2.FileReportRequest(command_id=command_id, occurred_on="2024-01-02")
    )


async def test_commands_a_standby_refuses_go_to_the_other_instance_once_each() -> None:
    servers: list[grpc.aio.Server] = []
    standby, active = Instance(refuse=code_pb2.UNAVAILABLE), Instance()
    try:
        addresses = [await start(standby, servers), await start(active, servers)]
        channel = open_channel(",".join(addresses))
        try:
            stub = intake_pb2_grpc.IntakeServiceStub(channel)
            # Streams until one has met the standby (round robin gives it every other stream
            # once both instances are connected).
            results = []
            streams = 0
            while not standby.refused:
                assert streams < 20, "no stream met the standby"
                stream_number, streams = streams, streams + 1
                stream = CommandStream(stub)
                futures = [await stream.send(report(f"c-{stream_number}-{n}")) for n in range(5)]
                results += await asyncio.wait_for(asyncio.gather(*futures), timeout=30)
                await stream.close()
        finally:
            await channel.close()
    finally:
        for server in servers:
            await server.stop(None)
    sent = [f"c-{s}-{n}" for s in range(streams) for n in range(5)]
    assert [r.WhichOneof("outcome") for r in results] == ["ack"] * len(sent)
    assert [r.ack.event_ids[0] for r in results] == sent
    assert active.stored == Counter(sent)  # each stored once, by the instance that can


async def test_commands_no_instance_can_store_are_answered_unavailable_after_the_patience() -> None:
    servers: list[grpc.aio.Server] = []
    refusing = Instance(refuse=code_pb2.UNAVAILABLE)
    try:
        channel = open_channel(await start(refusing, servers))
        try:
            stream = CommandStream(intake_pb2_grpc.IntakeServiceStub(channel), patience=1.0)
            futures = [await stream.send(report(f"c-{n}")) for n in range(3)]
            results = await asyncio.wait_for(asyncio.gather(*futures), timeout=30)
            await stream.close()
        finally:
            await channel.close()
    finally:
        for server in servers:
            await server.stop(None)
    assert [r.error.code for r in results] == [code_pb2.UNAVAILABLE] * 3
    assert refusing.refused > 3, "sent again on new streams before it gave up"


async def test_a_definitive_refusal_is_answered_at_once() -> None:
    servers: list[grpc.aio.Server] = []
    refusing = Instance(refuse=code_pb2.FAILED_PRECONDITION)
    try:
        channel = open_channel(await start(refusing, servers))
        try:
            stream = CommandStream(intake_pb2_grpc.IntakeServiceStub(channel))
            result = await asyncio.wait_for(await stream.send(report("c-0")), timeout=5)
            await stream.close()
        finally:
            await channel.close()
    finally:
        for server in servers:
            await server.stop(None)
    assert result.error.code == code_pb2.FAILED_PRECONDITION
    assert refusing.refused == 1
