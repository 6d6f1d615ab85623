"""JetStream streams: their configuration lives here, once, for every producer and consumer;
and reading a stream by sequence, which a reader may do without a consumer of its own."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable

import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig, StreamSource

from ketenzicht_contracts.envelope import stream_for

from .bus_access import (
    ADDRESSEES,
    DEAD_LETTER_STREAM,
    OWN_STREAMS,
    WRITERS,
    api_for,
    dead_letter_subjects,
    jetstream_for,
    trigger_stream_name,
)

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
        # Readers with a browsing feed (the monitor's rebuild, an addressee's audit) read by
        # sequence through the owner's exported DIRECT.GET, in batches.
        allow_direct=True,
    )


def service_stream(service: str, replicas: int = 1) -> StreamConfig:
    return stream_config(stream_for(service), [f"ketenzicht.{service}.>"], replicas)


def trigger_stream(addressee: str, replicas: int = 1) -> StreamConfig:
    """An addressee's feed: sourced from residence's own stream, the triggers sent to it only
    (``ketenzicht.residence.triggers.<addressee>.>``)."""
    config = stream_config(trigger_stream_name(addressee), [], replicas)
    config.subjects = None
    config.sources = [
        StreamSource(
            name=stream_for("residence"),
            filter_subject=f"ketenzicht.residence.triggers.{addressee}.>",
        )
    ]
    return config


def own_streams(service: str, replicas: int = 1) -> list[StreamConfig]:
    """The streams a service makes and alone manages (`bus_access.OWN_STREAMS`), with their
    configuration: its events', and for residence each addressee's feed. Every stream is made
    by its owner's relay, and by nobody else; its dead letters come beside them."""
    configs = [service_stream(service, replicas)] if service in WRITERS else []
    if service == "residence":
        configs += [trigger_stream(addressee, replicas) for addressee in ADDRESSEES]
    assert [c.name for c in configs] == list(OWN_STREAMS.get(service, ()))
    return [*configs, dead_letter_stream(service, replicas)]


DEAD_LETTER_MAX_MESSAGE = 8 * 1024
DEAD_LETTER_MAX_BYTES = 256 * 1024 * 1024

RELAY_SKIPS = "ketenzicht.deadletters.relay"
OUTCOMES = "ketenzicht.deadletters.outcome"


def relay_skip_subject(service: str) -> str:
    """Where a relay records a stored event it skipped because it breaks its contract."""
    return f"{RELAY_SKIPS}.{service}"


def outcome_subject(dead_letter: int) -> str:
    """Where what an operator did with a dead letter (replayed, discarded) is recorded."""
    return f"{OUTCOMES}.{dead_letter}"


def dead_letter_stream(party: str, replicas: int = 1) -> StreamConfig:
    """A party's dead letters, in its own account: JetStream's advisories for events one of
    its consumers gave up on (a handler failed on every one of ``max_deliver`` deliveries, or
    the consumer refused the event: terminated with the reason), imported from the accounts
    the consumers live in, with the records of events its relay skipped and of what was done
    with each dead letter.

    An advisory names the stream, the consumer, the event's stream sequence and (for a refused
    event) the reason, not its content: the event itself stays in its stream (limits
    retention), so an operator reads it there by sequence. Nothing of the event is copied, so
    no personal data lands here.
    """
    config = stream_config(DEAD_LETTER_STREAM, dead_letter_subjects(party), replicas)
    # What lands here comes partly from other accounts (the advisories their owners export):
    # bounded, so that no one fills a party's storage through it. A record is well under 2 KiB.
    config.max_msg_size = DEAD_LETTER_MAX_MESSAGE
    config.max_bytes = DEAD_LETTER_MAX_BYTES
    return config


STREAM_IN_USE = 10058
"""JetStream's error code when a stream of that name already exists (a creation race)."""


async def ensure_stream(js: JetStreamContext, config: StreamConfig) -> None:
    """Create the stream, or bring an existing one to this configuration. Only a stream's
    owner calls this, in its own account (`own_streams`)."""
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


DIRECT_BATCH = 1000

DIRECT_BATCH_BYTES = 4 * 1024 * 1024
"""Where the server ends a batch by its size (it sends the message that reaches this, then
stops). Without it the server's ``max_pending`` applies (64 MiB by default): two batches of
messages as large as a stream allows, one being read and the next asked for, would outgrow
what the server lets pend for one client, and it would cut the connection as a slow consumer.
Batches of the chain's events (about 1 KiB each) stay well under it. (The server's write
deadline still applies: a reader that leaves its socket unread for seconds, holding a batch of
large messages, can still be cut off, and its read then fails.)"""


