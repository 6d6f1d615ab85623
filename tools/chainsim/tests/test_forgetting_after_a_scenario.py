"""A small `make run` scenario, then every store read byte by byte: no parketnummer and no police
registration number in the clear, before or after the OM and the police forget them all; and
forgetting changes no lead time, figure or trigger (issue 15, point 5; ADR 0020).

The feeder gives every registration a parketnummer (`chainsim.feeder.parketnummer_for`) and
every planned case a police number (`chainsim.feeder.source_case_number`, ``BVH-<plan id>``), so
the numbers the stores must not hold are known from the plan.
"""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

import grpc
import pytest

from chainsim.feeder import INVESTIGATING, LOCAL_TOKENS, parketnummer_for, source_case_number
from chainsim.generator import generate
from chainsim.plan import Actor
from chainsim.run import (
    feed_scenario,
    monitor_report,
    monitor_settled,
    scenario_profile,
    triggers_received,
)
from ketenzicht.investigation.v1 import investigation_pb2 as ipb
from ketenzicht.investigation.v1.investigation_pb2_grpc import InvestigationServiceStub
from ketenzicht.prosecution.v1 import prosecution_pb2 as pb
from ketenzicht.prosecution.v1.prosecution_pb2_grpc import ProsecutionServiceStub
from ketenzicht_common.client import connect
from ketenzicht_common.domain import stable_id
from ketenzicht_common.stack import Profile, Stack, private_profile
from ketenzicht_common.testing.store_scan import clear_forms, scan, scanned_files, uuid_forms

pytestmark = pytest.mark.e2e

SEED, START, END, SCALE = 2026, date(2020, 1, 1), date(2022, 12, 31), 0.05


def planned_parketnummers() -> list[str]:
    return [
        parketnummer_for(index, command.occurred_on)
        for index, command in enumerate(generate(SEED, START, END, SCALE), start=1)
        if command.event_type == "CaseRegistered"
    ]


def planned_police_numbers() -> list[str]:
    cases = {
        str(command.fields["case_id"])
        for command in generate(SEED, START, END, SCALE)
        if command.fields.get("case_id")
    }
    return sorted(source_case_number(case) for case in cases)


def needles(numbers: list[str], police_numbers: list[str]) -> dict[str, list[bytes]]:
    found: dict[str, list[bytes]] = {}
    for i, number in enumerate(numbers):
        found[f"parketnummer #{i}"] = clear_forms(number) + uuid_forms(
            stable_id("prosecution", "parketnummer", number)
        )
    for i, number in enumerate(police_numbers):
        # The number, and the id of the unkeyed lookup aggregate investigation used to keep.
        found[f"police registration number #{i}"] = clear_forms(number) + uuid_forms(
            stable_id("investigation", "police-registration-number", number)
        )
    return found


async def forget_police_numbers(address: str, numbers: list[str]) -> tuple[int, list[str]]:
    """Each registering organisation's erasure order for every police number it can still
    find; (ordered, what the owner's lookup of each number answers afterwards)."""
    today = date.today().isoformat()
    ordered = 0
    owners: dict[str, Actor] = {}
    for actor in sorted(INVESTIGATING):
        async with connect(address, token=LOCAL_TOKENS[actor]) as channel:
            police = InvestigationServiceStub(channel)
            for i, number in enumerate(numbers):
                request = ipb.FindInvestigationRequest(police_registration_number=number)
                try:
                    found = await police.FindInvestigation(request)
                except grpc.aio.AioRpcError:
                    continue  # another organisation's number (or a case never opened)
                owners[number] = actor
                await police.ForgetRegistrationNumber(
                    ipb.ForgetRegistrationNumberRequest(
                        command_id=f"scenario-police-erasure-{i}",
                        case_id=found.case_id,
                        occurred_on=today,
                        order_id=f"scenario-police-order-{i}",
                    )
                )
                ordered += 1
    lookups: list[str] = []
    for number in numbers:
        async with connect(
            address, token=LOCAL_TOKENS[owners.get(number, Actor.POLICE)]
        ) as channel:
            try:
                await InvestigationServiceStub(channel).FindInvestigation(
                    ipb.FindInvestigationRequest(police_registration_number=number)
                )
                lookups.append("FOUND")
            except grpc.aio.AioRpcError as error:
                leaked = number in (error.details() or "")
                lookups.append(f"{error.code().name}{' with the number' if leaked else ''}")
    return ordered, lookups


