"""An OM system sends its backlog on one stream: each command validated and answered alone."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from google.rpc import code_pb2, error_details_pb2, status_pb2

from ketenzicht.prosecution.v1 import prosecution_pb2 as pb
from ketenzicht.prosecution.v1.prosecution_pb2_grpc import ProsecutionServiceStub
from ketenzicht_common.client import connect
from ketenzicht_common.processes import NatsServer
from ketenzicht_common.testing import TOKENS
from ketenzicht_common.testing.fixtures import ServiceFactory
from ketenzicht_common.testing.jetstream import stream_messages
from ketenzicht_contracts.envelope import stream_for

pytestmark = pytest.mark.integration

STREAM = stream_for("prosecution")


def reason_of(error: status_pb2.Status) -> str:
    for detail in error.details:
        failure = error_details_pb2.PreconditionFailure()
        if detail.Unpack(failure):
            return str(failure.violations[0].type)
    return ""


def register(case_id: str, suspect_id: str, on: str = "2022-06-01", *, command_id: str = "",
             parketnummer: str = "") -> pb.ProsecutionCommand:
    return pb.ProsecutionCommand(register_case=pb.RegisterCaseRequest(
        command_id=command_id, case_id=case_id, suspect_id=suspect_id, occurred_on=on,
        parketnummer=parketnummer))


def fact(case_id: str, suspect_id: str, on: str) -> pb.SuspectFactRequest:
    return pb.SuspectFactRequest(case_id=case_id, suspect_id=suspect_id, occurred_on=on)


async def test_a_backlog_on_one_stream_is_stored_and_each_command_answered(
        nats_server: NatsServer, service_factory: ServiceFactory) -> None:
    prosecution = service_factory("prosecution", nats_server)
    async with connect(prosecution.address, token=TOKENS["OM"]) as channel:
        stub = ProsecutionServiceStub(channel)
        base, final = "case-om-bulk", "suspect-om-final"
        before = [
            await stub.RegisterCase(register(base, "suspect-om-base", command_id="bulk-base",
                                             parketnummer="08/111111-22").register_case),
            await stub.RegisterCase(register(base, final).register_case),
            await stub.SummonSuspect(fact(base, final, "2022-09-01")),
            await stub.DeliverVerdict(pb.VerdictRequest(
                case_id=base, suspect_id=final, occurred_on="2023-01-10",
                instance=pb.COURT_INSTANCE_FIRST_INSTANCE,
                outcome=pb.VERDICT_OUTCOME_ACQUITTAL)),
            await stub.MarkCaseFinal(fact(base, final, "2023-01-30")),
        ]
        backlog = [register(f"case-om-bulk-{n}", f"suspect-om-{n}") for n in range(200)]
        backlog += [pb.ProsecutionCommand(
            hold_examining_magistrate_hearing=pb.VictimFactRequest(
                case_id=base, victim_id=f"victim-om-{n}", occurred_on="2022-07-01"))
            for n in range(100)]
        backlog += [
            # 300: a fact about a suspect the OM registered no case against
            pb.ProsecutionCommand(summon_suspect=fact(base, "suspect-om-never", "2022-09-01")),
            # 301: anything after the case became final
            pb.ProsecutionCommand(lodge_appeal=fact(base, final, "2023-02-01")),
            # 302: the parketnummer belongs to other proceedings
            register(base, "suspect-om-other", parketnummer="08/111111-22"),
            # 303: the command id was used for a different command
            register(base, "suspect-om-reused", command_id="bulk-base"),
            # 304: the same command again: a replay, acknowledged, nothing stored
            register(base, "suspect-om-base", command_id="bulk-base",
                     parketnummer="08/111111-22"),
            # 305: the case is already registered against this suspect
            register(base, final),
            # 306, 307, 308: a malformed parketnummer, a date in the future, no command at all
            register(base, "suspect-om-bad", parketnummer="123"),
            register(base, "suspect-om-future", on="2999-01-01"),
            pb.ProsecutionCommand(),
        ]

        async def requests() -> AsyncIterator[pb.ProsecutionCommand]:
            for command in backlog:
                yield command

        results = {r.sequence: r async for r in stub.Submit(requests())}
        case = await stub.GetProsecutionCase(pb.GetProsecutionCaseRequest(case_id=base))

    assert sorted(results) == list(range(len(backlog)))
    assert all(results[n].HasField("ack") for n in range(300))
    assert all(len(results[n].ack.event_ids) == 1 for n in range(300))
    refused = {n: results[n].error for n in range(300, 309) if n != 304}
    assert {n: e.code for n, e in refused.items()} == {
        300: code_pb2.FAILED_PRECONDITION, 301: code_pb2.FAILED_PRECONDITION,
        302: code_pb2.FAILED_PRECONDITION, 303: code_pb2.ALREADY_EXISTS,
        305: code_pb2.ALREADY_EXISTS, 306: code_pb2.INVALID_ARGUMENT,
        307: code_pb2.INVALID_ARGUMENT, 308: code_pb2.INVALID_ARGUMENT}
    assert [reason_of(refused[n]) for n in (300, 301, 302)] == [
        "CASE_NOT_REGISTERED", "CASE_FINAL", "PARKETNUMMER_IN_USE"]
    assert results[304].ack.replayed
    assert list(results[304].ack.event_ids) == list(before[0].event_ids)
    assert len(case.heard_victim_ids) == 100
    expected = 5 + 300  # the five unary commands, then one event per accepted command
    messages = await stream_messages(nats_server, STREAM, at_least=expected)
    assert len(messages) == expected


async def test_a_stream_from_a_role_without_access_is_refused(
        nats_server: NatsServer, service_factory: ServiceFactory) -> None:
    prosecution = service_factory("prosecution", nats_server)
    async with connect(prosecution.address, token=TOKENS["POLICE"]) as channel:
        call = ProsecutionServiceStub(channel).Submit(iter([register("case-om-x", "suspect-x")]))
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            async for _ in call:
                pass
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