async def read_stream(
    nc: Client,
    api: str,
    stream: str,
    first: int,
    last: int,
    batch: int = DIRECT_BATCH,
    max_bytes: int = DIRECT_BATCH_BYTES,
) -> AsyncIterator[Msg]:
    """The messages of ``stream`` from sequence ``first`` to ``last``, in order, each with
    its own subject and headers, read in batches through JetStream's direct get (``api`` is
    the JetStream API prefix: ``$JS.API`` in the owner's account, `bus_access.api_prefix` in a
    reader's). No consumer is made: a reader may read this way a stream whose consumers only
    its owner may create.

    Each batch stands for a window of ``batch`` sequences, and the next window is asked for
    before this one's messages are handed on: the server sends it while the reader works on
    these (a rebuild worker checks and stores them without giving its event loop a turn).
    A window with deleted messages in it is answered with messages beyond it, which are
    dropped: the next window's answer has them. An answer that stops short of its window's
    end is asked on from where it stopped: the server ends a batch early once it has sent
    ``max_bytes`` (`DIRECT_BATCH_BYTES`), with the same end-of-batch status as a whole one."""
    subject = f"{api}.DIRECT.GET.{stream}"
    start = first

    def ask(sequence: int, count: int) -> Awaitable[_DirectBatch]:
        return _DirectBatch.ask(nc, subject, sequence, count, max_bytes)

    asked = await ask(start, min(batch, last - start + 1))
    try:
        while start <= last:
            end = min(start + batch - 1, last)
            messages = await asked.answer()
            if not messages:
                return  # nothing at or after ``start``: the stream ends before ``last``
            if end < last:
                asked = await ask(end + 1, min(batch, last - end))
            while messages:
                for message in messages:
                    if message.header_sequence > end:
                        break  # deleted messages in the window: the batch reached beyond it
                    yield message
                reached = messages[-1].header_sequence
                if reached >= end:
                    break
                # Short of the window: cut by the server's byte limit, or the stream ends
                # here (then the rest of the window is not found).
                rest = await ask(reached + 1, end - reached)
                messages = await rest.answer()
            start = end + 1
    finally:
        await asked.close()


class _Stored(Msg):
    """A message as direct get returns it: its stream sequence beside its own headers."""

    header_sequence: int = 0


class _DirectBatch:
    """One batch of a direct get, asked for: the messages the server sends until its
    end-of-batch (or not-found) status. Collected by a callback: awaiting each message of a
    subscription cost twice the time of reading them."""

    def __init__(self) -> None:
        self.received: list[_Stored] = []
        self.done: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.subscription: Subscription | None = None

    @classmethod
    async def ask(
        cls, nc: Client, subject: str, sequence: int, count: int, max_bytes: int
    ) -> _DirectBatch:
        """Ask for ``count`` messages from ``sequence`` on, up to about ``max_bytes``; the
        request is on its way to the server when this returns (flushed), whatever the caller
        does next."""
        asked = cls()

        async def on_message(message: Msg) -> None:
            headers = dict(message.headers or {})
            status = headers.get("Status")
            if status and "Nats-Sequence" not in headers:  # the server's, not a stored header
                if not asked.done.done():
                    asked.done.set_result(status)
                return
            stored = _Stored(
                nc,
                subject=headers.pop("Nats-Subject", ""),
                data=message.data,
                headers={k: v for k, v in headers.items() if k not in _DIRECT_META},
            )
            stored.header_sequence = int(headers.get("Nats-Sequence", "0"))
            asked.received.append(stored)

        inbox = nc.new_inbox()
        asked.subscription = await nc.subscribe(inbox, cb=on_message, pending_msgs_limit=count + 16)
        try:
            await nc.publish(
                subject,
                json.dumps({"seq": sequence, "batch": count, "max_bytes": max_bytes}).encode(),
                reply=inbox,
            )
            await nc.flush(DIRECT_BATCH_TIMEOUT)
        except BaseException:
            await asked.close()  # the connection lives on (a rebuild worker's): no stray inbox
            raise
        return asked

    async def answer(self) -> list[_Stored]:
        try:
            async with asyncio.timeout(DIRECT_BATCH_TIMEOUT):
                status = await self.done
        finally:
            await self.close()
        if status not in ("204", "404"):
            raise nats.js.errors.APIError(code=int(status))
        return self.received

    async def close(self) -> None:
        subscription, self.subscription = self.subscription, None
        if subscription is not None:
            # Gone with its connection: what the reader raises then is what went wrong.
            with contextlib.suppress(
                nats.errors.ConnectionClosedError, nats.errors.ConnectionDrainingError
            ):
                await subscription.unsubscribe()


DIRECT_BATCH_TIMEOUT = 30
"""How long a batch of a direct get may take to arrive."""


_DIRECT_META = frozenset(
    {
        "Nats-Stream",
        "Nats-Sequence",
        "Nats-Time-Stamp",
        "Nats-Subject",
        "Nats-Num-Pending",
        "Nats-Last-Sequence",
    }
)


async def read_whole(nc: Client, me: str, stream: str) -> list[Msg]:
    """Everything ``stream`` holds now, read as ``me`` may (its own, or through a browsing
    feed: an addressee's audit of its triggers, the monitor's rebuild)."""
    info = await jetstream_for(nc, me, stream).stream_info(stream)
    if not info.state.messages:
        return []
    return [
        message
        async for message in read_stream(
            nc, api_for(me, stream), stream, info.state.first_seq, info.state.last_seq
        )
    ]
