"""The bus is a trust boundary: whatever a party publishes on its own subjects (a compromised
service, a bug), a relay keeps publishing, and nothing that breaks the contracts is applied,
stored or logged with its content. (What a party may publish at all: test_bus_permissions.)"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path

import grpc
import nats
import nats.aio.msg
import pytest
from eventsourcing.application import Application, ProcessingEvent
from grpc_health.v1 import health_pb2, health_pb2_grpc

from intake.application.intake import IntakeApplication
from intake.domain.victim_track import VictimTrack
from ketenzicht.monitor.v1 import monitor_pb2 as monitor_pb
from ketenzicht.monitor.v1.monitor_pb2_grpc import MonitorServiceStub
from ketenzicht_common.bus_access import provision_feeds
from ketenzicht_common.client import connect
from ketenzicht_common.contract import Unprocessable
from ketenzicht_common.dead_letters import DeadLetter, read
from ketenzicht_common.domain import Provenance
from ketenzicht_common.health import health_of
from ketenzicht_common.processes import NatsServer
from ketenzicht_common.relay import Relay
from ketenzicht_common.store import StoreSettings
from ketenzicht_common.streams import ensure_stream, service_stream
from ketenzicht_common.testing import TOKENS
from ketenzicht_common.testing.fixtures import ServiceFactory
from ketenzicht_common.testing.jetstream import event_of, publish_event, stream_messages
from ketenzicht_contracts.envelope import Envelope
from ketenzicht_contracts.events.intake import SignalRegistered

from .test_delivery_guarantees import STREAM, register

pytestmark = pytest.mark.integration

FREE_TEXT = "Jan Jansen, Kerkstraat 1, Utrecht"


async def publish_raw(
    bus: NatsServer, subject: str, body: bytes, headers: dict[str, str] | None = None
) -> None:
    """What whoever holds intake's identity can do on intake's own subjects."""
    nc = await nats.connect(**bus.login("intake"))
    try:
        js = nc.jetstream()
        await ensure_stream(js, service_stream("intake"))
        await provision_feeds(js, "intake")
        await js.publish(subject, body, headers=headers)
    finally:
        await nc.close()


def forged_envelope(store: str, position: int, event_id: uuid.UUID | None = None) -> Envelope:
    return Envelope(
        event_id=event_id or uuid.uuid4(),
        service="intake",
        event_type="SignalRegistered",
        version=1,
        occurred_on=date(2024, 3, 1),
        recorded_at=datetime.now(UTC),
        aggregate_id=uuid.uuid4(),
        aggregate_version=1,
        organisation="politie",
        system="police-registration",
        position=position,
        store=store,
    )


def forged_headers(store: str, position: int, event_id: uuid.UUID | None = None) -> dict[str, str]:
    """A version-1 message's envelope (``ce-*`` headers), as streams of older runs hold."""
    return forged_envelope(store, position, event_id).to_headers()


def origin(message: nats.aio.msg.Msg) -> tuple[str, str]:
    """(store, event id) a message of either envelope version claims; empty for no envelope."""
    with contextlib.suppress(Unprocessable):
        envelope, _ = event_of(message)
        return envelope.store, str(envelope.event_id)
    return "", ""


async def test_a_foreign_message_in_a_services_stream_then_a_restart_the_relay_still_publishes(
    nats_server: NatsServer, service_factory: ServiceFactory, tmp_path: Path
) -> None:
    data_dir = tmp_path / "intake-data"
    intake = service_factory("intake", nats_server, data_dir=data_dir)
    first = await register(intake.address, range(3))
    published = await stream_messages(nats_server, STREAM, at_least=3)
    store = origin(published[0])[0]

    # A two-byte publish; a message that claims this store's identity at a position beyond
    # what it holds (in the body, and in old-style headers); one that claims a position it
    # holds but names another event.
    await publish_raw(nats_server, "ketenzicht.intake.SignalRegistered", b"hi")
    await publish_raw(
        nats_server,
        "ketenzicht.intake.SignalRegistered",
        b"{}",
        forged_headers(store, position=999),
    )
    headers, body = forged_envelope(store, position=998).to_message(b"{}")
    await publish_raw(nats_server, "ketenzicht.intake.SignalRegistered", body, headers)
    await publish_raw(
        nats_server, "ketenzicht.intake.SignalRegistered", b"{}", forged_headers(store, position=2)
    )
    intake.stop()

    restarted = service_factory("intake", nats_server, data_dir=data_dir)
    later = await register(restarted.address, range(10, 12))
    messages = await stream_messages(nats_server, STREAM, at_least=9)
    events = [event for claimed, event in map(origin, messages) if claimed == store]
    genuine = [e for e in events if e in first | later]
    assert sorted(genuine) == sorted(first | later), "every event published, once"
    assert len(messages) == 9
    log = (tmp_path / "intake.log").read_text()
    assert "skipped 4 message(s) of other origin at the end of KETENZICHT_INTAKE" in log
    assert "claims this store's position 999, beyond" in log
    assert "claims this store's position 998, beyond" in log
    assert "claims this store's position 2 but names another event" in log


