"""Events a consumer gives up on are kept as dead letters an operator can find: the event that
fails on every delivery, and the one that breaks its contract (terminated at once)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections import Counter
from datetime import UTC, date, datetime

import nats
import nats.js.errors
import pytest

from ketenzicht_common.bus_access import provision_feeds
from ketenzicht_common.consumer import ReceivedEvent, Unprocessable
from ketenzicht_common.dead_letters import DeadLetter, read
from ketenzicht_common.processes import NatsServer
from ketenzicht_common.streams import dead_letter_stream, ensure_stream, service_stream
from ketenzicht_contracts.envelope import Envelope

from .test_consumer_batches import (
    DURABLE,
    READER,
    STREAM,
    consuming,
    eventually,
    publish_events,
    unacknowledged,
)

pytestmark = pytest.mark.integration


async def dead_letters(bus: NatsServer) -> list[DeadLetter]:
    """Residence's dead letters, which it keeps in its own account."""
    nc = await nats.connect(**bus.login(READER))
    try:
        return await read(nc, READER)
    finally:
        await nc.close()


async def keep_dead_letters(bus: NatsServer) -> None:
    nc = await nats.connect(**bus.login(READER))
    try:
        await ensure_stream(nc.jetstream(), dead_letter_stream(READER))
    finally:
        await nc.close()


