"""The dead letters: events a consumer gave up on, or a relay skipped, for an operator to handle.

    python -m ketenzicht_common.dead_letters [--identity SERVICE] [list [--open]]
    python -m ketenzicht_common.dead_letters --identity SERVICE inspect SEQ
    python -m ketenzicht_common.dead_letters --identity SERVICE replay SEQ
    python -m ketenzicht_common.dead_letters --identity SERVICE discard SEQ --reason CODE [--erase]
    python -m ketenzicht_common.dead_letters --identity OWNER erase STREAM STREAM_SEQ

Each service keeps its own dead letters, in its own account on the bus (`bus_access`): those
of its consumers (residence's, the monitor's) and its relay's. The command runs as that
service's identity (``--identity``; its nkey seed from ``--seed-file``, by default the local
profile's). ``SEQ`` is the dead letter's own number: its sequence in that service's
``KETENZICHT_DEAD_LETTERS``, the first column of the list.

**What is kept.** JetStream publishes an advisory when a durable consumer reaches its
``max_deliver`` for an event, or terminates one (a consumer refuses an event that breaks its
contract, with the reason); ``streams.dead_letter_stream`` keeps those advisories. Each names
the stream, the consumer and the event's stream sequence; the event itself stays in its stream.
A relay that skips a stored event it cannot publish records that there too (``consumer`` is
then ``relay``; the event never reached the bus). What an operator does with a dead letter is
recorded in the same stream, so the list shows each letter's state.

**Nothing of the content is shown.** Type and id appear only when they are what the contracts
say they are (a known event type, a UUID); `inspect` adds, of the body, only the values of the
contract's pseudonym fields that validate as pseudonyms. A dead letter is often exactly the
message that carries free text about a person: its body, its unknown fields, its envelope's
attributes (in the body, or the headers of a version-1 message) are never printed.

**Replay** asks the running consumer to apply the event again: a core NATS request on
``ketenzicht.replay.<consumer>`` names the stream sequence; the consumer reads that very message
from its stream, checks it as any delivery, hands it to its handler (handlers are idempotent)
and answers with the outcome, which is recorded here. A consumer that is not running answers
nothing, and the command says so. Why not republish a copy or apply it from here:
docs/adr/0010.

**Discard** records that the letter is handled without applying it, with a reason code from a fixed
list (never free text). ``--erase`` also deletes the event from its stream (the server overwrites
it; only the stream's owner may, with ``erase``): for a forged message or one carrying personal
data, which must not stay on the bus. An erased event is gone for every consumer, including a
rebuild, so never erase a genuine event.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any
from uuid import UUID

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.js import JetStreamContext

from ketenzicht_common.bus_access import (
    DEAD_LETTER_STREAM,
    OWN_STREAMS,
    SERVICES,
    jetstream_for,
    owner_of,
    seed_file,
)
from ketenzicht_common.consumer import replay_subject
from ketenzicht_common.contract import claims_of, pseudonyms_in
from ketenzicht_common.streams import OUTCOMES, RELAY_SKIPS, outcome_subject
from ketenzicht_contracts.envelope import TYPE_PREFIX
from ketenzicht_contracts.events import EventPayload, payload_model

_ADVISORIES = {
    "io.nats.jetstream.advisory.v1.max_deliver": "failed on every delivery",
    "io.nats.jetstream.advisory.v1.terminated": "terminated",
}
RELAY = "relay"
"""The consumer named by a relay's record: the event was stored, never published."""


class DiscardReason(StrEnum):
    """Why a dead letter was discarded: a code, so that no free text is recorded."""

    FORGED = "FORGED"
    """Not published by a ketenzicht service."""
    PERSONAL_DATA = "PERSONAL_DATA"
    """It carries what must not be on the bus; usually with ``--erase``."""
    DUPLICATE = "DUPLICATE"
    """Its fact reached the consumer otherwise."""
    SUPERSEDED = "SUPERSEDED"
    """A later event states the fact correctly."""
    OBSOLETE = "OBSOLETE"
    """A contract version or a consumer that no longer exists."""
    TEST_DATA = "TEST_DATA"


