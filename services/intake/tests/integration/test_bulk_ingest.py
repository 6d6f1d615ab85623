"""A police system sends its backlog on one stream: each command validated and answered alone."""

from __future__ import annotations

import pytest
from google.rpc import code_pb2

from ketenzicht.common.v1 import common_pb2
from ketenzicht.intake.v1 import intake_pb2 as pb
from ketenzicht.intake.v1.intake_pb2_grpc import IntakeServiceStub
from ketenzicht_common.client import connect
from ketenzicht_common.processes import NatsServer
from ketenzicht_common.testing import TOKENS
from ketenzicht_common.testing.fixtures import ServiceFactory
from ketenzicht_common.testing.jetstream import stream_messages

pytestmark = pytest.mark.integration


def signal(victim_id: str = "") -> pb.IntakeCommand:
    return pb.IntakeCommand(register_signal=pb.RegisterSignalRequest(
        victim_id=victim_id, occurred_on="2021-06-01",
        source_organisation=pb.SOURCE_ORGANISATION_LABOUR_INSPECTORATE,
        form=common_pb2.EXPLOITATION_FORM_LABOUR, nationality_group=pb.NATIONALITY_GROUP_OTHER_EU,
        residence_position=pb.RESIDENCE_POSITION_LAWFUL, region=pb.POLICE_REGION_OOST_BRABANT))


async def test_a_backlog_on_one_stream_is_stored_and_each_command_answered(
        nats_server: NatsServer, service_factory: ServiceFactory) -> None:
    intake = service_factory("intake", nats_server)
    async with connect(intake.address, token=TOKENS["LABOUR_INSPECTORATE"]) as channel:
        stub = IntakeServiceStub(channel)
        first = await stub.RegisterSignal(signal().register_signal)
        backlog = [signal() for _ in range(300)]
        backlog += [pb.IntakeCommand(file_report=pb.FileReportRequest(
            victim_id=first.victim_id, case_id=f"case-{n}", occurred_on="2021-07-01"))
            for n in range(200)]
        backlog.append(pb.IntakeCommand(file_report=pb.FileReportRequest(
            victim_id=first.victim_id, case_id="case-0", occurred_on="2021-07-02")))
        backlog.append(pb.IntakeCommand(file_report=pb.FileReportRequest(
            victim_id=first.victim_id, case_id="bad id", occurred_on="2021-07-02")))
        backlog.append(pb.IntakeCommand())

        async def requests():  # type: ignore[no-untyped-def]
            for command in backlog:
                yield command

        results = {r.sequence: r async for r in stub.Submit(requests())}

    assert sorted(results) == list(range(len(backlog)))
    assert all(results[n].HasField("signal") for n in range(300))
    assert all(results[n].HasField("ack") for n in range(300, 500))
    assert results[500].error.code == code_pb2.ALREADY_EXISTS
    assert results[501].error.code == code_pb2.INVALID_ARGUMENT
    assert results[502].error.code == code_pb2.INVALID_ARGUMENT
    messages = await stream_messages(nats_server, "KETENZICHT_INTAKE", at_least=501)
    assert len(messages) == 501  # 301 signals and 200 reports, nothing for the refusals


async def test_a_stream_without_credentials_is_refused(
        nats_server: NatsServer, service_factory: ServiceFactory) -> None:
    import grpc

    intake = service_factory("intake", nats_server)
    async with connect(intake.address, token=TOKENS["OM"]) as channel:
        # Refused on its credentials, before any message is read. No message is sent: a write
        # racing the refusal makes grpc's asyncio client report INTERNAL instead of the
        # server's status (grpc/grpc#36066, open), which made this test flaky.
        call = IntakeServiceStub(channel).Submit(iter([]))
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            async for _ in call:
                pass
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
