"""The shared suite of the command services (intake, investigation, prosecution), run with each
service's cases: a real process, gRPC over loopback, a real nats-server.

What every command service promises alike lives here once: who may call, that a retry answers
the first result, that every refusal names its reason and changes nothing, that health and
reflection answer, and that a backlog on one bulk stream is stored with each command answered
alone. What only one service does stays in that service's own tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import grpc
import pytest
from intake_cases import INTAKE
from investigation_cases import INVESTIGATION
from prosecution_cases import PROSECUTION

from ketenzicht_common.client import connect
from ketenzicht_common.processes import NatsServer
from ketenzicht_common.testing import TOKENS
from ketenzicht_common.testing.command_service import CommandService
from ketenzicht_common.testing.fixtures import ServiceFactory
from ketenzicht_common.testing.jetstream import stream_messages
from ketenzicht_common.testing.service import (
    Running,
    field_violations,
    reason_of,
    rpc_error,
    running_service,
    status_reason,
)
from ketenzicht_contracts.envelope import stream_for

pytestmark = pytest.mark.integration

SERVICES = [INTAKE, INVESTIGATION, PROSECUTION]


@pytest.fixture(scope="module", params=SERVICES, ids=[s.name for s in SERVICES])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[CommandService, Running]]:
    service: CommandService = request.param
    with running_service(tmp_path_factory.mktemp(service.name), service.name) as running:
        yield service, running


@pytest.fixture
async def stub(served: tuple[CommandService, Running]) -> AsyncIterator[Any]:
    service, running = served
    async with connect(running.service.address, token=TOKENS[service.role]) as channel:
        yield service.stub(channel)


async def test_callers_must_authenticate_and_hold_a_role_of_the_service(
    served: tuple[CommandService, Running],
) -> None:
    service, running = served
    stored, published = running.stored(), await running.published()
    refused = [
        (None, grpc.StatusCode.UNAUTHENTICATED),
        ("not-a-token", grpc.StatusCode.UNAUTHENTICATED),
        *((TOKENS[role], grpc.StatusCode.PERMISSION_DENIED) for role in service.denied_roles),
    ]
    for token, code in refused:
        async with connect(running.service.address, token=token) as channel:
            error = await rpc_error(service.command(service.stub(channel), "auth-refused"))
            assert error.code() == code, token
    assert running.stored() == stored
    for role in (service.role, *service.other_roles):
        async with connect(running.service.address, token=TOKENS[role]) as channel:
            reply = await service.command(service.stub(channel), f"auth-{role}")
            assert len(service.ack(reply).event_ids) == 1
    await asyncio.sleep(0.5)
    assert await running.published() == published + 1 + len(service.other_roles)


async def test_a_retried_command_returns_the_first_result_and_stores_nothing_new(
    served: tuple[CommandService, Running], stub: Any
) -> None:
    service, running = served
    first = service.ack(await service.command(stub, "retry"))
    stored = running.stored()
    again = service.ack(await service.command(stub, "retry"))
    assert not first.replayed
    assert again.replayed
    assert list(again.event_ids) == list(first.event_ids)
    assert running.stored() == stored

    reused = await rpc_error(service.changed(stub, "retry"))
    assert reused.code() == grpc.StatusCode.ALREADY_EXISTS
    assert running.stored() == stored


async def test_every_refusal_names_its_reason_and_changes_nothing(
    served: tuple[CommandService, Running], stub: Any
) -> None:
    service, running = served
    assert service.refusals is not None
    refusals = await service.refusals(stub)
    stored, published = running.stored(), await running.published()
    for refusal in refusals:
        error = await rpc_error(refusal.call)
        assert error.code() == refusal.code, error.details()
        if refusal.reason is not None:
            assert reason_of(error) == refusal.reason, error.details()
        assert refusal.fields <= field_violations(error), error.details()
        assert error.details()
        if service.private:
            assert service.private not in (error.details() or "")
    await asyncio.sleep(0.6)
    assert running.stored() == stored
    assert await running.published() == published


async def test_health_and_reflection_answer(served: tuple[CommandService, Running]) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    service, running = served
    async with grpc.aio.insecure_channel(running.service.address) as channel:
        health = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=service.grpc_service)
        )
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        responses = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")])
        )
        names = [s.name async for r in responses for s in r.list_services_response.service]
        assert service.grpc_service in names


@pytest.mark.parametrize("service", SERVICES, ids=[s.name for s in SERVICES])
async def test_a_backlog_on_one_stream_is_stored_and_each_command_answered(
    service: CommandService, nats_server: NatsServer, service_factory: ServiceFactory
) -> None:
    process = service_factory(service.name, nats_server)
    assert service.backlog is not None
    async with connect(process.address, token=TOKENS[service.role]) as channel:
        stub = service.stub(channel)
        backlog = await service.backlog(stub)

        async def commands() -> AsyncIterator[Any]:
            for command in backlog.commands:
                yield command

        results = {r.sequence: r async for r in stub.Submit(commands())}
        if backlog.check is not None:
            await backlog.check(stub)

    assert sorted(results) == list(range(len(backlog.commands)))
    for sequences, answer in backlog.accepted:
        assert all(results[n].HasField(answer) for n in sequences), answer
        if answer == "ack":
            assert all(len(results[n].ack.event_ids) == 1 for n in sequences)
    refused = {n: results[n].error for n in backlog.refused}
    assert {n: e.code for n, e in refused.items()} == {
        n: code for n, (code, _) in backlog.refused.items()
    }
    for n, (_, reason) in backlog.refused.items():
        if reason is not None:
            assert status_reason(refused[n]) == reason, n
    if backlog.replayed is not None:
        sequence, event_ids = backlog.replayed
        assert results[sequence].ack.replayed
        assert list(results[sequence].ack.event_ids) == list(event_ids)
    stream = stream_for(service.name)
    messages = await stream_messages(nats_server, stream, at_least=backlog.published)
    assert len(messages) == backlog.published  # nothing for the refusals


@pytest.mark.parametrize("service", SERVICES, ids=[s.name for s in SERVICES])
async def test_a_stream_from_a_role_without_access_is_refused(
    service: CommandService, nats_server: NatsServer, service_factory: ServiceFactory
) -> None:
    process = service_factory(service.name, nats_server)
    async with connect(process.address, token=TOKENS[service.denied_roles[0]]) as channel:
        # Refused on its credentials, before any message is read. No message is sent: a write
        # racing the refusal makes grpc's asyncio client report INTERNAL instead of the
        # server's status (grpc/grpc#36066, open), which made this test flaky.
        call = service.stub(channel).Submit(iter([]))
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            async for _ in call:
                pass
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