class LegacyIntake(IntakeApplication):
    """An intake store as it was before events were checked against the contract when stored."""

    def _record(self, processing_event: ProcessingEvent[uuid.UUID]) -> list:  # type: ignore[type-arg]
        return Application._record(self, processing_event)


def signalled(victim_id: str, n: int) -> VictimTrack:
    police = Provenance("politie", "police-registration", f"signal-{n}")
    track = VictimTrack.open(victim_id, police, date(2022, 1, 3))
    track.register_signal(
        police,
        date(2022, 1, 3),
        f"signal-{n}",
        source_organisation="POLICE",
        form="SEXUAL",
        minor=False,
        nationality_group="THIRD_COUNTRY",
        residence_position="IRREGULAR",
        region="AMSTERDAM",
    )
    return track


@contextlib.asynccontextmanager
async def relaying(app: IntakeApplication, bus: NatsServer) -> AsyncIterator[Relay]:
    relay = Relay(app, bus.url, poll_interval=0.05, seed_file=bus.seed("intake"))
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
    nats_server: NatsServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
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
        async with relaying(app, nats_server) as relay:
            messages = await stream_messages(nats_server, STREAM, at_least=2)
            assert await eventually(lambda: relay.skipped == 1 and relay.position > 0)
            assert relay.stalled(after=0) == "", "the relay is not stuck on it"
        bodies = [event_of(m)[1] for m in messages]
        assert [b["victim_id"] for b in bodies] == ["victim-before", "victim-after"]

        nc = await nats.connect(**nats_server.login("intake"))
        try:
            letters = await read(nc, "intake")  # intake keeps its relay's dead letters
        finally:
            await nc.close()
        [letter] = letters
        assert (letter.stream, letter.consumer) == (STREAM, "relay")
        assert letter.event_type == "intake.SignalRegistered"
        assert letter.reason.startswith(
            "skipped by the relay: breaks-contract: intake "
            "SignalRegistered: victim_id is not a pseudonym"
        )
        assert FREE_TEXT not in repr(letter)
        assert "skipped the stored event at position" in caplog.text
        assert "Jansen" not in caplog.text
    finally:
        app.close()


def envelope_of(service: str, event_type: str) -> Envelope:
    return Envelope(
        event_id=uuid.uuid4(),
        service=service,
        event_type=event_type,
        version=1,
        occurred_on=date(2024, 3, 1),
        recorded_at=datetime.now(UTC),
        aggregate_id=uuid.uuid4(),
        aggregate_version=1,
        organisation="politie",
        system="police-registration",
    )


def envelope_headers(service: str, event_type: str, **extra: str) -> dict[str, str]:
    """A version-1 envelope (``ce-*`` headers): the forgery an old-style message can be."""
    return envelope_of(service, event_type).to_headers() | extra


def in_body(
    service: str, event_type: str, data: dict[str, object], **attributes: object
) -> tuple[bytes, dict[str, str]]:
    """A version-2 message (the envelope in the body) with some attributes forged."""
    headers, body = envelope_of(service, event_type).to_message(json.dumps(data).encode())
    return json.dumps(json.loads(body) | attributes).encode(), headers


