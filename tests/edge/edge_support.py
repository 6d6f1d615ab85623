"""The four writing services as their callers meet them, spoken to in raw bytes.

Calls go through a plain grpc channel with no serializers, so a test can send any body or
frame, including ones no generated stub would produce, and read the status the server gives.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.message_factory import GetMessageClass

from ketenzicht.intake.v1 import intake_pb2
from ketenzicht.investigation.v1 import investigation_pb2
from ketenzicht.prosecution.v1 import prosecution_pb2
from ketenzicht.residence.v1 import residence_pb2
from ketenzicht_common.testing import TOKENS
from ketenzicht_common.testing.service import Running, field_violations, running_service

DESCRIPTORS: dict[str, Any] = {
    "intake": intake_pb2.DESCRIPTOR.services_by_name["IntakeService"],
    "investigation": investigation_pb2.DESCRIPTOR.services_by_name["InvestigationService"],
    "prosecution": prosecution_pb2.DESCRIPTOR.services_by_name["ProsecutionService"],
    "residence": residence_pb2.DESCRIPTOR.services_by_name["ResidenceService"],
}
ROLES = {"intake": "POLICE", "investigation": "KMAR", "prosecution": "OM", "residence": "IND"}

RESIDENCE_QUIET = {
    # Residence settles a victim's triggers a while after a decision, and checks deadlines on
    # a timer: both would store events at moments of their own. Pushed beyond the test, so
    # that what a store holds changes only with the calls the test makes.
    "KETENZICHT_RESIDENCE_SETTLE_GRACE_SECONDS": "3600",
    "KETENZICHT_RESIDENCE_DEADLINE_TICK_SECONDS": "3600",
}


@contextmanager
def writing_services(root: Path) -> Iterator[dict[str, Running]]:
    """intake, investigation, prosecution and residence, each with a nats-server of its own
    (so residence consumes nothing the others publish)."""
    with ExitStack() as stack:
        yield {
            name: stack.enter_context(
                running_service(root / name, name, RESIDENCE_QUIET if name == "residence" else None)
            )
            for name in DESCRIPTORS
        }


def credentials(role: str | None) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {TOKENS[role]}")] if role else []


@dataclass(frozen=True)
class Answer:
    code: grpc.StatusCode
    details: str
    responses: list[bytes]
    trailing: Any = None

    def violations(self) -> set[str]:
        """The fields a BadRequest detail names."""
        return field_violations(self.trailing) if self.trailing is not None else set()


def method_path(service: str, method: str) -> str:
    return f"/{DESCRIPTORS[service].full_name}/{method}"


def message_class(service: str, method: str, *, output: bool = False) -> Any:
    found = DESCRIPTORS[service].methods_by_name[method]
    return GetMessageClass(found.output_type if output else found.input_type)


def not_utf8(request_type: Any) -> bytes:
    """A body whose first string field holds bytes that are not UTF-8 (proto3 forbids that)."""
    field = next(f for f in request_type.DESCRIPTOR.fields if f.type == f.TYPE_STRING)
    return bytes([field.number << 3 | 2, 3]) + b"\xff\xfe\xfd"


async def unary(
    channel: grpc.aio.Channel,
    service: str,
    method: str,
    body: bytes,
    metadata: list[tuple[str, str]],
    timeout: float = 10.0,
) -> Answer:
    call = channel.unary_unary(method_path(service, method))  # no serializers: bytes in, out
    try:
        response = await call(body, metadata=metadata, timeout=timeout)
    except grpc.aio.AioRpcError as error:
        return Answer(error.code(), error.details() or "", [], error)
    return Answer(grpc.StatusCode.OK, "", [response])


async def stream(
    address: str,
    service: str,
    frames: list[bytes],
    metadata: list[tuple[str, str]],
    timeout: float = 10.0,
) -> Answer:
    """A bulk ``Submit`` of ``frames``, on grpcio's synchronous client in a worker thread.

    Not the asyncio client: when a server ends a stream while the client is still writing,
    that client reports INTERNAL ("Internal error from Core") instead of the server's status
    (grpc/grpc#36066, open), and these tests are about the server's status.
    """

    def call() -> Answer:
        with grpc.insecure_channel(address) as channel:
            submit = channel.stream_stream(method_path(service, "Submit"))
            responses: list[bytes] = []
            try:
                for response in submit(iter(frames), metadata=metadata, timeout=timeout):
                    responses.append(response)
            except grpc.RpcError as error:
                return Answer(error.code(), error.details() or "", responses, error)
            return Answer(grpc.StatusCode.OK, "", responses)

    return await asyncio.to_thread(call)


def stored_states(running: Running) -> list[dict[str, Any]]:
    """Every event in the service's store, as the JSON it is stored as."""
    with sqlite3.connect(running.store) as db:
        return [json.loads(state) for (state,) in db.execute("SELECT state FROM stored_events")]


def stored_text(running: Running) -> str:
    with sqlite3.connect(running.store) as db:
        return "\n".join(
            bytes(state).decode("utf-8", "replace")
            for (state,) in db.execute("SELECT state FROM stored_events")
        )


def tracebacks(running: Running) -> int:
    log = running.service.log_file
    return log.read_text(errors="replace").count("Traceback") if log and log.exists() else 0