async def forget_all(address: str, numbers: list[str]) -> tuple[int, list[str]]:
    """The OM's erasure order for every number it can still find; (ordered, what a lookup of
    each number answers afterwards)."""
    today = date.today().isoformat()
    ordered = 0
    refusals: list[str] = []
    async with connect(address, token=LOCAL_TOKENS[Actor.OM]) as channel:
        om = ProsecutionServiceStub(channel)
        for i, number in enumerate(numbers):
            try:
                found = await om.FindProsecution(pb.FindProsecutionRequest(parketnummer=number))
            except grpc.aio.AioRpcError:
                continue  # a registration the plan had refused
            await om.ForgetParketnummer(
                pb.ForgetParketnummerRequest(
                    command_id=f"scenario-erasure-{i}",
                    case_id=found.case_id,
                    suspect_id=found.suspect_id,
                    occurred_on=today,
                    order_id=f"scenario-order-{i}",
                )
            )
            ordered += 1
        for number in numbers:
            try:
                await om.FindProsecution(pb.FindProsecutionRequest(parketnummer=number))
                refusals.append("FOUND")
            except grpc.aio.AioRpcError as error:
                leaked = number in (error.details() or "")
                refusals.append(f"{error.code().name}{' with the number' if leaked else ''}")
    return ordered, refusals


@pytest.mark.timeout(600)
def test_no_store_holds_a_source_number_in_the_clear_and_forgetting_changes_no_figure(
    tmp_path: Path,
) -> None:
    numbers = planned_parketnummers()
    police_numbers = planned_police_numbers()
    assert len(numbers) > 10
    assert len(police_numbers) > 10
    profile = Profile.load(private_profile(tmp_path))
    var = tmp_path / "var"
    stack = Stack(scenario_profile(profile), log_dir=var / "log", clock_file=var / "clock")
    stack.start()
    try:
        report = asyncio.run(feed_scenario(stack, SEED, START, END, SCALE, date.today()))
        assert report.accepted > 0
        monitor = stack.address("monitor")
        asyncio.run(monitor_settled(monitor))
        lead_times = monitor_report(monitor, "report", "lead-times")
        figures = monitor_report(monitor, "report", "figures")
        triggers = asyncio.run(triggers_received(stack.profile))
        assert "Lead times in days" in lead_times

        # Known to the OM and the police and answered, yet in no store in the clear.
        assert scan([tmp_path], needles(numbers, police_numbers)) == []

        ordered, lookups = asyncio.run(forget_all(stack.address("prosecution"), numbers))
        assert ordered >= len(numbers) * 0.9  # (a registration the plan has refused is absent)
        assert lookups == ["NOT_FOUND"] * len(numbers)
        ordered, lookups = asyncio.run(
            forget_police_numbers(stack.address("investigation"), police_numbers)
        )
        assert ordered == len(police_numbers)  # every planned case was opened
        assert lookups == ["NOT_FOUND"] * len(police_numbers)

        asyncio.run(monitor_settled(monitor))
        assert monitor_report(monitor, "report", "lead-times") == lead_times
        assert monitor_report(monitor, "report", "figures") == figures
        assert asyncio.run(triggers_received(stack.profile)) == triggers
    finally:
        stack.stop()
    # Every file of the stopped stack: event stores and their WALs, command logs, key stores,
    # the monitor's store, the JetStream stream files, the logs.
    files = scanned_files([tmp_path])
    assert any(p.name == "om.keys.sqlite" for p in files)
    assert any(p.name == "police.keys.sqlite" for p in files)
    assert any("jetstream" in str(p) for p in files)
    assert scan([tmp_path], needles(numbers, police_numbers)) == []
