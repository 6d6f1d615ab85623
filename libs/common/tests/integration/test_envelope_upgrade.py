"""Upgrading to envelope version 2 in place: a stream that holds a store's events with the old
envelope (``ce-*`` headers) is resumed after them, and both versions read as the same events."""

from __future__ import annotations

from pathlib import Path

import pytest

from intake.application.intake import IntakeApplication
from ketenzicht_common.consumer import checked
from ketenzicht_common.processes import NatsServer
from ketenzicht_common.relay import to_message
from ketenzicht_common.store import StoreSettings
from ketenzicht_common.testing.jetstream import attributes_of, event_of, stream_messages

from .test_bus_is_a_trust_boundary import eventually, publish_raw, relaying, signalled
from .test_delivery_guarantees import STREAM

pytestmark = pytest.mark.integration


async def test_a_relay_resumes_after_its_own_old_style_messages_and_publishes_the_new_style(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    app = IntakeApplication(StoreSettings(sqlite_path=str(tmp_path / "events.sqlite")))
    try:
        app.store_id()
        for n in range(3):
            app.save(signalled(f"victim-old-{n}", n))
        # What the relay published before envelope version 2: the payload as the body, the
        # envelope in ce-* headers.
        notifications = app.recorder.select_notifications(1, 100, None, app.public_topics())
        for notification in notifications:
            subject, data, envelope = to_message(app, notification)
            await publish_raw(nats_server, subject, data, envelope.to_headers())

        async with relaying(app, nats_server) as relay:
            assert await eventually(lambda: relay.position == notifications[-1].id)
            for n in range(3, 5):
                app.save(signalled(f"victim-new-{n}", n))
            messages = await stream_messages(nats_server, STREAM, at_least=5)
            assert await eventually(lambda: relay.position > notifications[-1].id)
    finally:
        app.close()

    assert len(messages) == 5, "nothing of the old stream was published again"
    old, new = messages[:3], messages[3:]
    assert all("ce-type" in (m.headers or {}) for m in old)
    assert [attributes_of(m)["ketenzichtenvelope"] for m in new] == [2, 2]
    events = [event_of(m) for m in messages]
    assert [payload["victim_id"] for _, payload in events] == [
        "victim-old-0",
        "victim-old-1",
        "victim-old-2",
        "victim-new-3",
        "victim-new-4",
    ]
    assert len({envelope.event_id for envelope, _ in events}) == 5
    assert {envelope.store for envelope, _ in events} == {events[0][0].store}
    # A consumer's check takes both as the events they are.
    for message, (envelope, _) in zip(messages, events, strict=True):
        received = checked(STREAM, message.subject, message.headers, message.data)
        assert received.envelope.event_id == envelope.event_id
        assert received.payload().SERVICE == "intake"
