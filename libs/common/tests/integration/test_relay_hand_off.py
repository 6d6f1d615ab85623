"""The relay publishes what this process's writer just stored from the writer's own hand-off
(no read of the store, ADR 0032), and reads the store wherever the hand-off leaves a gap:
events stored before it started, or more than the hand-off holds while it was behind. Either
way every public event is published once, in the order it was stored."""

from __future__ import annotations

from pathlib import Path

import pytest

from intake.application.intake import IntakeApplication
from ketenzicht_common.processes import NatsServer
from ketenzicht_common.relay import HANDED_OVER
from ketenzicht_common.store import StoreSettings
from ketenzicht_common.testing.jetstream import event_of, stream_messages

from .test_bus_is_a_trust_boundary import eventually, relaying, signalled

pytestmark = pytest.mark.integration

STREAM = "KETENZICHT_INTAKE"


async def test_every_event_is_published_once_in_order_with_and_without_the_hand_off(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    app = IntakeApplication(StoreSettings(sqlite_path=str(tmp_path / "events.sqlite")))
    app.store_id()
    app.save(signalled("V-before", 0))  # stored before the relay: only the store has it
    names = ["V-before"]
    try:
        async with relaying(app, nats_server) as relay:
            assert await eventually(lambda: relay.position > 0)
            app.save(signalled("V-handed-1", 1))
            names.append("V-handed-1")
            relay.wake()
            assert await eventually(lambda: relay.position >= app.max_notification_id() - 1)
            # More transactions at once than the hand-off holds: it drops the oldest, and the
            # relay finds the gap and reads the store for them.
            for n in range(2, HANDED_OVER + 12):
                app.save(signalled(f"V-burst-{n}", n))
                names.append(f"V-burst-{n}")
            relay.wake()
            app.save(signalled("V-handed-last", 9999))
            names.append("V-handed-last")
            relay.wake()
            messages = await stream_messages(nats_server, STREAM, at_least=len(names))
        published = [event_of(m)[1]["victim_id"] for m in messages]
        # Each victim's public event (the signal; the track's opening is private), in the order
        # stored, once.
        assert published == names
    finally:
        app.close()
