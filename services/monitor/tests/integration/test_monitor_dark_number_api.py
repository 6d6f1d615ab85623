"""The dark number over HTTP, gRPC and the CLI from a running monitor: signals of several
organisations about the same victims published on JetStream, the estimate per year read back
as the domain computes it from the same capture histories, and a refusal that says why."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import urllib.request
from datetime import date, timedelta

import grpc
import pytest
from monitor_bus_events import BusEvent, _Chain, publish, wait_until_acknowledged

from ketenzicht.monitor.v1 import monitor_pb2 as pb
from ketenzicht.monitor.v1.monitor_pb2_grpc import MonitorServiceStub
from ketenzicht_common.client import connect
from ketenzicht_common.processes import NatsServer, free_port
from ketenzicht_common.testing import TOKENS
from ketenzicht_common.testing.fixtures import REPO_ROOT, ServiceFactory
from ketenzicht_common.testing.service import reason_of
from ketenzicht_contracts.events import intake as i
from ketenzicht_contracts.events.categories import (
    ExploitationForm,
    NationalityGroup,
    PoliceRegion,
    ResidencePosition,
    SourceOrganisation,
)
from monitor.domain.dark_number import CaptureTable, estimate_dark_number

pytestmark = pytest.mark.integration

LISTS = (
    SourceOrganisation.POLICE,
    SourceOrganisation.KMAR,
    SourceOrganisation.LABOUR_INSPECTORATE,
    SourceOrganisation.OTHER,
)
# Four of the UK's 2013 lists (NGOs, police forces, government organisations, the public; see
# the unit test) standing in for the four Dutch organisations of 2023.
HISTORIES_2023: dict[tuple[int, ...], int] = {
    (1, 0, 0, 0): 463,
    (0, 1, 0, 0): 907,
    (0, 0, 1, 0): 695,
    (0, 0, 0, 1): 316,
    (1, 1, 0, 0): 60,
    (1, 0, 1, 0): 20,
    (1, 0, 0, 1): 1,
    (0, 1, 1, 0): 70,
    (0, 1, 0, 1): 10,
    (0, 0, 1, 1): 8,
    (1, 1, 1, 0): 5,
}


def signals(chain: _Chain, histories: dict[tuple[int, ...], int], year: int) -> list[BusEvent]:
    """One chain for every year: its event ids are numbered per chain."""
    n = 0
    for history, count in histories.items():
        for _ in range(count):
            n += 1
            victim = f"dark-{year}-{n:05d}"
            for k, source in enumerate(s for s, bit in zip(LISTS, history, strict=True) if bit):
                chain.add(
                    i.SignalRegistered(
                        occurred_on=date(year, 1, 1) + timedelta(days=(n + 40 * k) % 360),
                        victim_id=victim,
                        signal_id=f"sig-{victim}-{k}",
                        source_organisation=source,
                        form=ExploitationForm.LABOUR,
                        minor=False,
                        nationality_group=NationalityGroup.THIRD_COUNTRY,
                        residence_position=ResidencePosition.IRREGULAR,
                        region=PoliceRegion.LIMBURG,
                    ),
                    victim,
                )
    return chain.events


def get(url: str) -> dict[str, object]:
    request = urllib.request.Request(url)
    request.add_header("Authorization", f"Bearer {TOKENS['ANALYST']}")
    with urllib.request.urlopen(request, timeout=60) as response:
        result: dict[str, object] = json.loads(response.read())
        return result


async def test_the_dark_number_per_year_over_http_as_the_domain_computes_it(
    nats_server: NatsServer, service_factory: ServiceFactory
) -> None:
    http_port = free_port()
    service_factory(
        "monitor",
        nats_server,
        env={"KETENZICHT_MONITOR_HTTP_ADDRESS": f"127.0.0.1:{http_port}"},
    )
    # 2023: four lists that overlap. 2022: only two organisations signalled anyone.
    chain = _Chain()
    signals(chain, HISTORIES_2023, 2023)
    events = signals(chain, {(1, 0, 0, 0): 30, (0, 1, 0, 0): 20, (1, 1, 0, 0): 5}, 2022)
    await publish(nats_server, events)
    await wait_until_acknowledged(nats_server)
    base = f"http://127.0.0.1:{http_port}/api/dark-number?as_of=2024-06-30"
    answer = await asyncio.to_thread(get, f"{base}&years=2022,2023")
    assert answer["criterion"] == "AIC"
    assert answer["min_group_size"] == 10
    years = {y["year"]: y for y in answer["years"]}  # type: ignore[attr-defined]

    # The monitor orders the lists by name; the bootstrap draws follow that order.
    table = CaptureTable(tuple(s.value for s in LISTS), HISTORIES_2023)
    expected = estimate_dark_number(
        table.restricted(sorted(table.lists)), replicates=199, seed=2023
    )
    assert expected.model is not None
    assert expected.lower is not None
    assert expected.upper is not None
    published = years[2023]
    assert published["observed"] == sum(HISTORIES_2023.values())
    assert published["refusal"] is None
    assert published["estimate"] == round(expected.model.total)
    assert published["lower"] == round(expected.lower)
    assert published["upper"] == round(expected.upper)
    assert published["lists"]["POLICE"] == 463 + 60 + 20 + 1 + 5
    assert published["model"] == [f"{a}*{b}" for a, b in expected.model.interactions]

    refused = years[2022]
    assert refused["refusal"] == "FEWER_THAN_THREE_LISTS"
    assert "at least three" in refused["reason"]
    assert refused["estimate"] is None

    bad = urllib.request.Request(f"{base}&criterion=XIC")
    bad.add_header("Authorization", f"Bearer {TOKENS['ANALYST']}")
    with pytest.raises(urllib.error.HTTPError) as error:
        await asyncio.to_thread(urllib.request.urlopen, bad, timeout=30)
    assert error.value.code == 400


# A smaller four-list table for the gRPC test: the same shape, a third of the victims.
HISTORIES_2021: dict[tuple[int, ...], int] = {
    (1, 0, 0, 0): 154,
    (0, 1, 0, 0): 302,
    (0, 0, 1, 0): 231,
    (0, 0, 0, 1): 105,
    (1, 1, 0, 0): 20,
    (1, 0, 1, 0): 7,
    (0, 1, 1, 0): 23,
    (0, 1, 0, 1): 4,
    (0, 0, 1, 1): 3,
    (1, 1, 1, 0): 2,
}


async def test_the_dark_number_over_grpc_and_the_cli_with_its_refusals_as_errors(
    nats_server: NatsServer, service_factory: ServiceFactory
) -> None:
    """GetDarkNumber answers what the domain computes; a year that cannot be estimated carries
    its refusal beside the others, and a request with no estimable year is FAILED_PRECONDITION
    with the refusal's code (LIST_WITHOUT_OVERLAP, FEWER_THAN_THREE_LISTS). The ANALYST role
    only. The CLI prints the same numbers, and a refusal with exit status 1."""
    monitor = service_factory("monitor", nats_server)
    chain = _Chain()
    signals(chain, HISTORIES_2021, 2021)
    # 2020: three lists, but the Labour Inspectorate shares no victim with the others.
    signals(chain, {(1, 0, 0, 0): 40, (0, 1, 0, 0): 30, (1, 1, 0, 0): 8, (0, 0, 1, 0): 25}, 2020)
    events = signals(chain, {(1, 0, 0, 0): 30, (0, 1, 0, 0): 20, (1, 1, 0, 0): 5}, 2019)
    await publish(nats_server, events)
    await wait_until_acknowledged(nats_server)

    as_of = pb.AsOf(on="2022-06-30")
    async with connect(monitor.address, token=TOKENS["ANALYST"]) as channel:
        stub = MonitorServiceStub(channel)
        answer = await stub.GetDarkNumber(pb.GetDarkNumberRequest(as_of=as_of))
        with pytest.raises(grpc.aio.AioRpcError) as no_overlap:
            await stub.GetDarkNumber(pb.GetDarkNumberRequest(as_of=as_of, years=[2020]))
        with pytest.raises(grpc.aio.AioRpcError) as two_lists:
            await stub.GetDarkNumber(pb.GetDarkNumberRequest(as_of=as_of, years=[2019]))
        with pytest.raises(grpc.aio.AioRpcError) as bad_criterion:
            await stub.GetDarkNumber(pb.GetDarkNumberRequest(as_of=as_of, criterion="XIC"))
        with pytest.raises(grpc.aio.AioRpcError) as nothing:
            await stub.GetDarkNumber(pb.GetDarkNumberRequest(as_of=pb.AsOf(on="2018-12-31")))
    async with connect(monitor.address, token=TOKENS["AUDITOR"]) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as auditor:
            await MonitorServiceStub(channel).GetDarkNumber(pb.GetDarkNumberRequest(as_of=as_of))

    assert (answer.criterion, answer.min_group_size) == ("AIC", 10)
    years = {y.year: y for y in answer.years}
    assert sorted(years) == [2019, 2020, 2021]
    table = CaptureTable(tuple(s.value for s in LISTS), HISTORIES_2021)
    expected = estimate_dark_number(
        table.restricted(sorted(table.lists)), replicates=199, seed=2021
    )
    assert expected.model is not None
    assert expected.lower is not None
    assert expected.upper is not None
    estimated = years[2021]
    assert estimated.refusal == ""
    assert estimated.observed == sum(HISTORIES_2021.values())
    assert estimated.estimate == round(expected.model.total)
    assert (estimated.lower, estimated.upper) == (round(expected.lower), round(expected.upper))
    assert estimated.dark == estimated.estimate - estimated.observed
    assert list(estimated.model) == [f"{a}*{b}" for a, b in expected.model.interactions]
    lists = {c.organisation: c for c in estimated.lists}
    assert lists["POLICE"].victims == 154 + 20 + 7 + 2
    assert years[2020].refusal == "LIST_WITHOUT_OVERLAP"
    assert not years[2020].HasField("estimate")
    assert years[2019].refusal == "FEWER_THAN_THREE_LISTS"

    assert no_overlap.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(no_overlap.value) == "LIST_WITHOUT_OVERLAP"
    assert "LABOUR_INSPECTORATE" in (no_overlap.value.details() or "")
    assert reason_of(two_lists.value) == "FEWER_THAN_THREE_LISTS"
    assert bad_criterion.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason_of(nothing.value) == "NO_SIGNALS"
    assert auditor.value.code() == grpc.StatusCode.PERMISSION_DENIED

    def ketenzicht(*arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "monitor.cli", "--address", monitor.address, *arguments],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=REPO_ROOT,
            check=False,
        )

    printed = await asyncio.to_thread(
        ketenzicht, "report", "dark-number", "--as-of", "2022-06-30", "--years", "2020", "2021"
    )
    assert printed.returncode == 0, printed.stderr
    row = next(line.split() for line in printed.stdout.splitlines() if line.startswith("2021"))
    assert row[:6] == [
        "2021",
        str(estimated.observed),
        str(estimated.estimate),
        str(estimated.lower),
        str(estimated.upper),
        str(estimated.dark),
    ]
    assert "2020: no estimate (LIST_WITHOUT_OVERLAP)" in printed.stdout
    refused = await asyncio.to_thread(
        ketenzicht, "report", "dark-number", "--as-of", "2022-06-30", "--years", "2019"
    )
    assert refused.returncode == 1
    assert "FAILED_PRECONDITION" in refused.stderr
    assert "at least three" in refused.stderr
