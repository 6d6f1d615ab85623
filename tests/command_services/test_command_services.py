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
from ketenzicht_common.testing.jetstream import attributes_of, payload_of, stream_messages
from ketenzicht_common.testing.service import (
    Running,
    field_violations,
    published_ids,
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
        if answer in ("ack", "registered"):
            assert all(len(_ack_of(results[n]).event_ids) == 1 for n in sequences)
    refused = {n: results[n].error for n in backlog.refused}
    assert {n: e.code for n, e in refused.items()} == {
        n: code for n, (code, _) in backlog.refused.items()
    }
    for n, (_, reason) in backlog.refused.items():
        if reason is not None:
            assert status_reason(refused[n]) == reason, n
    if backlog.replayed is not None:
        sequence, event_ids = backlog.replayed
        assert _ack_of(results[sequence]).replayed
        assert list(_ack_of(results[sequence]).event_ids) == list(event_ids)
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


# Correction reasons (ketenzicht.common.v1.CorrectionReason).
REGISTERED_IN_ERROR, WRONG_DATE, WRONG_CATEGORY = 1, 5, 6
UNKNOWN_EVENT_ID = "00000000-0000-4000-8000-000000000000"


async def _published_body(running: Running, event_id: str) -> tuple[str, dict[str, Any]]:

    found = await published_ids(running, [event_id])
    assert event_id in found, "the correction was not published"
    message = found[event_id]
    return attributes_of(message)["type"], payload_of(message)


async def test_a_fact_is_annulled_and_amended_by_its_owner_and_published_as_a_fact(
    served: tuple[CommandService, Running], stub: Any
) -> None:
    service, running = served
    corrections = service.corrections
    if corrections is None:
        pytest.skip(f"{service.name} takes no corrections yet (issue 15, point 1)")
    key = "corrected"
    (fact_id,) = (await corrections.state(stub, key)).event_ids

    # Amend the date, then amend the amendment (a category): each a new published event that
    # names the event it corrects and the fact it belongs to; the fact stays stored.
    dated = await corrections.amend(stub, key, fact_id, WRONG_DATE, "amend-1", "2022-02-03", False)
    (dated_id,) = dated.event_ids
    again = await corrections.amend(stub, key, fact_id, WRONG_DATE, "amend-1", "2022-02-03", False)
    assert again.replayed
    assert list(again.event_ids) == [dated_id]
    categorised = await corrections.amend(stub, key, dated_id, WRONG_CATEGORY, "amend-2", "", True)
    (categorised_id,) = categorised.event_ids

    prefix = f"nl.ketenzicht.{service.name}."
    kind, body = await _published_body(running, dated_id)
    assert kind == prefix + "FactAmended"
    assert body["corrected_event_id"] == body["original_event_id"] == fact_id
    assert body["fact_occurred_on"] == "2022-02-03"
    assert body["correction_reason"] == "WRONG_DATE"
    kind, body = await _published_body(running, categorised_id)
    assert kind == prefix + "FactAmended"
    assert (body["corrected_event_id"], body["original_event_id"]) == (dated_id, fact_id)
    assert body["fact_occurred_on"] == "2022-02-03"  # the earlier amendment still holds
    field_name, value = corrections.category
    assert body["amended"][field_name] == value

    # Refusals: nothing stored, nothing published.
    await asyncio.sleep(0.3)
    stored, published = running.stored(), await running.published()
    failed, invalid = grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.INVALID_ARGUMENT
    refusals: list[tuple[Any, grpc.StatusCode, str | None]] = [
        (
            corrections.annul(stub, key, UNKNOWN_EVENT_ID, REGISTERED_IN_ERROR, "r1"),
            failed,
            "FACT_NOT_FOUND",
        ),
        (
            corrections.annul(stub, f"{key}-elsewhere", fact_id, REGISTERED_IN_ERROR, "r2"),
            failed,
            "FACT_NOT_FOUND",
        ),
        (
            corrections.amend(stub, key, fact_id, WRONG_DATE, "r3", "2022-13-01", False),
            invalid,
            None,
        ),
        (
            corrections.amend(stub, key, fact_id, WRONG_DATE, "r4", "2999-01-01", False),
            invalid,
            None,
        ),
        (corrections.annul(stub, key, fact_id, 99, "r5"), invalid, None),
        (corrections.annul(stub, key, fact_id, WRONG_DATE, "r6"), invalid, None),
        (
            corrections.amend(stub, key, fact_id, REGISTERED_IN_ERROR, "r7", "2022-02-04", False),
            invalid,
            None,
        ),
        (corrections.amend(stub, key, fact_id, WRONG_DATE, "r8", "", False), invalid, None),
        (
            corrections.amend(stub, key, fact_id, WRONG_DATE, "r9", "2022-02-03", False),
            failed,
            "NOTHING_AMENDED",
        ),
    ]
    for call, code, reason in refusals:
        error = await rpc_error(call)
        assert error.code() == code, error.details()
        if reason is not None:
            assert reason_of(error) == reason, error.details()
    if corrections.other_organisation is not None:
        token = TOKENS[corrections.other_organisation]
        async with connect(running.service.address, token=token) as channel:
            other = service.stub(channel)
            for call in (
                corrections.annul(other, key, fact_id, REGISTERED_IN_ERROR, "other-1"),
                corrections.amend(
                    other, key, categorised_id, WRONG_DATE, "o2", "2022-02-05", False
                ),
            ):
                error = await rpc_error(call)
                assert error.code() == grpc.StatusCode.PERMISSION_DENIED, error.details()
    await asyncio.sleep(0.6)
    assert running.stored() == stored
    assert await running.published() == published

    # Annul the amended fact (by its latest amendment's id); after that, no correction of it.
    annulled = await corrections.annul(stub, key, categorised_id, REGISTERED_IN_ERROR, "annul-1")
    (annulled_id,) = annulled.event_ids
    kind, body = await _published_body(running, annulled_id)
    assert kind == prefix + "FactAnnulled"
    assert (body["corrected_event_id"], body["original_event_id"]) == (categorised_id, fact_id)
    assert body["fact_occurred_on"] == "2022-02-03"
    await asyncio.sleep(0.3)
    stored, published = running.stored(), await running.published()
    for call in (
        corrections.annul(stub, key, fact_id, REGISTERED_IN_ERROR, "late-1"),
        corrections.annul(stub, key, annulled_id, REGISTERED_IN_ERROR, "late-2"),
        corrections.amend(stub, key, dated_id, WRONG_DATE, "late-3", "2022-02-06", False),
    ):
        error = await rpc_error(call)
        assert error.code() == failed, error.details()
        assert reason_of(error) == "FACT_ANNULLED", error.details()
    await asyncio.sleep(0.6)
    assert running.stored() == stored
    assert await running.published() == published


def _ack_of(result: Any) -> Any:
    """The CommandAck of a bulk result, whether the unary RPC answers one or a response that
    carries one beside an issued pseudonym (OpenCase, RegisterCase, IdentifySuspect)."""
    outcome = getattr(result, result.WhichOneof("outcome"))
    return outcome if outcome.DESCRIPTOR.name == "CommandAck" else outcome.ack
