"""The dead letters: events a consumer gave up on, for an operator to look into.

JetStream publishes an advisory when a durable consumer reaches its ``max_deliver`` for an
event, or terminates one; ``streams.dead_letter_stream`` keeps those advisories. Each names the
stream, the consumer and the event's stream sequence; the event itself stays in its stream, so
`read` looks up its type and id there (headers only: the body is not needed to find it, and may
hold pseudonymous ids that do not belong in an operator's terminal).

    python -m ketenzicht_common.dead_letters [--nats nats://127.0.0.1:4222]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
from dataclasses import dataclass

import nats
import nats.js.errors
from nats.js import JetStreamContext

from ketenzicht_common.streams import DEAD_LETTER_STREAM

_REASONS = {
    "io.nats.jetstream.advisory.v1.max_deliver": "failed on every delivery",
    "io.nats.jetstream.advisory.v1.terminated": "terminated: breaks its contract",
}


@dataclass(frozen=True)
class DeadLetter:
    stream: str
    consumer: str
    stream_sequence: int
    deliveries: int
    reason: str
    event_type: str
    """``ce-type`` of the event, or empty when it is no longer in its stream or has none."""
    event_id: str


async def read(js: JetStreamContext) -> list[DeadLetter]:
    """Every dead letter kept, oldest first (an empty list when there is no such stream)."""
    try:
        info = await js.stream_info(DEAD_LETTER_STREAM)
    except nats.js.errors.NotFoundError:
        return []
    letters: list[DeadLetter] = []
    if not info.state.messages:
        return letters
    for sequence in range(info.state.first_seq, info.state.last_seq + 1):
        try:
            advisory = json.loads((await js.get_msg(DEAD_LETTER_STREAM, sequence)).data or b"")
        except nats.js.errors.NotFoundError:
            continue
        stream, stream_sequence = advisory["stream"], int(advisory["stream_seq"])
        headers: dict[str, str] = {}
        with contextlib.suppress(nats.js.errors.NotFoundError):  # aged out of its stream since
            headers = (await js.get_msg(stream, stream_sequence)).headers or {}
        letters.append(DeadLetter(
            stream=stream, consumer=advisory["consumer"], stream_sequence=stream_sequence,
            deliveries=int(advisory.get("deliveries", 0)),
            reason=_REASONS.get(advisory.get("type", ""), advisory.get("type", "")),
            event_type=headers.get("ce-type", ""), event_id=headers.get("ce-id", "")))
    return letters


async def _print(url: str) -> None:
    nc = await nats.connect(url)
    try:
        letters = await read(nc.jetstream())
    finally:
        await nc.close()
    for letter in letters:
        print(f"{letter.stream} #{letter.stream_sequence}  {letter.event_type or '?'} "
              f"{letter.event_id or '?'}  consumer {letter.consumer}, {letter.deliveries} "
              f"deliveries: {letter.reason}")
    print(f"{len(letters)} dead letter(s)")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m ketenzicht_common.dead_letters",
                                     description="List the events consumers gave up on.")
    parser.add_argument("--nats", default=os.environ.get("KETENZICHT_NATS_URL",
                                                         "nats://127.0.0.1:4222"))
    asyncio.run(_print(parser.parse_args().nats))


if __name__ == "__main__":
    main()