@dataclass(frozen=True)
class DeadLetter:
    sequence: int
    """Its own sequence in the dead-letter stream: how the commands name it."""
    stream: str
    consumer: str
    stream_sequence: int
    """The event's sequence in its stream (0: never published, a relay's record)."""
    deliveries: int
    reason: str
    event_type: str
    """``<service>.<EventType>`` when the contracts know the type, else empty."""
    event_id: str
    """The event id when it is one (a UUID), else empty."""
    status: str = "open"
    """``open``, or what was last done with it: ``replayed``, ``replay refused: …``,
    ``discarded CODE``."""
    position: int = 0
    """For a relay's record: the event's position in the service's store."""
    aggregate_id: str = ""
    malformed: bool = False
    """Not what JetStream says on its subject (see `_advisory_fields`): only discarded."""

    @property
    def replayable(self) -> bool:
        return self.consumer != RELAY and self.stream_sequence > 0 and not self.malformed


def _printable(text: str, limit: int = 300) -> str:
    # Our own reasons hold no content; still, what an advisory says is printed defensively.
    return "".join(c if c.isprintable() else "?" for c in text)[:limit]


def _event_type(ce_type: str, version: str) -> str:
    """The type a message claims, if the contracts know it; never the claim itself."""
    service, _, event_type = ce_type.removeprefix(TYPE_PREFIX).partition(".")
    try:
        payload_model(service, event_type, int(version))
    except (KeyError, ValueError):
        return ""
    return f"{service}.{event_type}" if ce_type.startswith(TYPE_PREFIX) else ""


def _uuid(value: Any) -> str:
    try:
        return str(UUID(str(value)))
    except ValueError:
        return ""


def _status(outcome: dict[str, Any]) -> str:
    if outcome.get("action") == "discard":
        return f"discarded {outcome.get('reason', '')}" + (
            ", erased from its stream" if outcome.get("erased") else ""
        )
    if outcome.get("outcome") == "applied":
        return "replayed"
    return _printable(f"replay {outcome.get('outcome', '')}: {outcome.get('reason', '')}")


async def read(nc: Client, me: str) -> list[DeadLetter]:
    """Every dead letter ``me`` keeps (in its own account), oldest first, with its state (an
    empty list when there is no such stream)."""
    js = nc.jetstream()
    try:
        info = await js.stream_info(DEAD_LETTER_STREAM)
    except nats.js.errors.NotFoundError:
        return []
    letters: list[DeadLetter] = []
    outcomes: dict[int, dict[str, Any]] = {}
    if not info.state.messages:
        return letters
    for sequence in range(info.state.first_seq, info.state.last_seq + 1):
        try:
            message = await js.get_msg(DEAD_LETTER_STREAM, sequence)
        except nats.js.errors.NotFoundError:
            continue
        try:
            record = json.loads(message.data or b"")
        except ValueError:
            continue
        subject = message.subject or ""
        if subject.startswith(f"{OUTCOMES}."):
            with contextlib.suppress(ValueError):
                outcomes[int(subject.rsplit(".", 1)[1])] = record
        elif subject.startswith(f"{RELAY_SKIPS}."):
            letters.append(_relay_letter(sequence, record))
        elif subject.startswith("$JS.EVENT.ADVISORY."):
            letters.append(await _advisory_letter(nc, me, sequence, subject, record))
    return [
        replace(letter, status=_status(outcomes[letter.sequence]))
        if letter.sequence in outcomes
        else letter
        for letter in letters
    ]


