"""Settled before sent, through the real nats-server: facts of one victim that cross each other
in flight reach the feed as one outcome, and while residence cannot apply an upstream stream
its health names that stream (and the triggers wait)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from residence_in_process import residence_running

from ketenzicht.residence.v1 import residence_pb2
from ketenzicht.residence.v1.residence_pb2_grpc import ResidenceServiceStub
from ketenzicht_common.client import connect
from ketenzicht_common.clock import FixedClock
from ketenzicht_common.processes import NatsServer
from ketenzicht_common.testing import TOKENS
from ketenzicht_common.testing.jetstream import payload_of, publish_event, stream_messages
from ketenzicht_contracts.events import intake, investigation

pytestmark = pytest.mark.integration

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


Published = list[dict[str, Any]]


async def published_until(
    url: NatsServer, holds: Callable[[Published], bool], timeout: float = 20.0
) -> Published:
    """Residence's triggers (its own stream), once ``holds`` is true of them."""
    deadline = time.monotonic() + timeout
    while True:
        published = [
            payload_of(m) | {"_kind": m.subject.rsplit(".", 1)[1], "_subject": m.subject}
            for m in await stream_messages(url, "KETENZICHT_RESIDENCE")
            if ".triggers." in m.subject
        ]
        if holds(published) or time.monotonic() > deadline:
            return published
        await asyncio.sleep(0.1)


def kinds_for(published: Published, victim_id: str) -> list[str]:
    return [t["_kind"] for t in published if t["victim_id"] == victim_id]


async def signal_of(url: NatsServer, victim_id: str, on: date) -> None:
    await publish_event(
        url,
        intake.SignalRegistered(
            occurred_on=on,
            victim_id=victim_id,
            signal_id=f"signal-{victim_id}",
            source_organisation="POLICE",
            form="LABOUR",
            minor=False,
            nationality_group="THIRD_COUNTRY",
            residence_position="IRREGULAR",
            region="ZEELAND_WEST_BRABANT",
        ),
    )


async def test_facts_that_cross_in_flight_are_sent_as_one_settled_outcome(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    # The default grace period: it is what the promise rests on.
    clock = FixedClock(datetime(2024, 6, 1, 9, tzinfo=UTC))
    victim = "victim-crossed"
    async with residence_running(nats_server, tmp_path / "residence", clock) as address:
        await signal_of(nats_server, victim, date(2024, 3, 1))
        await publish_event(
            nats_server,
            intake.ReportFiled(
                occurred_on=date(2024, 3, 4), victim_id=victim, case_id="case-crossed"
            ),
        )
        # The report alone would be an application (R7); 0.3 s later, well within the grace
        # period, investigation reports that the case is not investigated, on the report's
        # own day: the case never ran, so there never was an application to indicate.
        await asyncio.sleep(0.3)
        await publish_event(
            nats_server,
            investigation.NoInvestigationDecided(
                occurred_on=date(2024, 3, 4), case_id="case-crossed"
            ),
        )

        # The offer of a reflection period (R1, the signal's) comes with the victim's settling.
        published = await published_until(
            nats_server, lambda ps: "ReflectionPeriodOfferRequired" in kinds_for(ps, victim)
        )
        async with connect(address, token=TOKENS["IND"]) as channel:
            position = await ResidenceServiceStub(channel).GetResidencePosition(
                residence_pb2.GetResidencePositionRequest(victim_id=victim)
            )
        await asyncio.sleep(1.5)  # anything later of the same settling would be out by now
        published = await published_until(nats_server, lambda ps: False, timeout=0)

    kinds = kinds_for(published, victim)
    assert "ReflectionPeriodOfferRequired" in kinds
    # Sent once settled: never the intermediate state, so nothing to take back.
    assert "TemporaryPermitApplicationIndicated" not in kinds
    assert "TriggerRetracted" not in kinds
    # What residence recorded as sent agrees with its feed.
    assert sorted(t.kind for t in position.triggers) == sorted(kinds)
    assert not [t for t in position.triggers if t.retracted]


async def health_of(address: str, service: str) -> int | None:
    """The status of a named health sub-service (None while it is not known yet)."""
    async with grpc.aio.insecure_channel(address) as channel:
        try:
            answer = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=2
            )
        except grpc.aio.AioRpcError as error:
            if error.code() is grpc.StatusCode.NOT_FOUND:
                return None
            raise
    return int(answer.status)


async def health_until(
    address: str, service: str, status: int, timeout: float = 20.0
) -> int | None:
    deadline = time.monotonic() + timeout
    while (now := await health_of(address, service)) != status and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    return now


async def until_logged(caplog: pytest.LogCaptureFixture, text: str, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while text not in caplog.text and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    return text in caplog.text


async def test_health_names_the_upstream_residence_cannot_apply_until_it_has_caught_up(
    nats_server: NatsServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("KETENZICHT_RESIDENCE_SETTLE_GRACE_SECONDS", "0.2")
    caplog.set_level(logging.INFO, logger="ketenzicht_common")
    intake_stream = "residence.upstream.KETENZICHT_INTAKE"
    investigation_stream = "residence.upstream.KETENZICHT_INVESTIGATION"
    data = tmp_path / "residence"
    victim = "victim-held-back"
    clock = FixedClock(datetime(2024, 6, 1, 9, tzinfo=UTC))
    async with residence_running(nats_server, data, clock) as address:
        assert await health_until(address, intake_stream, SERVING) == SERVING
        assert await health_until(address, "residence.feed", SERVING) == SERVING

        # Another writer holds residence's store: what intake sends cannot be stored, so it is
        # not acknowledged, and the write fails once the store's lock timeout has passed; the
        # consumer redelivers it later (not a contract breach: no dead letter).
        store = sqlite3.connect(
            data / "events.sqlite", isolation_level=None, check_same_thread=False
        )
        await asyncio.to_thread(store.execute, "BEGIN EXCLUSIVE")
        try:
            await signal_of(nats_server, victim, date(2024, 5, 1))
            assert await health_until(address, intake_stream, NOT_SERVING) == NOT_SERVING
            assert await health_of(address, "residence.feed") == NOT_SERVING
            # Only the stream that holds the triggers back is named.
            assert await health_of(address, investigation_stream) == SERVING
            assert "KETENZICHT_INTAKE not applied for" in caplog.text
            assert await until_logged(caplog, "SignalRegistered"), caplog.text
            assert await until_logged(caplog, "(delivery 1); redelivery in"), caplog.text
            assert await health_of(address, intake_stream) == NOT_SERVING
        finally:
            await asyncio.to_thread(store.execute, "ROLLBACK")
            store.close()
        assert not kinds_for(await published_until(nats_server, lambda ps: False, 0), victim), (
            "a trigger went out before its facts were applied"
        )

        # The store is free again: the redelivered event is applied, the stream has caught up.
        assert await health_until(address, intake_stream, SERVING) == SERVING
        assert await health_until(address, "residence.feed", SERVING) == SERVING
        published = await published_until(nats_server, lambda ps: bool(kinds_for(ps, victim)))
    assert kinds_for(published, victim) == ["ReflectionPeriodOfferRequired"]
    assert "residence.upstream.KETENZICHT_INTAKE serving again" in caplog.text
