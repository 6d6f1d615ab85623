"""A relay that is cancelled while it reads the store stops only once the read has returned, so
that its owner can close the store right after: SQLite crashes the whole process when a
connection is closed under a query still running in another thread."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from pathlib import Path
from typing import Any

import pytest

from intake.application.intake import IntakeApplication
from ketenzicht_common.processes import NatsServer
from ketenzicht_common.relay import Relay
from ketenzicht_common.store import StoreSettings

from .test_bus_is_a_trust_boundary import signalled

pytestmark = pytest.mark.integration


async def test_a_cancelled_relay_waits_for_its_read_before_it_stops(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    app = IntakeApplication(StoreSettings(sqlite_path=str(tmp_path / "events.sqlite")))
    app.store_id()
    app.save(signalled("victim-1", 1))
    reading, release = threading.Event(), threading.Event()
    select = app.recorder.select_notifications

    def slow_select(*args: Any, **kwargs: Any) -> Any:
        # A read the relay starts after its first one: held until the test lets it go.
        reading.set()
        release.wait(10)
        return select(*args, **kwargs)

    relay = Relay(app, nats_server.url, poll_interval=0.05, seed_file=nats_server.seed("intake"))
    task = asyncio.create_task(relay.run())
    try:
        for _ in range(200):
            if relay.position >= 1:
                break
            await asyncio.sleep(0.05)
        assert relay.position >= 1
        app.recorder.select_notifications = slow_select  # type: ignore[method-assign]
        app.save(signalled("victim-2", 2))
        relay.wake()
        assert await asyncio.to_thread(reading.wait, 10)
        task.cancel()
        await asyncio.sleep(0.3)
        assert not task.done(), "the relay stopped while its read was still running"
    finally:
        release.set()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        app.close()
    assert task.cancelled()
