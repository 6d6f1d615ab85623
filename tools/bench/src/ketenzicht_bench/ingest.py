"""End-to-end ingest: commands over gRPC until their events are stored and on JetStream."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from ketenzicht.common.v1 import common_pb2
from ketenzicht.intake.v1 import intake_pb2 as pb
from ketenzicht.intake.v1.intake_pb2_grpc import IntakeServiceStub
from ketenzicht_common.client import connect
from ketenzicht_common.processes import NatsServer, ServiceProcess
from ketenzicht_common.testing.jetstream import stream_count

from .raw import Rate


def _signal(n: int) -> pb.IntakeCommand:
    return pb.IntakeCommand(register_signal=pb.RegisterSignalRequest(
        command_id=f"bench-signal-{n}", occurred_on="2022-01-03",
        source_organisation=pb.SOURCE_ORGANISATION_POLICE,
        form=common_pb2.EXPLOITATION_FORM_SEXUAL, nationality_group=pb.NATIONALITY_GROUP_DUTCH,
        residence_position=pb.RESIDENCE_POSITION_LAWFUL, region=pb.POLICE_REGION_AMSTERDAM))


async def intake_bulk(server: NatsServer, intake: ServiceProcess, victims: int,
                      token: str) -> Rate:
    """Each victim: a signal, then a report in a case of its own — two public events."""
    async with connect(intake.address, token=token) as channel:
        stub = IntakeServiceStub(channel)
        started = time.perf_counter()
        signals: dict[int, str] = {}

        async def signal_stream() -> AsyncIterator[pb.IntakeCommand]:
            for n in range(victims):
                yield _signal(n)

        async for result in stub.Submit(signal_stream()):
            signals[result.sequence] = result.signal.victim_id

        async def report_stream() -> AsyncIterator[pb.IntakeCommand]:
            for n in range(victims):
                yield pb.IntakeCommand(file_report=pb.FileReportRequest(
                    command_id=f"bench-report-{n}", victim_id=signals[n],
                    case_id=f"bench-case-{n}", occurred_on="2022-01-10"))

        async for _ in stub.Submit(report_stream()):
            pass
        events = 2 * victims
        while await stream_count(server.url, "KETENZICHT_INTAKE") < events:
            await asyncio.sleep(0.02)
        return Rate("end-to-end ingest: gRPC stream → stored → on JetStream", events,
                    time.perf_counter() - started)
