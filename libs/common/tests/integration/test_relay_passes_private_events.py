"""A relay looks for public events to publish after the private ones it has already passed.
Residence notes every upstream fact as a private event: were the tail since its last trigger
read again on every look, a replay of its upstream would slow down with every fact noted (the
scale run saw residence fall from about 1,000 to 370 facts a second within 500,000)."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from intake.application.intake import IntakeApplication
from intake.domain.victim_track import VictimTrack
from ketenzicht_common.domain import Provenance
from ketenzicht_common.processes import NatsServer
from ketenzicht_common.store import StoreSettings
from ketenzicht_common.testing.jetstream import stream_messages

from .test_bus_is_a_trust_boundary import relaying, signalled

pytestmark = pytest.mark.integration

PRIVATE_TAIL = 300


async def _published(bus: NatsServer, at_least: int) -> int:
    return len(await stream_messages(bus, "KETENZICHT_INTAKE", at_least=at_least))


async def test_a_relay_does_not_read_the_private_events_it_has_passed_again(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    app = IntakeApplication(StoreSettings(sqlite_path=str(tmp_path / "events.sqlite")))
    app.store_id()
    app.save(signalled("victim-1", 1))
    police = Provenance("politie", "police-registration", "open")
    for n in range(PRIVATE_TAIL):
        # A pseudonym issued and nothing else: intake's one private event.
        app.save(VictimTrack.open(f"victim-open-{n}", police, date(2022, 1, 4)))
    tail_end = app.max_notification_id()
    looked_from: list[int] = []
    select = app.recorder.select_notifications

    def recorded_select(start: int, *args: Any, **kwargs: Any) -> Any:
        looked_from.append(start)
        return select(start, *args, **kwargs)

    try:
        async with relaying(app, nats_server) as relay:
            assert await _published(nats_server, 1) == 1
            for _ in range(200):
                if relay.scanned >= tail_end:
                    break
                await asyncio.sleep(0.05)
            app.recorder.select_notifications = recorded_select  # type: ignore[method-assign]
            # Stored by another writer of the same store (another instance's), which hands
            # this relay nothing: the relay must look in the store for it.
            other = IntakeApplication(StoreSettings(sqlite_path=str(tmp_path / "events.sqlite")))
            try:
                other.save(signalled("victim-2", 2))
            finally:
                other.close()
            relay.wake()
            # The event after the private tail is published all the same …
            assert await _published(nats_server, 2) == 2
        # … and no look since went back into the tail.
        assert looked_from
        assert min(looked_from) > tail_end, (min(looked_from), tail_end)
    finally:
        app.close()