def _relay_letter(sequence: int, record: dict[str, Any]) -> DeadLetter:
    service, event_type = str(record.get("service", "")), str(record.get("event_type", ""))
    known = _event_type(f"{TYPE_PREFIX}{service}.{event_type}", str(record.get("version", 1)))
    return DeadLetter(
        sequence=sequence,
        stream=_printable(str(record.get("stream", "")), 64),
        consumer=RELAY,
        stream_sequence=0,
        deliveries=0,
        reason=_printable(f"skipped by the relay: {record.get('reason', '')}"),
        event_type=known,
        event_id=_uuid(record.get("event_id")),
        position=int(record.get("position", 0) or 0),
        aggregate_id=_uuid(record.get("aggregate_id")),
    )


_KIND_OF_SUBJECT = {
    "MAX_DELIVERIES": "io.nats.jetstream.advisory.v1.max_deliver",
    "MSG_TERMINATED": "io.nats.jetstream.advisory.v1.terminated",
}


def _advisory_fields(subject: str, advisory: dict[str, Any]) -> tuple[str, str, int, int] | None:
    """(stream, consumer, stream sequence, deliveries) of an advisory that says what its subject
    says, or None. The stream's owner publishes on these subjects too (they are its own), so
    a record that names another stream, another consumer or another kind than the subject it
    came on is no JetStream advisory: it is shown as malformed, and never replayed or erased."""
    parts = subject.split(".")
    if len(parts) != 7 or _KIND_OF_SUBJECT.get(parts[4]) != advisory.get("type"):
        return None
    stream, consumer = advisory.get("stream"), advisory.get("consumer")
    sequence, deliveries = advisory.get("stream_seq"), advisory.get("deliveries", 0)
    if (stream, consumer) != (parts[5], parts[6]):
        return None
    if not isinstance(sequence, int) or sequence < 1 or not isinstance(deliveries, int):
        return None
    return parts[5], parts[6], sequence, deliveries


async def _advisory_letter(
    nc: Client, me: str, sequence: int, subject: str, advisory: dict[str, Any]
) -> DeadLetter:
    fields = _advisory_fields(subject, advisory)
    if fields is None:
        return DeadLetter(
            sequence=sequence,
            stream=_printable(subject.split(".")[-2], 64),
            consumer=_printable(subject.split(".")[-1], 64),
            stream_sequence=0,
            deliveries=0,
            reason="malformed: not what a JetStream advisory on its subject says",
            event_type="",
            event_id="",
            malformed=True,
        )
    stream, consumer, stream_sequence, deliveries = fields
    claimed_type = claimed_version = claimed_id = ""
    with contextlib.suppress(nats.js.errors.NotFoundError, LookupError):  # aged out since
        js = jetstream_for(nc, me, stream)
        stored = await js.get_msg(stream, stream_sequence)
        claimed_type, claimed_version, claimed_id, _ = claims_of(stored.headers, stored.data or b"")
    kind = _ADVISORIES.get(str(advisory.get("type", "")), "")
    why = str(advisory.get("reason") or "")
    return DeadLetter(
        sequence=sequence,
        stream=stream,
        consumer=consumer,
        stream_sequence=stream_sequence,
        deliveries=deliveries,
        reason=_printable(
            f"{kind}: {why}"
            if why
            else ("terminated: breaks its contract" if kind == "terminated" else kind)
        ),
        event_type=_event_type(claimed_type, claimed_version),
        event_id=_uuid(claimed_id),
    )


async def letter(nc: Client, me: str, sequence: int) -> DeadLetter:
    """One dead letter by its number, or LookupError."""
    for found in await read(nc, me):
        if found.sequence == sequence:
            return found
    raise LookupError(f"no dead letter #{sequence}")


async def inspect(nc: Client, me: str, sequence: int) -> tuple[DeadLetter, dict[str, list[str]]]:
    """The letter, and the ids of its event's body that validate as pseudonyms (nothing else
    of the body)."""
    found = await letter(nc, me, sequence)
    if not found.replayable:
        return found, {}
    try:
        js = jetstream_for(nc, me, found.stream)
        message = await js.get_msg(found.stream, found.stream_sequence)
    except nats.js.errors.NotFoundError:
        return found, {}
    _, version, _, data = claims_of(message.headers, message.data or b"")
    model: type[EventPayload] | None = None
    if found.event_type:
        service, _, event_type = found.event_type.partition(".")
        with contextlib.suppress(KeyError, ValueError):
            model = payload_model(service, event_type, int(version or "1"))
    return found, pseudonyms_in(model, data)


