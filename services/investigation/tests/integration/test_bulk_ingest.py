"""A police system sends its backlog on one stream: each command validated and answered alone."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from google.rpc import code_pb2, error_details_pb2, status_pb2

from ketenzicht.investigation.v1 import investigation_pb2 as pb
from ketenzicht.investigation.v1.investigation_pb2_grpc import InvestigationServiceStub
from ketenzicht_common.client import connect
from ketenzicht_common.processes import NatsServer
from ketenzicht_common.testing import TOKENS
from ketenzicht_common.testing.fixtures import ServiceFactory
from ketenzicht_common.testing.jetstream import stream_messages
from ketenzicht_contracts.envelope import stream_for

pytestmark = pytest.mark.integration

STREAM = stream_for("investigation")


def reason_of(error: status_pb2.Status) -> str:
    for detail in error.details:
        failure = error_details_pb2.PreconditionFailure()
        if detail.Unpack(failure):
            return str(failure.violations[0].type)
    return ""


def open_case(case_id: str, on: str = "2022-01-10", *, command_id: str = "",
              number: str = "") -> pb.InvestigationCommand:
    return pb.InvestigationCommand(open_investigation=pb.OpenInvestigationRequest(
        command_id=command_id, case_id=case_id, occurred_on=on,
        police_registration_number=number))


async def test_a_backlog_on_one_stream_is_stored_and_each_command_answered(
        nats_server: NatsServer, service_factory: ServiceFactory) -> None:
    investigation = service_factory("investigation", nats_server)
    async with connect(investigation.address, token=TOKENS["POLICE"]) as channel:
        stub = InvestigationServiceStub(channel)
        base = "case-bulk-base"
        before = [
            await stub.OpenInvestigation(open_case(base, command_id="bulk-open-base",
                                                   number="PL-BULK-0001").open_investigation),
            await stub.OpenInvestigation(open_case("case-bulk-closed").open_investigation),
            await stub.CloseInvestigation(pb.CloseInvestigationRequest(
                case_id="case-bulk-closed", occurred_on="2022-03-01",
                reason=pb.INVESTIGATION_CLOSE_REASON_NO_LEADS)),
        ]
        backlog = [open_case(f"case-bulk-{n}") for n in range(200)]
        backlog += [pb.InvestigationCommand(hear_victim=pb.HearVictimRequest(
            case_id=base, victim_id=f"victim-bulk-{n}", occurred_on="2022-02-01"))
            for n in range(100)]
        backlog += [
            # 300: a fact about a case no investigation was opened for
            pb.InvestigationCommand(identify_suspect=pb.IdentifySuspectRequest(
                case_id="case-bulk-never", suspect_id="suspect-x", occurred_on="2022-02-01")),
            # 301: a fact dated after the close
            pb.InvestigationCommand(suspend_investigation=pb.CaseFactRequest(
                case_id="case-bulk-closed", occurred_on="2022-04-01")),
            # 302: the registration number belongs to another case
            open_case("case-bulk-other", number="PL-BULK-0001"),
            # 303: the command id was used for a different command
            open_case("case-bulk-reused", command_id="bulk-open-base"),
            # 304: the same command again: a replay, acknowledged, nothing stored
            open_case(base, command_id="bulk-open-base", number="PL-BULK-0001"),
            # 305, 306, 307: not a pseudonym, a date in the future, no command at all
            open_case("bad id"),
            open_case("case-bulk-future", on="2999-01-01"),
            pb.InvestigationCommand(),
        ]

        async def requests() -> AsyncIterator[pb.InvestigationCommand]:
            for command in backlog:
                yield command

        results = {r.sequence: r async for r in stub.Submit(requests())}
        summary = await stub.GetInvestigation(pb.GetInvestigationRequest(case_id=base))

    assert sorted(results) == list(range(len(backlog)))
    assert all(results[n].HasField("ack") for n in range(300))
    assert all(len(results[n].ack.event_ids) == 1 for n in range(300))
    refused = {n: results[n].error for n in range(300, 308) if n != 304}
    assert {n: e.code for n, e in refused.items()} == {
        300: code_pb2.FAILED_PRECONDITION, 301: code_pb2.FAILED_PRECONDITION,
        302: code_pb2.FAILED_PRECONDITION, 303: code_pb2.ALREADY_EXISTS,
        305: code_pb2.INVALID_ARGUMENT, 306: code_pb2.INVALID_ARGUMENT,
        307: code_pb2.INVALID_ARGUMENT}
    assert [reason_of(refused[n]) for n in (300, 301, 302)] == [
        "INVESTIGATION_NOT_OPENED", "INVESTIGATION_CLOSED", "REGISTRATION_NUMBER_IN_USE"]
    assert results[304].ack.replayed
    assert list(results[304].ack.event_ids) == list(before[0].event_ids)
    assert len(summary.heard_victim_ids) == 100
    expected = 3 + 300  # the three unary commands, then one event per accepted command
    messages = await stream_messages(nats_server, STREAM, at_least=expected)
    assert len(messages) == expected


async def test_a_stream_from_a_role_without_access_is_refused(
        nats_server: NatsServer, service_factory: ServiceFactory) -> None:
    investigation = service_factory("investigation", nats_server)
    async with connect(investigation.address, token=TOKENS["OM"]) as channel:
        # Refused on its credentials, before any message is read. No message is sent: a write
        # racing the refusal makes grpc's asyncio client report INTERNAL instead of the
        # server's status (grpc/grpc#36066, open), which made this test flaky.
        call = InvestigationServiceStub(channel).Submit(iter([]))
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            async for _ in call:
                pass
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