def forged_messages() -> list[tuple[str, bytes, dict[str, str] | None, str]]:
    """(subject, body, headers, the rule it breaks): each gets through NATS, none through the
    contract check."""
    signal = {
        "occurred_on": "2024-03-01",
        "victim_id": "victim-forged",
        "signal_id": "signal-forged",
        "source_organisation": "POLICE",
        "form": "LABOUR",
        "minor": False,
        "nationality_group": "THIRD_COUNTRY",
        "residence_position": "IRREGULAR",
        "region": "LIMBURG",
    }
    summons = {
        "occurred_on": "2024-03-01",
        "case_id": "case-forged",
        "suspect_id": "suspect-forged",
    }
    personal = signal | {
        "victim_id": FREE_TEXT,
        "name": "Jan Jansen",
        "address": "Kerkstraat 1, Utrecht",
    }
    return [
        # A prosecution fact published on an intake subject (it lands in intake's stream).
        (
            "ketenzicht.intake.SuspectSummoned",
            json.dumps(summons).encode(),
            envelope_headers("prosecution", "SuspectSummoned"),
            "wrong-stream",
        ),
        # An intake type on the subject of another intake type.
        (
            "ketenzicht.intake.ReportFiled",
            json.dumps(signal).encode(),
            envelope_headers("intake", "SignalRegistered"),
            "wrong-subject",
        ),
        # Free text as the victim id, and a name and an address besides; free text in the
        # message id too, which faststream would log if anything logged it.
        (
            "ketenzicht.intake.SignalRegistered",
            json.dumps(personal).encode(),
            envelope_headers("intake", "SignalRegistered", **{"Nats-Msg-Id": FREE_TEXT}),
            "breaks-contract",
        ),
        # A type intake does not publish.
        (
            "ketenzicht.intake.VictimAddressRecorded",
            json.dumps({"occurred_on": "2024-03-01", "address": "Kerkstraat 1"}).encode(),
            envelope_headers("intake", "VictimAddressRecorded"),
            "unknown-type",
        ),
        # Two anonymous bytes.
        ("ketenzicht.intake.SignalRegistered", b"hi", None, "no-envelope"),
        # The same forgeries with the envelope in the body (version 2).
        (
            "ketenzicht.intake.SuspectSummoned",
            *in_body("prosecution", "SuspectSummoned", summons),
            "wrong-stream",
        ),
        (
            "ketenzicht.intake.SignalRegistered",
            *in_body("intake", "SignalRegistered", personal),
            "breaks-contract",
        ),
        # Free text in a body attribute: named, never shown.
        (
            "ketenzicht.intake.SignalRegistered",
            *in_body("intake", "SignalRegistered", signal, occurredon=FREE_TEXT),
            "no-envelope",
        ),
        # Intake speaking for residence: its type and stream, residence's source.
        (
            "ketenzicht.intake.SignalRegistered",
            *in_body("intake", "SignalRegistered", signal, source="/ketenzicht/residence"),
            "wrong-source",
        ),
        # A number beyond 64 bits in the payload, where the contract wants a boolean: valid
        # JSON, which the checker could not write back for the contract's check.
        (
            "ketenzicht.intake.SignalRegistered",
            *in_body("intake", "SignalRegistered", signal | {"minor": 10**30}),
            "breaks-contract",
        ),
        # An aggregate version beyond what a store can hold (body and old-style headers).
        (
            "ketenzicht.intake.SignalRegistered",
            *in_body("intake", "SignalRegistered", signal, aggregateversion=10**30),
            "no-envelope",
        ),
        (
            "ketenzicht.intake.SignalRegistered",
            json.dumps(signal).encode(),
            envelope_headers("intake", "SignalRegistered", **{"ce-position": str(10**30)}),
            "no-envelope",
        ),
        # A valid time that lies past year 9999 in UTC.
        (
            "ketenzicht.intake.SignalRegistered",
            *in_body("intake", "SignalRegistered", signal, time="9999-12-31T23:59:59-23:59"),
            "no-envelope",
        ),
    ]


def holds(directory: Path, text: bytes) -> list[Path]:
    """The files under ``directory`` whose bytes contain ``text`` (stores, WAL files, logs)."""
    return [p for p in directory.rglob("*") if p.is_file() and text in p.read_bytes()]


