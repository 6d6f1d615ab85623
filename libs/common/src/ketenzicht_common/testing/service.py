"""One service as a process with a nats-server of its own, and the checks tests make on it."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from ketenzicht_common.processes import NatsServer, ServiceProcess, free_port
from ketenzicht_common.testing.fixtures import REPO_ROOT
from ketenzicht_common.testing.jetstream import stream_count, stream_messages
from ketenzicht_contracts.envelope import stream_for


class Running:
    """A running service: its gRPC address, what its store holds, what its stream holds."""

    def __init__(self, name: str, nats: NatsServer, service: ServiceProcess, store: Path) -> None:
        self.name, self.nats, self.service, self.store = name, nats, service, store
        self.stream = stream_for(name)

    def stored(self) -> int:
        with sqlite3.connect(self.store) as db:
            return int(db.execute("SELECT COUNT(*) FROM stored_events").fetchone()[0])

    async def published(self) -> int:
        return await stream_count(self.nats, self.stream)


@contextmanager
def running_service(root: Path, name: str, env: dict[str, str] | None = None) -> Iterator[Running]:
    """``name`` as a process with a nats-server of its own under ``root``; ``env`` adds to (or
    overrides) its environment. Its log is ``root / f"{name}.log"``."""
    server = NatsServer(root / "nats").start()
    service = ServiceProcess(
        name,
        {
            "KETENZICHT_GRPC_ADDRESS": f"127.0.0.1:{free_port()}",
            "KETENZICHT_DATA_DIR": str(root / name),
            "KETENZICHT_NATS_URL": server.url,
            "KETENZICHT_NATS_SEED_FILE": str(server.seed(name)),
            "KETENZICHT_IDENTITIES_FILE": str(REPO_ROOT / "deploy/local/identities.toml"),
            **(env or {}),
        },
        cwd=REPO_ROOT,
        log_file=root / f"{name}.log",
    ).start()
    try:
        yield Running(name, server, service, root / name / "events.sqlite")
    finally:
        service.stop()
        server.stop()


async def published_ids(
    running: Running, event_ids: list[str], timeout: float = 5.0
) -> dict[str, Any]:
    """The messages carrying ``event_ids`` (by Nats-Msg-Id), waiting for the relay."""
    deadline = time.monotonic() + timeout
    while True:
        messages = await stream_messages(running.nats, running.stream, timeout=0)
        found = {(m.headers or {}).get("Nats-Msg-Id", ""): m for m in messages}
        if all(i in found for i in event_ids) or time.monotonic() > deadline:
            return {i: found[i] for i in event_ids if i in found}
        await asyncio.sleep(0.05)


def status_reason(status: status_pb2.Status | None) -> str:
    """The reason code a status names (google.rpc.PreconditionFailure), or ""."""
    for detail in status.details if status else []:
        failure = error_details_pb2.PreconditionFailure()
        if detail.Unpack(failure):
            return str(failure.violations[0].type)
    return ""


def reason_of(error: grpc.aio.AioRpcError) -> str:
    """The reason code of a FAILED_PRECONDITION (google.rpc.PreconditionFailure)."""
    return status_reason(rpc_status.from_call(error))  # type: ignore[arg-type]


def field_violations(call: Any) -> set[str]:
    """The fields a refusal's BadRequest detail names (``call``: an error or a finished call)."""
    status = rpc_status.from_call(call)
    fields: set[str] = set()
    for detail in status.details if status else []:
        bad_request = error_details_pb2.BadRequest()
        if detail.Unpack(bad_request):
            fields |= {v.field for v in bad_request.field_violations}
    return fields


async def rpc_error(call: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value
