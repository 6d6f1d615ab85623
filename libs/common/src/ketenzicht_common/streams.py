"""JetStream streams: their configuration lives here, once, for every producer and consumer."""

from __future__ import annotations

import nats.js.errors
from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig

from ketenzicht_contracts.envelope import stream_for

DUPLICATE_WINDOW_SECONDS = 120.0
"""How long JetStream remembers a ``Nats-Msg-Id`` (NATS's default). A relay resumes after the
last event of its own the stream holds, so it only re-publishes an event whose acknowledgement it
did not get, seconds later; consumers drop anything older by event id themselves. nats-server keeps
every id of the window in memory: an hour's window held the id of every event of the 1M-event
scale run (about 350 MiB), two minutes hold at most two minutes of a bulk load."""


def stream_config(name: str, subjects: list[str], replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=name,
        subjects=subjects,
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        num_replicas=replicas,
    )


def service_stream(service: str, replicas: int = 1) -> StreamConfig:
    return stream_config(stream_for(service), [f"ketenzicht.{service}.>"], replicas)


DEAD_LETTER_STREAM = "KETENZICHT_DEAD_LETTERS"
DEAD_LETTER_SUBJECTS = [
    # A handler failed on every delivery (consumer.subscribe's max_deliver): the server gave up.
    "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.>",
    # A consumer refused a message (it breaks its contract): terminated with the reason.
    "$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.>",
    # Ketenzicht's own records: a stored event a relay skipped, and what an operator did with
    # a dead letter (dead_letters.py).
    "ketenzicht.deadletters.>",
]


RELAY_SKIPS = "ketenzicht.deadletters.relay"
OUTCOMES = "ketenzicht.deadletters.outcome"


def relay_skip_subject(service: str) -> str:
    """Where a relay records a stored event it skipped because it breaks its contract."""
    return f"{RELAY_SKIPS}.{service}"


def outcome_subject(dead_letter: int) -> str:
    """Where what an operator did with a dead letter (replayed, discarded) is recorded."""
    return f"{OUTCOMES}.{dead_letter}"


def dead_letter_stream(replicas: int = 1) -> StreamConfig:
    """The dead letters: JetStream's own advisories for events a consumer gave up on, kept,
    with the records of events a relay skipped and of what was done with each dead letter.

    An advisory names the stream, the consumer, the event's stream sequence and (for a refused
    event) the reason, not its content: the event itself stays in its stream (limits
    retention), so an operator reads it there by sequence. Nothing of the event is copied, so
    no personal data lands here.
    """
    return stream_config(DEAD_LETTER_STREAM, DEAD_LETTER_SUBJECTS, replicas)


STREAM_IN_USE = 10058
"""JetStream's error code when a stream of that name already exists (a creation race)."""


async def ensure_stream(js: JetStreamContext, config: StreamConfig) -> None:
    """Create the stream, or bring an existing one to this configuration."""
    assert config.name is not None
    try:
        await js.stream_info(config.name)
    except nats.js.errors.NotFoundError:
        try:
            await js.add_stream(config)
            return
        except nats.js.errors.BadRequestError as error:
            if error.err_code != STREAM_IN_USE:
                raise
            # Another process created it in the meantime: bring it to this configuration.
    await js.update_stream(config)
