"""Reading and writing JetStream in tests, as the party that may (`bus_access`)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import nats
import nats.js.errors
import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg

from ketenzicht_common.bus_access import Bus, owner_of, provision_feeds
from ketenzicht_common.contract import read_envelope
from ketenzicht_contracts.envelope import Envelope


async def connect_as(bus: Bus, party: str) -> Client:
    return await nats.connect(**bus.login(party))


async def stream_messages(
    bus: Bus, stream: str, *, at_least: int = 0, timeout: float = 10.0, party: str | None = None
) -> list[Msg]:
    """Every message in ``stream``, waiting until there are at least ``at_least``; read as
    its owner unless ``party`` says otherwise (a dead-letter stream: whose)."""
    nc = await connect_as(bus, party or owner_of(stream))
    try:
        js = nc.jetstream()
        deadline = time.monotonic() + timeout
        count = 0
        while True:
            try:
                count = (await js.stream_info(stream)).state.messages
            except nats.js.errors.NotFoundError:
                count = 0
            if count >= at_least or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        messages = []
        for seq in range(1, count + 1):
            raw = await js.get_msg(stream, seq=seq)
            messages.append(raw)
        return messages  # type: ignore[return-value]
    finally:
        await nc.close()


async def stream_count(bus: Bus, stream: str, party: str | None = None) -> int:
    nc = await connect_as(bus, party or owner_of(stream))
    try:
        try:
            return int((await nc.jetstream().stream_info(stream)).state.messages)
        except nats.js.errors.NotFoundError:
            return 0
    finally:
        await nc.close()


async def publish_event(
    bus: Bus,
    payload: object,
    *,
    event_id: str | None = None,
    organisation: str = "test-source",
    position: int = 0,
    header_envelope: bool = False,
) -> str:
    """Publish a contract payload the way a service's relay would, as that service, its
    stream and its readers' consumers made first as the relay makes them (for tests of
    consumers). ``header_envelope``: as relays did before envelope version 2 (``ce-*``
    headers), the message a stream of an older run holds."""
    import uuid
    from datetime import UTC, datetime

    from ketenzicht_common.streams import ensure_stream, service_stream
    from ketenzicht_contracts.envelope import Envelope, subject_for
    from ketenzicht_contracts.events import EventPayload

    assert isinstance(payload, EventPayload)
    envelope = Envelope(
        event_id=uuid.UUID(event_id) if event_id else uuid.uuid4(),
        service=payload.SERVICE,
        event_type=payload.event_type(),
        version=payload.VERSION,
        occurred_on=payload.occurred_on,
        recorded_at=datetime.now(UTC),
        aggregate_id=uuid.uuid4(),
        aggregate_version=1,
        organisation=organisation,
        system="test",
        position=position,
    )
    nc = await connect_as(bus, payload.SERVICE)
    try:
        js = nc.jetstream()
        await ensure_stream(js, service_stream(payload.SERVICE))
        await provision_feeds(js, payload.SERVICE)
        if header_envelope:
            headers, body = envelope.to_headers(), payload.model_dump_json().encode()
        else:
            headers, body = envelope.to_message(payload)
        await js.publish(subject_for(payload.SERVICE, payload.event_type()), body, headers=headers)
    finally:
        await nc.close()
    return str(envelope.event_id)


def event_of(message: Msg) -> tuple[Envelope, dict[str, Any]]:
    """The envelope and the payload of a message in a stream, of either envelope version
    (read as a consumer reads it: `contract.read_envelope`)."""
    envelope, data = read_envelope(message.headers, message.data or b"")
    payload: dict[str, Any] = orjson.loads(data)
    return envelope, payload


def payload_of(message: Msg) -> dict[str, Any]:
    """The payload of a message in a stream, of either envelope version."""
    return event_of(message)[1]


def attributes_of(message: Msg) -> dict[str, Any]:
    """The CloudEvents attributes of a message as relays publish it now (envelope version 2:
    in the body, ``Nats-Msg-Id`` the only header); AssertionError for any other message."""
    assert list(message.headers or {}) == ["Nats-Msg-Id"], "not an envelope-version-2 message"
    document: dict[str, Any] = orjson.loads(message.data or b"")
    document.pop("data")
    return document
