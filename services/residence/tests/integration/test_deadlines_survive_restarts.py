"""Deadlines fire when the clock passes them, with no new event — also across a restart."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from residence_in_process import residence_running

from ketenzicht.residence.v1 import residence_pb2
from ketenzicht.residence.v1.residence_pb2_grpc import ResidenceServiceStub
from ketenzicht_common.client import connect
from ketenzicht_common.clock import FixedClock
from ketenzicht_common.processes import NatsServer
from ketenzicht_common.testing import TOKENS
from ketenzicht_common.testing.jetstream import payload_of, publish_event, stream_messages
from ketenzicht_contracts.events import intake
from residence.application import schedule

pytestmark = pytest.mark.integration


async def triggers_on_feed(url: NatsServer, expected: int) -> list[dict[str, object]]:
    messages = await stream_messages(url, "KETENZICHT_RESIDENCE", at_least=expected, timeout=5)
    return [payload_of(m) | {"_subject": m.subject} for m in messages if ".triggers." in m.subject]


Triggers = list[dict[str, object]]


async def triggers_until(
    url: NatsServer, holds: Callable[[Triggers], bool], timeout: float = 15.0
) -> Triggers:
    """The triggers on the feed, once ``holds`` is true of them (or the time is up)."""
    deadline = time.monotonic() + timeout
    while not holds(triggers := await triggers_on_feed(url, 0)) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    return triggers


def three_years(triggers: Triggers) -> list[tuple[object, object]]:
    return sorted(
        (t["victim_id"], t["occurred_on"]) for t in triggers if t.get("ground") == "THREE_YEARS"
    )


def extensions_due(triggers: Triggers) -> list[object]:
    return [
        t["occurred_on"]
        for t in triggers
        if str(t["_subject"]).endswith("TemporaryPermitExtensionDue")
    ]


async def report_of(url: NatsServer, victim_id: str, reported_on: date) -> None:
    await publish_event(
        url,
        intake.SignalRegistered(
            occurred_on=reported_on - timedelta(days=10),
            victim_id=victim_id,
            signal_id=f"signal-{victim_id}",
            source_organisation="POLICE",
            form="LABOUR",
            minor=False,
            nationality_group="THIRD_COUNTRY",
            residence_position="IRREGULAR",
            region="OOST_NEDERLAND",
        ),
    )
    await publish_event(
        url,
        intake.ReportFiled(
            occurred_on=reported_on, victim_id=victim_id, case_id=f"case-{victim_id}"
        ),
    )


async def grant_permit(
    address: str,
    victim_id: str,
    case_id: str,
    *,
    granted_on: str,
    valid_from: str,
    valid_until: str,
) -> None:
    """What the IND reports: the temporary permit it granted (R13 counts only those)."""
    async with connect(address, token=TOKENS["IND"]) as channel:
        await ResidenceServiceStub(channel).GrantTemporaryPermit(
            residence_pb2.GrantTemporaryPermitRequest(
                victim_id=victim_id,
                case_id=case_id,
                occurred_on=granted_on,
                valid_from=valid_from,
                valid_until=valid_until,
            )
        )


def indicated(victim_id: str) -> Callable[[Triggers], bool]:
    """The victim's report has reached the feed as the application it counts as."""
    return lambda ts: any(
        t["victim_id"] == victim_id
        and str(t["_subject"]).endswith("TemporaryPermitApplicationIndicated")
        for t in ts
    )


@pytest.fixture(autouse=True)
def quick_settling(monkeypatch: pytest.MonkeyPatch) -> None:
    """A short grace period: these tests are about the clock, not about facts in flight."""
    monkeypatch.setenv("KETENZICHT_RESIDENCE_SETTLE_GRACE_SECONDS", "0.2")
    monkeypatch.setenv("KETENZICHT_RESIDENCE_DEADLINE_TICK_SECONDS", "0.2")


