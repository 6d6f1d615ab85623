"""An upstream event that breaks its contract is not retried for ever by residence: it is kept
as a dead letter, and the events after it are applied as usual."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, date, datetime

import grpc
import nats
import pytest

from ketenzicht.residence.v1 import residence_pb2 as residence
from ketenzicht.residence.v1.residence_pb2_grpc import ResidenceServiceStub
from ketenzicht_common.bus_access import provision_feeds
from ketenzicht_common.client import connect
from ketenzicht_common.dead_letters import DeadLetter, read
from ketenzicht_common.processes import NatsServer
from ketenzicht_common.streams import ensure_stream, service_stream
from ketenzicht_common.testing import TOKENS
from ketenzicht_common.testing.fixtures import ServiceFactory
from ketenzicht_common.testing.jetstream import publish_event
from ketenzicht_contracts.envelope import Envelope
from ketenzicht_contracts.events.intake import ReportFiled

pytestmark = pytest.mark.integration


async def publish_report_without_case(bus: NatsServer, header_envelope: bool = False) -> str:
    """A ReportFiled whose payload lacks the case it was filed in: no redelivery repairs that.
    ``header_envelope``: as an old message (``ce-*`` headers), else as relays publish now."""
    envelope = Envelope(
        event_id=uuid.uuid4(),
        service="intake",
        event_type="ReportFiled",
        version=1,
        occurred_on=date(2024, 3, 1),
        recorded_at=datetime.now(UTC),
        aggregate_id=uuid.uuid4(),
        aggregate_version=1,
        organisation="politie",
        system="test",
    )
    nc = await nats.connect(**bus.login("intake"))
    try:
        js = nc.jetstream()
        await ensure_stream(js, service_stream("intake"))
        await provision_feeds(js, "intake")
        payload = b'{"victim_id":"victim-dl-1","occurred_on":"2024-03-01"}'
        headers, body = (
            (envelope.to_headers(), payload) if header_envelope else envelope.to_message(payload)
        )
        await js.publish("ketenzicht.intake.ReportFiled", body, headers=headers)
    finally:
        await nc.close()
    return str(envelope.event_id)


async def dead_letters(bus: NatsServer, timeout: float = 20.0) -> list[DeadLetter]:
    """Residence's dead letters, kept in its own account."""
    nc = await nats.connect(**bus.login("residence"))
    try:
        deadline = time.monotonic() + timeout
        while not (letters := await read(nc, "residence")) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        return letters
    finally:
        await nc.close()


@pytest.mark.parametrize("header_envelope", [False, True], ids=["body envelope", "header envelope"])
async def test_an_event_that_breaks_its_contract_is_kept_as_a_dead_letter(
    nats_server: NatsServer, service_factory: ServiceFactory, header_envelope: bool
) -> None:
    side = service_factory("residence", nats_server)
    broken = await publish_report_without_case(nats_server, header_envelope)
    await publish_event(
        nats_server,
        ReportFiled(occurred_on=date(2024, 3, 2), victim_id="victim-dl-2", case_id="case-dl-2"),
    )

    [letter] = await dead_letters(nats_server)
    assert (letter.event_id, letter.consumer) == (broken, "residence-intake")
    assert letter.reason.startswith("terminated")

    # The report after it is applied (residence opened the victim's file); the broken one
    # changed nothing.
    async with connect(side.address, token=TOKENS["IND"]) as channel:
        ind = ResidenceServiceStub(channel)
        deadline = time.monotonic() + 20
        while True:
            try:
                await ind.GetResidencePosition(
                    residence.GetResidencePositionRequest(victim_id="victim-dl-2")
                )
                break
            except grpc.aio.AioRpcError as error:
                if error.code() != grpc.StatusCode.NOT_FOUND or time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await ind.GetResidencePosition(
                residence.GetResidencePositionRequest(victim_id="victim-dl-1")
            )
        assert refused.value.code() == grpc.StatusCode.NOT_FOUND
