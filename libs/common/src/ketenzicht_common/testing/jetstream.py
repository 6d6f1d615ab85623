"""Reading JetStream in tests, the way an outside consumer would."""

from __future__ import annotations

import asyncio
import time

import nats
import nats.js.errors
from nats.aio.msg import Msg


async def stream_messages(url: str, stream: str, *, at_least: int = 0,
                          timeout: float = 10.0) -> list[Msg]:
    """Every message in ``stream``, waiting until there are at least ``at_least``."""
    nc = await nats.connect(url)
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


async def stream_count(url: str, stream: str) -> int:
    nc = await nats.connect(url)
    try:
        try:
            return int((await nc.jetstream().stream_info(stream)).state.messages)
        except nats.js.errors.NotFoundError:
            return 0
    finally:
        await nc.close()