async def test_an_event_that_fails_on_every_delivery_becomes_a_dead_letter(
    nats_server: NatsServer,
) -> None:
    await keep_dead_letters(nats_server)
    ids = await publish_events(nats_server, 5, max_deliver=2)
    poison = ids[2]
    seen: Counter[str] = Counter()

    async def handle(event: ReceivedEvent) -> None:
        seen[str(event.envelope.event_id)] += 1
        if str(event.envelope.event_id) == poison:
            raise RuntimeError("this event always fails")

    async def given_up() -> bool:
        return bool(await dead_letters(nats_server))

    async with consuming(nats_server, handle, max_deliver=2):
        assert await eventually(given_up), "the server never gave up on the failing event"
        assert await unacknowledged(nats_server) == 0

    [letter] = await dead_letters(nats_server)
    assert (letter.stream, letter.consumer) == (STREAM, DURABLE)
    assert letter.event_id == poison, "the dead letter leads to the event in its stream"
    assert letter.event_type.endswith("SignalRegistered")
    assert letter.deliveries == 2
    assert letter.reason == "failed on every delivery"
    assert seen[poison] == 2
    assert all(seen[event_id] == 1 for event_id in ids if event_id != poison)

    # An operator lists them from the command line.
    listed = subprocess.run(
        [sys.executable, "-m", "ketenzicht_common.dead_letters", *operator(nats_server)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert f"{STREAM} #3" in listed
    assert poison in listed
    assert "1 dead letter(s)" in listed


async def test_an_event_that_breaks_its_contract_is_a_dead_letter_at_once(
    nats_server: NatsServer,
) -> None:
    await keep_dead_letters(nats_server)
    ids = await publish_events(nats_server, 3)
    seen: Counter[str] = Counter()

    async def handle(event: ReceivedEvent) -> None:
        seen[str(event.envelope.event_id)] += 1
        if str(event.envelope.event_id) == ids[0]:
            raise Unprocessable("case_id is missing")

    async def given_up() -> bool:
        return bool(await dead_letters(nats_server))

    async with consuming(nats_server, handle):
        assert await eventually(given_up)
        assert await unacknowledged(nats_server) == 0

    [letter] = await dead_letters(nats_server)
    assert letter.event_id == ids[0]
    assert letter.reason.startswith("terminated")
    assert seen[ids[0]] == 1, "not redelivered: no redelivery repairs a broken contract"


def operator(bus: NatsServer, party: str = READER) -> list[str]:
    """The command's options to run as ``party``."""
    return ["--nats", bus.url, "--identity", party, "--seed-file", str(bus.seed(party))]


async def cli(bus: NatsServer, *args: str, party: str = READER) -> tuple[int, str, str]:
    """The operator's command, run beside the consumer (which keeps running meanwhile)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ketenzicht_common.dead_letters",
        *operator(bus, party),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    return int(process.returncode or 0), out.decode(), err.decode()


async def publish_forged_signal(bus: NatsServer, header_envelope: bool = False) -> str:
    """A SignalRegistered with a name as the victim id and an address besides, published
    with intake's own identity (a compromised intake, or a bug in it); with its envelope in
    the body as relays publish now, or (``header_envelope``) in ``ce-*`` headers as before."""
    envelope = Envelope(
        event_id=uuid.uuid4(),
        service="intake",
        event_type="SignalRegistered",
        version=1,
        occurred_on=date(2024, 3, 1),
        recorded_at=datetime.now(UTC),
        aggregate_id=uuid.uuid4(),
        aggregate_version=1,
        organisation="politie",
        system="police-registration",
    )
    body = {
        "occurred_on": "2024-03-01",
        "victim_id": "Jan Jansen",
        "signal_id": "signal-x",
        "source_organisation": "POLICE",
        "form": "LABOUR",
        "minor": False,
        "nationality_group": "DUTCH",
        "residence_position": "LAWFUL",
        "region": "LIMBURG",
        "address": "Kerkstraat 1",
    }
    nc = await nats.connect(**bus.login("intake"))
    try:
        js = nc.jetstream()
        await ensure_stream(js, service_stream("intake"))
        await provision_feeds(js, "intake")
        payload = json.dumps(body).encode()
        headers, message = (
            (envelope.to_headers(), payload) if header_envelope else envelope.to_message(payload)
        )
        await js.publish("ketenzicht.intake.SignalRegistered", message, headers=headers)
    finally:
        await nc.close()
    return str(envelope.event_id)


@pytest.mark.parametrize("header_envelope", [False, True], ids=["body envelope", "header envelope"])
async def test_a_dead_letter_is_inspected_without_its_content_and_discarded_with_a_code(
    nats_server: NatsServer, header_envelope: bool
) -> None:
    await keep_dead_letters(nats_server)
    forged = await publish_forged_signal(nats_server, header_envelope)
    applied: list[str] = []

    async def handle(event: ReceivedEvent) -> None:
        applied.append(str(event.envelope.event_id))

    async def given_up() -> bool:
        return bool(await dead_letters(nats_server))

    async with consuming(nats_server, handle):
        assert await eventually(given_up)
    assert applied == [], "refused by the contract check, never handed to the handler"
    [letter] = await dead_letters(nats_server)

    code, shown, _ = await cli(nats_server, "inspect", str(letter.sequence))
    assert code == 0
    for line in (
        "stream      KETENZICHT_INTAKE",
        "sequence    1",
        "event type  intake.SignalRegistered",
        f"event id    {forged}",
        f"consumer    {DURABLE}",
        "deliveries  1",
        "reason      terminated: breaks-contract: intake SignalRegistered: 1 field(s) "
        "the contract does not have; victim_id is not a pseudonym",
        "state       open",
        "signal_id   signal-x",
    ):
        assert line in shown, shown
    assert "Jansen" not in shown
    assert "Kerkstraat" not in shown
    assert "victim_id   " not in shown, "an id that is not a pseudonym is not shown"

    # Free text is no reason; a code is. Only intake may erase the event from its stream:
    # residence's operator is told how, and nothing changes until intake's does it.
    code, _, refused = await cli(
        nats_server, "discard", str(letter.sequence), "--reason", "it holds a name"
    )
    assert code == 2
    assert "invalid choice" in refused
    code, _, refused = await cli(
        nats_server, "discard", str(letter.sequence), "--reason", "PERSONAL_DATA", "--erase"
    )
    assert code == 1
    assert f"erase {STREAM} {letter.stream_sequence}" in refused
    [still] = await dead_letters(nats_server)
    assert still.status == "open"
    code, said, _ = await cli(
        nats_server, "erase", STREAM, str(letter.stream_sequence), party="intake"
    )
    assert code == 0, said
    nc = await nats.connect(**nats_server.login("intake"))
    try:
        with pytest.raises(nats.js.errors.NotFoundError):
            await nc.jetstream().get_msg(STREAM, letter.stream_sequence)
    finally:
        await nc.close()
    code, said, _ = await cli(
        nats_server, "discard", str(letter.sequence), "--reason", "PERSONAL_DATA"
    )
    assert code == 0
    assert "discarded: PERSONAL_DATA" in said
    [handled] = await dead_letters(nats_server)
    assert handled.status == "discarded PERSONAL_DATA"
    _, listed, _ = await cli(nats_server, "list", "--open")
    assert "0 dead letter(s)" in listed


async def test_a_dead_letter_is_replayed_to_its_running_consumer(nats_server: NatsServer) -> None:
    await keep_dead_letters(nats_server)
    ids = await publish_events(nats_server, 3, max_deliver=2)
    failing = True
    applied: Counter[str] = Counter()

    async def handle(event: ReceivedEvent) -> None:
        if failing and str(event.envelope.event_id) == ids[1]:
            raise RuntimeError("a bug, fixed later")
        applied[str(event.envelope.event_id)] += 1

    async def given_up() -> bool:
        return bool(await dead_letters(nats_server))

    async with consuming(nats_server, handle, max_deliver=2):
        assert await eventually(given_up)
        [letter] = await dead_letters(nats_server)
        assert letter.event_id == ids[1]
        assert ids[1] not in applied

        failing = False  # the fix is deployed; the operator hands the event back
        code, said, _ = await cli(nats_server, "replay", str(letter.sequence))
        assert code == 0, said
        assert said.strip() == f"dead letter #{letter.sequence}: applied"
        assert applied[ids[1]] == 1
        [replayed] = await dead_letters(nats_server)
        assert replayed.status == "replayed"

    # No consumer running: nothing happens, and the command says why.
    code, _, why = await cli(nats_server, "replay", str(letter.sequence), "--timeout", "3")
    assert code == 1
    assert f"consumer {DURABLE} is not running" in why
