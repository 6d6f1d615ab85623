"""Which asyncio event loop a process runs on: the standard library's, unless
``KETENZICHT_EVENT_LOOP=uvloop`` asks for uvloop (libuv; installed separately, it is not a
requirement).

nats-py and grpc.aio both run on uvloop: nats-py uses only asyncio streams, and grpc.aio's
completion-queue poller thread wakes the loop through ``loop.add_reader`` on a socket, which
uvloop implements. It is not the default because it did not pay here (docs/adr/0025): the
ingest's CPU per command was the same within the noise, a unary command in intake 5% cheaper,
and the bare grpc.aio call a quarter cheaper. The option is kept so that the measurement can
be repeated (`make bench` with the variable set runs every process, the bare server too, on it).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

ENVIRONMENT = "KETENZICHT_EVENT_LOOP"


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop when asked for, or None for the standard one."""
    if os.environ.get(ENVIRONMENT, "asyncio") != "uvloop":
        return None
    import uvloop  # asked for: not installed is an error, not a silent fallback

    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run` on the chosen loop."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)
