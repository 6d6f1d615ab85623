"""Streaming ingest: many commands on one gRPC stream, each handled as its unary RPC would be.

A police or OM system that sends its backlog should not pay one round trip per command. The
stream keeps a window of commands in flight, so that the command bus stores them together
(group commit), and answers each command with its own result — an acknowledgement after it is
stored, or the refusal with the same status a unary call would get.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from google.rpc import status_pb2

from .errors import PermissionDenied, Unauthenticated
from .grpc_server import Caller, status_for

Dispatch = Callable[[Any, Caller], Awaitable[Any]]
"""Handles one request from the stream and returns its result message."""

ResultFactory = Callable[[int, Any | None, status_pb2.Status | None], Any]
"""Builds the stream's result message from (sequence, unary response, refusal)."""


async def ingest(
    requests: AsyncIterator[Any],
    caller: Caller,
    dispatch: Dispatch,
    result: ResultFactory,
    *,
    window: int = 512,
) -> AsyncIterator[Any]:
    done: asyncio.Queue[Any] = asyncio.Queue()
    slots = asyncio.Semaphore(window)
    in_flight = 0
    reading_finished = False

    async def handle(sequence: int, request: Any) -> None:
        try:
            response = await dispatch(request, caller)
        except (Unauthenticated, PermissionDenied) as refused:
            await done.put(result(sequence, None, status_for(refused)))
        except Exception as refused:
            await done.put(result(sequence, None, status_for(refused)))
        else:
            await done.put(result(sequence, response, None))
        finally:
            slots.release()

    async def read() -> None:
        nonlocal in_flight, reading_finished
        sequence = 0
        tasks = set()
        async for request in requests:
            await slots.acquire()
            in_flight += 1
            task = asyncio.create_task(handle(sequence, request))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            sequence += 1
        reading_finished = True
        await done.put(None)  # wakes the writer so it can notice the end

    reader = asyncio.create_task(read())
    try:
        answered = 0
        while True:
            item = await done.get()
            if item is None:
                if reading_finished and answered == in_flight:
                    break
                continue
            answered += 1
            yield item
            if reading_finished and answered == in_flight:
                break
        await reader
    finally:
        reader.cancel()