async def test_a_three_year_mark_passed_while_the_service_was_down_fires_once_after_start(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    clock = FixedClock(datetime(2023, 2, 27, 9, tzinfo=UTC))
    await publish_event(
        nats_server,
        intake.SignalRegistered(
            occurred_on=date(2020, 2, 20),
            victim_id="victim-restart",
            signal_id="signal-1",
            source_organisation="POLICE",
            form="SEXUAL",
            minor=False,
            nationality_group="THIRD_COUNTRY",
            residence_position="IRREGULAR",
            region="ROTTERDAM",
        ),
    )
    await publish_event(
        nats_server,
        intake.ReportFiled(
            occurred_on=date(2020, 3, 1), victim_id="victim-restart", case_id="case-restart"
        ),
    )

    async with residence_running(nats_server, tmp_path / "residence", clock) as address:
        # The IND granted the permit from the report date, valid past the three-year mark
        # (2023-03-01); its extension, due on 2023-02-18, shows the grant has been judged.
        await grant_permit(
            address,
            "victim-restart",
            "case-restart",
            granted_on="2020-04-01",
            valid_from="2020-03-01",
            valid_until="2023-03-20",
        )
        before = await triggers_until(nats_server, lambda ts: "2023-02-18" in extensions_due(ts))
    assert "2023-02-18" in extensions_due(before)
    assert not three_years(before)

    clock.set(datetime(2023, 3, 6, 9, tzinfo=UTC))  # the mark (2023-03-01) passes while down
    async with residence_running(nats_server, tmp_path / "residence", clock):
        after = await triggers_until(nats_server, three_years)
    assert three_years(after) == [("victim-restart", "2023-03-01")]

    async with residence_running(nats_server, tmp_path / "residence", clock):
        await asyncio.sleep(1.5)  # several grace periods: what a start would send, it has sent
        again = await triggers_on_feed(nats_server, len(after))
    assert len(again) == len(after)


async def test_a_deadline_fires_on_the_tick_after_the_clock_passes_it(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    clock = FixedClock(datetime(2024, 6, 10, 9, tzinfo=UTC))
    await publish_event(
        nats_server,
        intake.SignalRegistered(
            occurred_on=date(2021, 6, 1),
            victim_id="victim-tick",
            signal_id="signal-2",
            source_organisation="KMAR",
            form="LABOUR",
            minor=False,
            nationality_group="THIRD_COUNTRY",
            residence_position="IRREGULAR",
            region="LIMBURG",
        ),
    )
    await publish_event(
        nats_server,
        intake.ReportFiled(
            occurred_on=date(2021, 6, 15), victim_id="victim-tick", case_id="case-tick"
        ),
    )

    async with residence_running(nats_server, tmp_path / "residence", clock) as address:
        # Granted from the report date until past the mark (2024-06-15); its extension, due on
        # 2024-06-01, shows the grant has been judged before the clock moves.
        await grant_permit(
            address,
            "victim-tick",
            "case-tick",
            granted_on="2021-07-01",
            valid_from="2021-06-15",
            valid_until="2024-07-01",
        )
        first = await triggers_until(nats_server, lambda ts: "2024-06-01" in extensions_due(ts))
        assert "2024-06-01" in extensions_due(first)
        assert not three_years(first)
        clock.advance(timedelta(days=5))  # 2024-06-15: three years since the report
        later = await triggers_until(nats_server, three_years)
    assert three_years(later) == [("victim-tick", "2024-06-15")]


async def test_a_clean_stop_keeps_the_schedule_for_the_next_start_and_a_crash_does_not(
    nats_server: NatsServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="residence")
    data = tmp_path / "residence"
    clock = FixedClock(datetime(2023, 2, 27, 9, tzinfo=UTC))
    await report_of(nats_server, "victim-kept", date(2020, 3, 1))  # three years: 2023-03-01
    async with residence_running(nats_server, data, clock) as address:
        await grant_permit(
            address,
            "victim-kept",
            "case-victim-kept",
            granted_on="2020-04-01",
            valid_from="2020-03-01",
            valid_until="2023-06-01",
        )
        await triggers_until(nats_server, indicated("victim-kept"))
    assert "the rules are applied to all" in caplog.text  # a first start: no schedule yet
    saved_at_the_clean_stop = (data / schedule.FILE_NAME).read_bytes()

    # Nothing stored since, same rules: the start takes the schedule instead of applying the
    # rules to every victim again.
    caplog.clear()
    clock.set(datetime(2023, 2, 28, 9, tzinfo=UTC))
    async with residence_running(nats_server, data, clock) as address:
        assert "deadline schedule of the clean stop restored" in caplog.text
        assert "the rules are applied to all" not in caplog.text
        await report_of(nats_server, "victim-new", date(2020, 3, 2))  # 2023-03-02
        await grant_permit(
            address,
            "victim-new",
            "case-victim-new",
            granted_on="2020-04-02",
            valid_from="2020-03-02",
            valid_until="2023-06-02",
        )
        await triggers_until(nats_server, indicated("victim-new"))

    # As a crash would leave it: the file of the earlier clean stop, while the store has moved
    # on. It is not taken, and every deadline that passed meanwhile fires once.
    (data / schedule.FILE_NAME).write_bytes(saved_at_the_clean_stop)
    caplog.clear()
    clock.set(datetime(2023, 3, 3, 9, tzinfo=UTC))
    async with residence_running(nats_server, data, clock):
        assert "the rules are applied to all 2 victims" in caplog.text
        third = await triggers_until(nats_server, lambda ts: len(three_years(ts)) >= 2)
    assert three_years(third) == [("victim-kept", "2023-03-01"), ("victim-new", "2023-03-02")]


def saved_deadlines(data: Path) -> dict[str, str]:
    deadlines: dict[str, str] = json.loads((data / schedule.FILE_NAME).read_text())["deadlines"]
    return deadlines


async def test_a_deadline_met_again_on_the_same_day_after_a_crash_stays_in_the_schedule(
    nats_server: NatsServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The rules applied again on the day a deadline fired (after a crash) send nothing new,
    # and the schedule must still learn what comes next.
    data = tmp_path / "residence"
    clock = FixedClock(datetime(2023, 2, 27, 9, tzinfo=UTC))
    await report_of(nats_server, "victim-again", date(2020, 3, 1))
    async with residence_running(nats_server, data, clock) as address:
        await triggers_until(nats_server, indicated("victim-again"))
        async with connect(address, token=TOKENS["IND"]) as channel:
            ind = ResidenceServiceStub(channel)
            await ind.GrantTemporaryPermit(
                residence_pb2.GrantTemporaryPermitRequest(
                    victim_id="victim-again",
                    case_id="case-victim-again",
                    occurred_on="2020-04-01",
                    valid_from="2020-03-01",
                    valid_until="2021-03-01",
                )
            )
            for year in (2021, 2022, 2023):
                await ind.ExtendTemporaryPermit(
                    residence_pb2.ExtendTemporaryPermitRequest(
                        victim_id="victim-again",
                        case_id="case-victim-again",
                        occurred_on=f"{year}-02-01",
                        valid_until=f"{year + 1}-03-01",
                    )
                )

    clock.set(datetime(2023, 3, 2, 9, tzinfo=UTC))  # three years held on 2023-03-01
    async with residence_running(nats_server, data, clock):
        fired = await triggers_until(nats_server, three_years)
    assert three_years(fired) == [("victim-again", "2023-03-01")]

    (data / schedule.FILE_NAME).unlink()  # as a crash leaves it
    caplog.set_level(logging.INFO, logger="residence")
    caplog.clear()
    async with residence_running(nats_server, data, clock):
        assert "the rules are applied to all 1 victims" in caplog.text
        await asyncio.sleep(2.0)  # ten grace periods: the victim has settled
        again = await triggers_on_feed(nats_server, 0)
    assert "deadline schedule saved" in caplog.text
    assert len(again) == len(fired)  # nothing sent twice
    # The permit runs until 2024-03-01: the schedule learned its extension, due 30 days before
    # (a victim still unsettled at the stop would be saved as due on the day of the stop).
    assert saved_deadlines(data) == {"victim-again": "2024-01-31"}

    clock.set(datetime(2024, 2, 1, 9, tzinfo=UTC))
    async with residence_running(nats_server, data, clock):
        later = await triggers_until(nats_server, lambda ts: "2024-01-31" in extensions_due(ts))
    assert "2024-01-31" in extensions_due(later)
