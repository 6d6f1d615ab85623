"""Streaming ingest: many commands on one gRPC stream, each handled as its unary RPC would be.

A police or OM system that sends its backlog should not pay one round trip per command. The
stream keeps a window of commands in flight, so that the command bus stores them together
(group commit), and answers each command with its own result — an acknowledgement after it is
stored, or the refusal with the same status a unary call would get.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from google.rpc import status_pb2

from .errors import CommandRejected, InvalidCommand, PermissionDenied, Unauthenticated
from .grpc_server import Caller, status_for

log = logging.getLogger(__name__)

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
        except (CommandRejected, Unauthenticated, PermissionDenied) as refused:
            await done.put(result(sequence, None, status_for(refused)))
        except Exception as failed:  # each command gets its own answer, and the log says why
            log.exception("bulk command %d failed", sequence)
            await done.put(result(sequence, None, status_for(failed)))
        else:
            await done.put(result(sequence, response, None))
        finally:
            slots.release()

    async def read() -> None:
        nonlocal in_flight, reading_finished
        sequence = 0
        tasks = set()
        try:
            async for request in requests:
                await slots.acquire()
                in_flight += 1
                task = asyncio.create_task(handle(sequence, request))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                sequence += 1
        finally:
            # Also when reading fails (a frame that is not a command message): the writer must
            # learn that no more commands come, or the stream would hang until the deadline.
            reading_finished = True
            done.put_nowait(None)

    reader = asyncio.create_task(read())
    try:
        answered = 0
        while not (reading_finished and answered == in_flight):
            item = await done.get()
            if item is not None:
                answered += 1
                yield item
        # Every command read so far is answered; a failure to read the next one (an
        # undecodable frame) now ends the stream with its own status.
        await reader
    finally:
        reader.cancel()


def _rpc_name(field_name: str) -> str:
    return "".join(part.capitalize() for part in field_name.split("_"))


def bulk_submit(
    servicer: object, requests: AsyncIterator[Any], caller: Caller, result_type: Any
) -> AsyncIterator[Any]:
    """A service's bulk ``Submit``: each command of the stream goes to the servicer's unary
    method of the same name (the oneof field ``file_report`` to ``FileReport``), and each
    result carries the unary response in the result's ``outcome`` field of that type, or the
    refusal in ``error``."""
    outcome = result_type.DESCRIPTOR.oneofs_by_name["outcome"]
    field_for_type = {f.message_type.full_name: f.name for f in outcome.fields if f.name != "error"}

    async def dispatch(command: Any, caller: Caller) -> Any:
        kind = command.WhichOneof("command")
        if kind is None:
            raise InvalidCommand.of("command", "no command in this message")
        method: Callable[[Any, Caller], Awaitable[Any]] = getattr(servicer, _rpc_name(kind))
        return await method(getattr(command, kind), caller)

    def result(sequence: int, response: Any, error: Any) -> Any:
        if error is not None:
            return result_type(sequence=sequence, error=error)
        return result_type(
            sequence=sequence, **{field_for_type[response.DESCRIPTOR.full_name]: response}
        )

    return ingest(requests, caller, dispatch, result)
