"""The dark number over HTTP from a running monitor: signals of several organisations about the
same victims published on JetStream, the estimate per year read back from /api/dark-number as
the domain computes it from the same capture histories, and a refusal that says why."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from datetime import date, timedelta

import pytest
from monitor_bus_events import BusEvent, _Chain, publish, wait_until_acknowledged

from ketenzicht_common.processes import NatsServer, free_port
from ketenzicht_common.testing import TOKENS
from ketenzicht_common.testing.fixtures import ServiceFactory
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