async def _record(js: JetStreamContext, sequence: int, outcome: dict[str, Any]) -> None:
    await js.publish(
        outcome_subject(sequence),
        json.dumps(outcome | {"at": datetime.now(UTC).isoformat()}).encode(),
    )


async def replay(nc: Client, me: str, sequence: int, timeout: float = 30.0) -> dict[str, Any]:
    """Ask the letter's consumer to apply its event again; the outcome, recorded."""
    js = nc.jetstream()
    found = await letter(nc, me, sequence)
    if not found.replayable:
        raise ValueError(
            f"dead letter #{sequence} was never published (a relay skipped it: "
            "it breaks its contract): nothing to replay; discard it"
        )
    try:
        answer = await nc.request(
            replay_subject(found.consumer),
            json.dumps({"sequence": found.stream_sequence}).encode(),
            timeout=timeout,
        )
    except nats.errors.NoRespondersError:
        raise RuntimeError(
            f"consumer {found.consumer} is not running (nobody answers on "
            f"{replay_subject(found.consumer)}): nothing was replayed"
        ) from None
    except nats.errors.TimeoutError:
        raise RuntimeError(
            f"consumer {found.consumer} did not answer within {timeout:.0f} s; "
            "it may still apply the event"
        ) from None
    outcome = json.loads(answer.data)
    outcome = {
        "action": "replay",
        "outcome": str(outcome.get("outcome", "")),
        "reason": _printable(str(outcome.get("reason", ""))),
    }
    await _record(js, sequence, outcome)
    return outcome


async def discard(
    nc: Client, me: str, sequence: int, reason: DiscardReason, erase: bool = False
) -> DeadLetter:
    """Record the letter as handled without applying it; with ``erase``, also delete its
    event from its stream, which only the stream's owner may: a letter of another's stream
    is refused with the command its owner runs (`erase_event`)."""
    found = await letter(nc, me, sequence)
    erased = False
    if erase and found.replayable:
        if found.stream not in OWN_STREAMS.get(me, ()):
            owner = owner_of(found.stream)
            raise ValueError(
                f"{found.stream} is {owner}'s stream: only {owner} may erase from it "
                f"(dead_letters --identity {owner} erase {found.stream} "
                f"{found.stream_sequence}); nothing was changed"
            )
        erased = await erase_event(nc, found.stream, found.stream_sequence)
    await _record(
        nc.jetstream(), sequence, {"action": "discard", "reason": reason.value, "erased": erased}
    )
    return found


async def erase_event(nc: Client, stream: str, stream_sequence: int) -> bool:
    """Delete one event from a stream of one's own (the server overwrites it)."""
    with contextlib.suppress(nats.js.errors.NotFoundError):
        return bool(await nc.jetstream().delete_msg(stream, stream_sequence))
    return False


def _line(found: DeadLetter) -> str:
    where = (
        f"{found.stream} #{found.stream_sequence}"
        if found.stream_sequence
        else f"{found.stream} (never published; store position {found.position})"
    )
    how = (
        RELAY
        if found.consumer == RELAY
        else f"consumer {found.consumer}, {found.deliveries} deliveries"
    )
    return (
        f"#{found.sequence}  {where}  {found.event_type or '?'} {found.event_id or '?'}  "
        f"{how}: {found.reason}  [{found.status}]"
    )


