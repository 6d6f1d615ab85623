"""From a police report over gRPC to the IND's trigger feed, read by a plain nats-py consumer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import nats
import pytest

from ketenzicht.common.v1 import common_pb2
from ketenzicht.intake.v1 import intake_pb2 as intake
from ketenzicht.intake.v1.intake_pb2_grpc import IntakeServiceStub
from ketenzicht.residence.v1 import residence_pb2 as residence
from ketenzicht.residence.v1.residence_pb2_grpc import ResidenceServiceStub
from ketenzicht_common.bus_access import addressee_feed, trigger_stream_name
from ketenzicht_common.client import connect
from ketenzicht_common.processes import NatsServer
from ketenzicht_common.streams import read_whole
from ketenzicht_common.testing import TOKENS, case_pseudonym
from ketenzicht_common.testing.fixtures import ServiceFactory
from ketenzicht_common.testing.jetstream import payload_of

pytestmark = pytest.mark.integration

Messages = list[nats.aio.msg.Msg]

CASE = case_pseudonym("case-e2e-1")
"""The case, as the investigation service would have issued it."""


async def read_feed_until(
    bus: NatsServer,
    holds: Callable[[Messages], bool],
    timeout: float = 20.0,
    addressee: str = "ind",
) -> Messages:
    """What an IND system does: its durable pull consumer on its own stream, as its own
    identity, acking each; what it gets from now on, once ``holds`` is true of it and nothing
    more is waiting."""
    nc = await nats.connect(**bus.login(addressee))
    try:
        deadline = time.monotonic() + timeout
        subscription = await addressee_feed(nc, addressee)
        received: Messages = []
        while time.monotonic() < deadline:
            try:
                batch = await subscription.fetch(10, timeout=0.5)
            except (nats.js.errors.NotFoundError, nats.js.errors.ServiceUnavailableError):
                await asyncio.sleep(0.1)  # residence has not made its feeds yet
                continue
            except (nats.errors.TimeoutError, TimeoutError):
                if holds(received):
                    break
                continue
            for message in batch:
                await message.ack()
                received.append(message)
        return received
    finally:
        await nc.close()


async def read_feed(
    bus: NatsServer, at_least: int, timeout: float = 20.0, addressee: str = "ind"
) -> Messages:
    return await read_feed_until(bus, lambda ms: len(ms) >= at_least, timeout, addressee)


async def whole_feed(bus: NatsServer, addressee: str) -> Messages:
    """Everything an addressee's stream holds, read by sequence as the addressee may (an
    audit of its feed), not through its consumer."""
    nc = await nats.connect(**bus.login(addressee))
    try:
        return await read_whole(nc, addressee, trigger_stream_name(addressee))
    finally:
        await nc.close()


def kinds_of(messages: Messages) -> list[str]:
    return [m.subject.rsplit(".", 1)[1] for m in messages]


def of_kind(messages: Messages, kind: str) -> list[dict[str, Any]]:
    return [payload_of(m) for m in messages if m.subject.endswith(f".{kind}")]


async def test_a_backdated_report_reaches_the_ind_feed_as_triggers_once(
    nats_server: NatsServer, service_factory: ServiceFactory
) -> None:
    police_side = service_factory("intake", nats_server)
    data = police_side.env["KETENZICHT_DATA_DIR"].replace("intake", "residence")
    residence_side = service_factory(
        "residence", nats_server, data_dir=None, env={"KETENZICHT_DATA_DIR": data}
    )
    async with connect(police_side.address, token=TOKENS["POLICE"]) as channel:
        police = IntakeServiceStub(channel)
        signal = await police.RegisterSignal(
            intake.RegisterSignalRequest(
                occurred_on="2020-02-20",
                source_organisation=intake.SOURCE_ORGANISATION_POLICE,
                form=common_pb2.EXPLOITATION_FORM_SEXUAL,
                nationality_group=intake.NATIONALITY_GROUP_THIRD_COUNTRY,
                residence_position=intake.RESIDENCE_POSITION_IRREGULAR,
                region=intake.POLICE_REGION_AMSTERDAM,
            )
        )
        await police.FileReport(
            intake.FileReportRequest(
                victim_id=signal.victim_id, case_id=CASE, occurred_on="2020-03-01"
            )
        )

    # The report counts as the application; the offer of a reflection period is the police's
    # (their own feed). An application the IND has not decided is no permit: no three years.
    triggers = await read_feed(nats_server, at_least=1)
    assert kinds_of(triggers) == ["TemporaryPermitApplicationIndicated"]
    [application] = of_kind(triggers, "TemporaryPermitApplicationIndicated")
    assert (application["application_date"], application["rule"]) == ("2020-03-01", "R7")
    police_feed = await read_feed(nats_server, at_least=1, addressee="police")
    assert kinds_of(police_feed) == ["ReflectionPeriodOfferRequired"]

    async with connect(residence_side.address, token=TOKENS["IND"]) as channel:
        ind = ResidenceServiceStub(channel)
        # The IND grants a one-year permit from the report date and extends it each year
        # before it runs out: three continuous years are held on 2023-03-01.
        await ind.GrantTemporaryPermit(
            residence.GrantTemporaryPermitRequest(
                victim_id=signal.victim_id,
                case_id=CASE,
                occurred_on="2020-04-15",
                valid_from="2020-03-01",
                valid_until="2021-03-01",
            )
        )
        for year in (1, 2, 3):
            await ind.ExtendTemporaryPermit(
                residence.ExtendTemporaryPermitRequest(
                    victim_id=signal.victim_id,
                    case_id=CASE,
                    occurred_on=f"{2020 + year}-01-15",
                    valid_until=f"{2021 + year}-03-01",
                )
            )
        raised = await read_feed_until(
            nats_server, lambda ms: bool(of_kind(ms, "NonTemporaryPermitIndicated"))
        )
        triggers += raised
        [three_years] = of_kind(raised, "NonTemporaryPermitIndicated")
        assert three_years["ground"] == "THREE_YEARS"
        assert three_years["occurred_on"] == "2023-03-01"
        assert three_years["victim_id"] == signal.victim_id
        assert three_years["rule"] == "R13"
        assert three_years["reason"]
        assert three_years["trigger_key"] == (
            f"NonTemporaryPermitIndicated|{signal.victim_id}|{CASE}|THREE_YEARS"
        )
        [message] = [m for m in raised if m.subject.endswith(".NonTemporaryPermitIndicated")]
        assert message.subject == "ketenzicht.residence.triggers.ind.NonTemporaryPermitIndicated"
        assert (message.headers or {})["Nats-Msg-Id"] == three_years["trigger_id"]

        # The IND reports, late, that the permit ended on 2022-06-30: three continuous years
        # were never held, and the trigger already sent is retracted by an event of its own,
        # never rewritten; the retraction names the fact that caused it.
        end = await ind.EndTemporaryPermit(
            residence.EndTemporaryPermitRequest(
                victim_id=signal.victim_id,
                case_id=CASE,
                occurred_on="2022-06-30",
                end_date="2022-06-30",
            )
        )

        def retracts_three_years(ms: Messages) -> bool:
            return any(
                r["retracted_trigger_id"] == three_years["trigger_id"]
                for r in of_kind(ms, "TriggerRetracted")
            )

        corrections = await read_feed_until(nats_server, retracts_three_years)
        triggers += corrections
        [retraction] = [
            r
            for r in of_kind(corrections, "TriggerRetracted")
            if r["retracted_trigger_id"] == three_years["trigger_id"]
        ]
        assert retraction["caused_by"] == list(end.event_ids)
        assert retraction["replaced_by_trigger_id"] is None
        assert not of_kind(corrections, "NonTemporaryPermitIndicated")

        # A new permit in the same case from the next day makes the holding continuous again:
        # the ground is reached after all, under a new trigger id and the same key.
        await ind.GrantTemporaryPermit(
            residence.GrantTemporaryPermitRequest(
                victim_id=signal.victim_id,
                case_id=CASE,
                occurred_on="2022-07-01",
                valid_from="2022-07-01",
                valid_until="2024-03-01",
            )
        )
        again = await read_feed_until(
            nats_server, lambda ms: bool(of_kind(ms, "NonTemporaryPermitIndicated"))
        )
        triggers += again
        reraised = of_kind(again, "NonTemporaryPermitIndicated")
        assert [(r["ground"], r["occurred_on"]) for r in reraised] == [
            ("THREE_YEARS", "2023-03-01")
        ]
        assert reraised[0]["trigger_id"] != three_years["trigger_id"]
        assert reraised[0]["trigger_key"] == three_years["trigger_key"]

        position = await ind.GetResidencePosition(
            residence.GetResidencePositionRequest(victim_id=signal.victim_id)
        )
        assert [g.ground for g in position.grounds] == ["THREE_YEARS"]
        assert position.position == "NONE"  # the second permit ran out on 2024-03-01
        in_2021 = await ind.GetResidencePosition(
            residence.GetResidencePositionRequest(victim_id=signal.victim_id, as_of="2021-06-01")
        )
        assert (in_2021.position, in_2021.since, in_2021.until) == (
            "TEMPORARY_PERMIT",
            "2020-03-01",
            "2022-06-30",
        )
        in_2023 = await ind.GetResidencePosition(
            residence.GetResidencePositionRequest(victim_id=signal.victim_id, as_of="2023-06-01")
        )
        assert (in_2023.position, in_2023.since, in_2023.until) == (
            "TEMPORARY_PERMIT",
            "2022-07-01",
            "2024-03-01",
        )
    everything = await whole_feed(nats_server, "ind")
    assert sorted(kinds_of(everything)) == sorted(kinds_of(triggers))

    # A restart sends nothing twice: the durable consumer gets nothing new, the stream holds
    # what it held.
    residence_side.stop()
    service_factory("residence", nats_server, env={"KETENZICHT_DATA_DIR": data})
    await asyncio.sleep(3.0)  # the start's pass over every victim settles after the grace
    nothing = await read_feed(nats_server, at_least=0, timeout=2)
    assert [m.subject for m in nothing] == []
    replay = await whole_feed(nats_server, "ind")
    assert sorted(m.headers["Nats-Msg-Id"] for m in replay) == sorted(  # type: ignore[index]
        m.headers["Nats-Msg-Id"] for m in everything
    )  # type: ignore[index]
