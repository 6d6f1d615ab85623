"""The residence service in the test's own process, on a real nats-server and a test clock."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from ketenzicht_common.clock import FixedClock
from ketenzicht_common.processes import NatsServer, free_port
from ketenzicht_common.service import serve
from ketenzicht_common.settings import ServiceSettings
from ketenzicht_common.testing.fixtures import REPO_ROOT
from residence.bootstrap import build, create_application


@contextlib.asynccontextmanager
async def residence_running(
    bus: NatsServer, data_dir: Path, clock: FixedClock
) -> AsyncIterator[str]:
    """Residence in this process, with its own identity on the bus; yields its gRPC
    address."""
    address = f"127.0.0.1:{free_port()}"
    settings = ServiceSettings(
        grpc_address=address,
        nats_url=bus.url,
        nats_seed_file=bus.seed("residence"),
        data_dir=data_dir,
        identities_file=REPO_ROOT / "deploy/local/identities.toml",
    )
    stop = asyncio.Event()
    task = asyncio.create_task(serve("residence", create_application, build, settings, stop, clock))
    try:
        await asyncio.sleep(1.0)
        if task.done():  # it did not start: say why, rather than wait for it
            task.result()
        yield address
    finally:
        stop.set()
        await task
