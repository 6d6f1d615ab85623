"""A service process started with KETENZICHT_CLOCK_FILE lives in the scenario's present."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest

from ketenzicht.common.v1 import common_pb2
from ketenzicht.intake.v1 import intake_pb2 as pb
from ketenzicht.intake.v1.intake_pb2_grpc import IntakeServiceStub
from ketenzicht_common.client import connect
from ketenzicht_common.clock import SETTLE_SECONDS, clear_present, noon_on, write_present
from ketenzicht_common.processes import NatsServer
from ketenzicht_common.testing import TOKENS

pytestmark = pytest.mark.integration


def signal_on(day: date) -> pb.RegisterSignalRequest:
    return pb.RegisterSignalRequest(
        occurred_on=day.isoformat(),
        source_organisation=pb.SOURCE_ORGANISATION_POLICE,
        form=common_pb2.EXPLOITATION_FORM_LABOUR,
        nationality_group=pb.NATIONALITY_GROUP_THIRD_COUNTRY,
        residence_position=pb.RESIDENCE_POSITION_IRREGULAR,
        region=pb.POLICE_REGION_ROTTERDAM,
    )


async def test_the_service_refuses_facts_after_the_scenario_present_and_follows_it(
    nats_server: NatsServer, service_factory: Callable[..., Any], tmp_path: Path
) -> None:
    clock_file = tmp_path / "scenario-clock"
    write_present(clock_file, noon_on(date(2019, 6, 1)))
    intake = service_factory("intake", nats_server, env={"KETENZICHT_CLOCK_FILE": str(clock_file)})
    async with connect(intake.address, token=TOKENS["POLICE"]) as channel:
        police = IntakeServiceStub(channel)
        await police.RegisterSignal(signal_on(date(2019, 6, 1)))
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await police.RegisterSignal(signal_on(date(2019, 6, 2)))  # tomorrow, in 2019
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT

        write_present(clock_file, noon_on(date(2019, 6, 2)))
        await asyncio.sleep(SETTLE_SECONDS)
        await police.RegisterSignal(signal_on(date(2019, 6, 2)))

        # The scenario over, the file removed: the wall clock again.
        clear_present(clock_file)
        await asyncio.sleep(SETTLE_SECONDS)
        await police.RegisterSignal(signal_on(date.today() - timedelta(days=1)))