async def test_a_message_that_passes_nats_but_breaks_the_contract_is_only_a_dead_letter(
    nats_server: NatsServer, service_factory: ServiceFactory, tmp_path: Path
) -> None:
    quick = {"KETENZICHT_PROGRESS_TIMEOUT_SECONDS": "2"}
    residence = service_factory("residence", nats_server, env=quick)
    monitor = service_factory(
        "monitor",
        nats_server,
        env=quick
        | {"KETENZICHT_MONITOR_HTTP_ENABLED": "false", "KETENZICHT_MONITOR_PREWARM": "false"},
    )
    forged = forged_messages()
    for subject, body, headers, _ in forged:
        await publish_raw(nats_server, subject, body, headers)
    await publish_event(
        nats_server,
        SignalRegistered(
            occurred_on=date(2024, 3, 1),
            victim_id="victim-valid",
            signal_id="signal-valid",
            source_organisation="POLICE",
            form="LABOUR",
            minor=False,
            nationality_group="THIRD_COUNTRY",
            residence_position="IRREGULAR",
            region="LIMBURG",
        ),
    )

    # The valid victim's trigger still flows.
    async def offered() -> bool:
        return any(
            event_of(m)[1].get("victim_id") == "victim-valid"
            and m.subject.endswith(".ReflectionPeriodOfferRequired")
            for m in await stream_messages(nats_server, "KETENZICHT_RESIDENCE")
        )

    assert await eventually_async(offered), "no trigger for the valid victim"

    # Every forged message is a dead letter of both consumers (each keeps its own), refused
    # for the rule it breaks.
    async def all_refused() -> list[DeadLetter]:
        letters = []
        for reader in ("residence", "monitor"):
            nc = await nats.connect(**nats_server.login(reader))
            try:
                letters += await read(nc, reader)
            finally:
                await nc.close()
        return letters

    deadline = time.monotonic() + 30
    while len(letters := await all_refused()) < 2 * len(forged) and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    assert len(letters) == 2 * len(forged)
    rules = {rule for *_, rule in forged}
    for consumer in ("residence-intake", "monitor-intake"):
        mine = [letter for letter in letters if letter.consumer == consumer]
        assert {letter.reason.split(":")[1].strip() for letter in mine} == rules, mine
        assert all(letter.reason.startswith("terminated: ") for letter in mine)
    assert "Jansen" not in repr(letters)
    assert "Kerkstraat" not in repr(letters)

    # Nothing of them is stored, or logged, by either service.
    async with connect(monitor.address, token=TOKENS["ANALYST"]) as channel:
        await MonitorServiceStub(channel).GetStatus(monitor_pb.GetStatusRequest())
    for text in (b"Jansen", b"Kerkstraat", b"case-forged", b"signal-forged"):
        assert holds(tmp_path / "residence", text) == []
        assert holds(tmp_path / "monitor", text) == []
    for log in ("residence.log", "monitor.log"):
        logged = (tmp_path / log).read_text()
        assert "Jansen" not in logged
        assert "Kerkstraat" not in logged
        assert "refused a message (KETENZICHT_INTAKE #" in logged

    # Health stays honest: refusing a message is progress, not a stall.
    for service, process in (("residence", residence), ("monitor", monitor)):
        found = await health_of(service, process.address)
        assert found.serving, found
    async with grpc.aio.insecure_channel(residence.address) as channel:
        listed = await health_pb2_grpc.HealthStub(channel).List(health_pb2.HealthListRequest())
    parts = set(listed.statuses)
    assert {"residence.relay", "residence.consumer.residence-intake", "residence.feed"} <= parts


async def eventually_async(check: Callable[[], Awaitable[bool]], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


async def test_health_names_a_relay_that_cannot_publish_and_why_and_the_status_command_says_so(
    nats_factory: Callable[[], NatsServer], service_factory: ServiceFactory, tmp_path: Path
) -> None:
    nats_server = nats_factory()
    intake = service_factory(
        "intake", nats_server, env={"KETENZICHT_PROGRESS_TIMEOUT_SECONDS": "1"}
    )
    assert (await health_of("intake", intake.address)).serving

    nats_server.stop()  # commands are still accepted; nothing can be published
    stored = await register(intake.address, range(2))

    async def stalled() -> bool:
        return "intake.relay" in (await health_of("intake", intake.address)).not_serving

    assert await eventually_async(stalled, timeout=20)
    reason = (await health_of("intake", intake.address)).not_serving["intake.relay"]
    assert reason.startswith("stored events have waited")
    assert "KETENZICHT_INTAKE" in reason
    profile = tmp_path / "stack.toml"
    profile.write_text(
        f'[nats]\nconfig = "unused"\nurl = "{nats_server.url}"\n\n[[service]]\n'
        f'name = "intake"\ngrpc_address = "{intake.address}"\ndata_dir = "x"\n'
    )
    status = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ketenzicht_common.health",
        "--profile",
        str(profile),
        stdout=asyncio.subprocess.PIPE,
    )
    printed = (await status.communicate())[0].decode()
    assert status.returncode == 1
    assert "intake         NOT SERVING" in printed
    assert "intake.relay: stored events have waited" in printed

    nats_server.start()

    async def serving_again() -> bool:
        return (await health_of("intake", intake.address)).serving

    assert await eventually_async(serving_again, timeout=20)
    messages = await stream_messages(nats_server, STREAM, at_least=2)
    assert {origin(m)[1] for m in messages} == stored
