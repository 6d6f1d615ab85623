"""From a police report over gRPC to the IND's trigger feed, read by a plain nats-py consumer."""

from __future__ import annotations

import asyncio
import json
import time

import nats
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from ketenzicht.common.v1 import common_pb2
from ketenzicht.intake.v1 import intake_pb2 as intake
from ketenzicht.intake.v1.intake_pb2_grpc import IntakeServiceStub
from ketenzicht.residence.v1 import residence_pb2 as residence
from ketenzicht.residence.v1.residence_pb2_grpc import ResidenceServiceStub
from ketenzicht_common.client import connect
from ketenzicht_common.processes import NatsServer
from ketenzicht_common.testing import TOKENS
from ketenzicht_common.testing.fixtures import ServiceFactory

pytestmark = pytest.mark.integration

FEED = "KETENZICHT_IND_TRIGGERS"


async def read_feed(url: str, durable: str, at_least: int, timeout: float = 20.0) -> list[
        nats.aio.msg.Msg]:
    """What an IND system does: a durable pull consumer on its own stream, acking each."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        deadline = time.monotonic() + timeout
        while True:
            try:
                await js.stream_info(FEED)
                break
            except nats.js.errors.NotFoundError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)
        subscription = await js.pull_subscribe(
            "ketenzicht.residence.triggers.>", durable=durable, stream=FEED,
            config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT,
                                  deliver_policy=DeliverPolicy.ALL))
        received: list[nats.aio.msg.Msg] = []
        while time.monotonic() < deadline:
            try:
                batch = await subscription.fetch(10, timeout=0.5)
            except (nats.errors.TimeoutError, TimeoutError):
                if len(received) >= at_least:
                    break
                continue
            for message in batch:
                await message.ack()
                received.append(message)
        return received
    finally:
        await nc.close()


async def test_a_backdated_report_reaches_the_ind_feed_as_triggers_once(
        nats_server: NatsServer, service_factory: ServiceFactory) -> None:
    police_side = service_factory("intake", nats_server.url)
    data = police_side.env["KETENZICHT_DATA_DIR"].replace("intake", "residence")
    residence_side = service_factory("residence", nats_server.url, data_dir=None,
                                     env={"KETENZICHT_DATA_DIR": data})
    async with connect(police_side.address, token=TOKENS["POLICE"]) as channel:
        police = IntakeServiceStub(channel)
        signal = await police.RegisterSignal(intake.RegisterSignalRequest(
            occurred_on="2020-02-20", source_organisation=intake.SOURCE_ORGANISATION_POLICE,
            form=common_pb2.EXPLOITATION_FORM_SEXUAL,
            nationality_group=intake.NATIONALITY_GROUP_THIRD_COUNTRY,
            residence_position=intake.RESIDENCE_POSITION_IRREGULAR,
            region=intake.POLICE_REGION_AMSTERDAM))
        await police.FileReport(intake.FileReportRequest(
            victim_id=signal.victim_id, case_id="case-e2e-1", occurred_on="2020-03-01"))

    triggers = await read_feed(nats_server.url, "ind-e2e", at_least=3)
    kinds = {m.subject.rsplit(".", 1)[1]: m for m in triggers}
    assert set(kinds) == {"ReflectionPeriodOfferRequired", "TemporaryPermitApplicationIndicated",
                          "NonTemporaryPermitIndicated"}
    three_years = json.loads(kinds["NonTemporaryPermitIndicated"].data)
    assert three_years["ground"] == "THREE_YEARS"
    assert three_years["occurred_on"] == "2023-03-01"
    assert three_years["victim_id"] == signal.victim_id
    assert three_years["rule"] == "R13"
    assert three_years["reason"]
    headers = kinds["NonTemporaryPermitIndicated"].headers or {}
    assert headers["Nats-Msg-Id"] == three_years["trigger_id"]

    # The IND grants a one-year permit and nothing more: three continuous years are not held,
    # so the trigger already sent is retracted by an event of its own, never rewritten.
    async with connect(residence_side.address, token=TOKENS["IND"]) as channel:
        ind = ResidenceServiceStub(channel)
        await ind.GrantTemporaryPermit(residence.GrantTemporaryPermitRequest(
            victim_id=signal.victim_id, case_id="case-e2e-1", occurred_on="2020-04-15",
            valid_from="2020-03-01", valid_until="2021-03-01"))
        corrections = await read_feed(nats_server.url, "ind-e2e", at_least=1)
        retracted = [json.loads(m.data) for m in corrections
                     if m.subject.endswith(".TriggerRetracted")]
        assert [r["retracted_trigger_id"] for r in retracted] == [three_years["trigger_id"]]

        # Extensions the IND reports later make the holding continuous again: the ground is
        # reached after all, under a new trigger id and the same key.
        for year in (1, 2, 3):
            await ind.ExtendTemporaryPermit(residence.ExtendTemporaryPermitRequest(
                victim_id=signal.victim_id, case_id="case-e2e-1",
                occurred_on=f"{2020 + year}-02-01", valid_until=f"{2021 + year}-03-01"))
        raised = [json.loads(m.data) for m in await read_feed(nats_server.url, "ind-e2e",
                                                              at_least=1)
                  if m.subject.endswith(".NonTemporaryPermitIndicated")]
        assert [(r["ground"], r["occurred_on"]) for r in raised] == [("THREE_YEARS",
                                                                      "2023-03-01")]
        assert raised[0]["trigger_id"] != three_years["trigger_id"]
        assert raised[0]["trigger_key"] == three_years["trigger_key"]

        position = await ind.GetResidencePosition(
            residence.GetResidencePositionRequest(victim_id=signal.victim_id))
        assert [g.ground for g in position.grounds] == ["THREE_YEARS"]
        assert position.position == "NONE"  # the last extension ran out on 2024-03-01
        in_2023 = await ind.GetResidencePosition(residence.GetResidencePositionRequest(
            victim_id=signal.victim_id, as_of="2023-06-01"))
        assert (in_2023.position, in_2023.since, in_2023.until) == (
            "TEMPORARY_PERMIT", "2020-03-01", "2024-03-01")
    triggers = await read_feed(nats_server.url, "ind-all", at_least=len(triggers) + 5)

    # A restart sends nothing twice: the durable consumer gets nothing new, a replay gets all.
    residence_side.stop()
    service_factory("residence", nats_server.url, env={"KETENZICHT_DATA_DIR": data})
    await asyncio.sleep(1.5)
    again = await read_feed(nats_server.url, "ind-e2e", at_least=0, timeout=2)
    assert [m.subject for m in again] == []
    replay = await read_feed(nats_server.url, "ind-replay", at_least=len(triggers))
    assert sorted(m.headers["Nats-Msg-Id"] for m in replay) == sorted(  # type: ignore[index]
        m.headers["Nats-Msg-Id"] for m in triggers)  # type: ignore[index]
