"""The bus is a trust boundary: whatever anyone publishes on NATS, a relay keeps publishing, and
nothing that breaks the contracts is applied, stored or logged with its content."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from pathlib import Path

import nats
import pytest
from eventsourcing.application import Application, ProcessingEvent

from intake.application.intake import IntakeApplication
from intake.domain.victim_track import VictimTrack
from ketenzicht_common.dead_letters import read
from ketenzicht_common.domain import Provenance
from ketenzicht_common.processes import NatsServer
from ketenzicht_common.relay import Relay
from ketenzicht_common.store import StoreSettings
from ketenzicht_common.testing.fixtures import ServiceFactory
from ketenzicht_common.testing.jetstream import stream_messages
from ketenzicht_contracts.envelope import Envelope

from .test_delivery_guarantees import STREAM, register

pytestmark = pytest.mark.integration

FREE_TEXT = "Jan Jansen, Kerkstraat 1, Utrecht"


async def publish_raw(url: str, subject: str, body: bytes,
                      headers: dict[str, str] | None = None) -> None:
    """What anyone who can reach NATS can do."""
    nc = await nats.connect(url)
    try:
        await nc.jetstream().publish(subject, body, headers=headers)
    finally:
        await nc.close()


def forged_headers(store: str, position: int, event_id: uuid.UUID | None = None) -> dict[str, str]:
    return Envelope(
        event_id=event_id or uuid.uuid4(), service="intake", event_type="SignalRegistered",
        version=1, occurred_on=date(2024, 3, 1), recorded_at=datetime.now(UTC),
        aggregate_id=uuid.uuid4(), aggregate_version=1, organisation="politie",
        system="police-registration", position=position, store=store).to_headers()


async def test_a_foreign_message_in_a_services_stream_then_a_restart_the_relay_still_publishes(
        nats_server: NatsServer, service_factory: ServiceFactory, tmp_path: Path) -> None:
    data_dir = tmp_path / "intake-data"
    intake = service_factory("intake", nats_server.url, data_dir=data_dir)
    first = await register(intake.address, range(3))
    published = await stream_messages(nats_server.url, STREAM, at_least=3)
    store = (published[0].headers or {})["ce-store"]

    # An anonymous two-byte publish; a message that claims this store's identity at a position
    # beyond what it holds; one that claims a position it holds but names another event.
    await publish_raw(nats_server.url, "ketenzicht.intake.SignalRegistered", b"hi")
    await publish_raw(nats_server.url, "ketenzicht.intake.SignalRegistered", b"{}",
                      forged_headers(store, position=999))
    await publish_raw(nats_server.url, "ketenzicht.intake.SignalRegistered", b"{}",
                      forged_headers(store, position=2))
    intake.stop()

    restarted = service_factory("intake", nats_server.url, data_dir=data_dir)
    later = await register(restarted.address, range(10, 12))
    messages = await stream_messages(nats_server.url, STREAM, at_least=8)
    events = [(m.headers or {}).get("ce-id") for m in messages
              if (m.headers or {}).get("ce-store") == store]
    genuine = [e for e in events if e in first | later]
    assert sorted(genuine) == sorted(first | later), "every event published, once"
    assert len(messages) == 8
    log = (tmp_path / "intake.log").read_text()
    assert "skipped 3 message(s) of other origin at the end of KETENZICHT_INTAKE" in log
    assert "claims this store's position 999, beyond" in log
    assert "claims this store's position 2 but names another event" in log


class LegacyIntake(IntakeApplication):
    """An intake store as it was before events were checked against the contract when stored."""

    def _record(self, processing_event: ProcessingEvent[uuid.UUID]) -> list:  # type: ignore[type-arg]
        return Application._record(self, processing_event)


def signalled(victim_id: str, n: int) -> VictimTrack:
    police = Provenance("politie", "police-registration", f"signal-{n}")
    track = VictimTrack.open(victim_id, police, date(2022, 1, 3))
    track.register_signal(police, date(2022, 1, 3), f"signal-{n}", source_organisation="POLICE",
                          form="SEXUAL", minor=False, nationality_group="THIRD_COUNTRY",
                          residence_position="IRREGULAR", region="AMSTERDAM")
    return track


@contextlib.asynccontextmanager
async def relaying(app: IntakeApplication, url: str) -> AsyncIterator[Relay]:
    relay = Relay(app, url, poll_interval=0.05)
    task = asyncio.create_task(relay.run())
    try:
        yield relay
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def eventually(check: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return check()


async def test_a_stored_event_that_breaks_its_contract_is_skipped_by_the_relay_and_recorded(
        nats_server: NatsServer, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="ketenzicht_common")
    path = str(tmp_path / "events.sqlite")
    legacy = LegacyIntake(StoreSettings(sqlite_path=path))
    legacy.store_id()
    legacy.save(signalled("victim-before", 1))
    legacy.save(signalled(FREE_TEXT, 2))  # old data: free text where a pseudonym belongs
    legacy.save(signalled("victim-after", 3))
    legacy.close()

    app = IntakeApplication(StoreSettings(sqlite_path=path))
    try:
        async with relaying(app, nats_server.url) as relay:
            messages = await stream_messages(nats_server.url, STREAM, at_least=2)
            assert await eventually(lambda: relay.skipped == 1 and relay.position > 0)
            assert relay.stalled(after=0) == "", "the relay is not stuck on it"
        bodies = [json.loads(m.data) for m in messages]
        assert [b["victim_id"] for b in bodies] == ["victim-before", "victim-after"]

        nc = await nats.connect(nats_server.url)
        try:
            letters = await read(nc.jetstream())
        finally:
            await nc.close()
        [letter] = letters
        assert (letter.stream, letter.consumer) == (STREAM, "relay")
        assert letter.event_type == "intake.SignalRegistered"
        assert letter.reason.startswith("skipped by the relay: breaks-contract: intake "
                                        "SignalRegistered: victim_id is not a pseudonym")
        assert FREE_TEXT not in repr(letter)
        assert "skipped the stored event at position" in caplog.text
        assert "Jansen" not in caplog.text
    finally:
        app.close()