async def _main(args: argparse.Namespace) -> int:
    seed = args.seed_file or seed_file(Path("var/credentials/nats"), args.identity)
    nc = await nats.connect(args.nats, nkeys_seed=str(seed))
    me = args.identity
    try:
        command = args.command or "list"
        if command == "list":
            only_open = getattr(args, "open", False)  # also without the subcommand
            letters = [f for f in await read(nc, me) if not only_open or f.status == "open"]
            for found in letters:
                print(_line(found))
            print(f"{len(letters)} dead letter(s)")
        elif command == "inspect":
            found, ids = await inspect(nc, me, args.seq)
            print(f"dead letter #{found.sequence}")
            for name, value in [
                ("stream", found.stream),
                ("sequence", found.stream_sequence or "never published"),
                ("position", found.position or ""),
                ("event type", found.event_type or "?"),
                ("event id", found.event_id or "?"),
                ("aggregate", found.aggregate_id),
                ("consumer", found.consumer),
                ("deliveries", found.deliveries),
                ("reason", found.reason),
                ("state", found.status),
            ]:
                if value != "":
                    print(f"  {name:<11} {value}")
            for name, values in ids.items():
                print(f"  {name:<11} {', '.join(values)}")
        elif command == "replay":
            outcome = await replay(nc, me, args.seq, args.timeout)
            print(
                f"dead letter #{args.seq}: {outcome['outcome']}"
                + (f" ({outcome['reason']})" if outcome["reason"] else "")
            )
            return 0 if outcome["outcome"] == "applied" else 1
        elif command == "erase":
            if args.stream not in OWN_STREAMS.get(me, ()):
                raise ValueError(f"{args.stream} is not {me}'s stream: nothing was changed")
            erased = await erase_event(nc, args.stream, args.stream_sequence)
            print(
                f"{args.stream} #{args.stream_sequence}: "
                + ("erased" if erased else "not in the stream")
            )
        else:
            found = await discard(nc, me, args.seq, DiscardReason(args.reason), args.erase)
            print(
                f"dead letter #{found.sequence} discarded: {args.reason}"
                + (", its event erased from its stream" if args.erase else "")
            )
    except (LookupError, ValueError, RuntimeError) as error:
        print(error, file=sys.stderr)
        return 1
    finally:
        await nc.close()
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m ketenzicht_common.dead_letters",
        description="List, inspect, replay or discard the events consumers gave up on.",
    )
    parser.add_argument(
        "--nats", default=os.environ.get("KETENZICHT_NATS_URL", "nats://127.0.0.1:4222")
    )
    parser.add_argument(
        "--identity",
        choices=SERVICES,
        default="residence",
        help="whose dead letters (each service keeps its own), as that "
        "service's identity on the bus",
    )
    parser.add_argument(
        "--seed-file",
        type=Path,
        default=os.environ.get("KETENZICHT_NATS_SEED_FILE") or None,
        help="the identity's nkey seed (default: the local profile's, "
        "var/credentials/nats/<identity>.nk)",
    )
    commands = parser.add_subparsers(dest="command")
    listing = commands.add_parser("list", help="every dead letter and its state (the default)")
    listing.add_argument("--open", action="store_true", help="only those not handled yet")
    inspecting = commands.add_parser("inspect", help="one dead letter: type, ids, reason")
    inspecting.add_argument("seq", type=int)
    replaying = commands.add_parser("replay", help="hand its event to its consumer again")
    replaying.add_argument("seq", type=int)
    replaying.add_argument("--timeout", type=float, default=30.0)
    discarding = commands.add_parser("discard", help="handled without applying it")
    discarding.add_argument("seq", type=int)
    discarding.add_argument("--reason", required=True, choices=[r.value for r in DiscardReason])
    discarding.add_argument(
        "--erase",
        action="store_true",
        help="also delete its event from its stream (forged or personal "
        "data only: an erased event is gone for every consumer); "
        "only the stream's owner may",
    )
    erasing = commands.add_parser("erase", help="as a stream's owner: delete one event of it")
    erasing.add_argument("stream")
    erasing.add_argument("stream_sequence", type=int)
    sys.exit(asyncio.run(_main(parser.parse_args(argv))))


if __name__ == "__main__":
    main()
