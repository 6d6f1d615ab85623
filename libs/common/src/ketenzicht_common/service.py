"""Running one service process: store, command bus, relay, gRPC server, background tasks.

A service's ``bootstrap.py`` says what is specific to it (its application class and its
servicers); this module does the rest, the same way for every service.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from .auth import SERVICE_ROLES, IdentityRegistry
from .bus import CommandBus
from .clock import Clock, ScenarioClock, clock_for
from .grpc_server import Guard, build_server, guarded, mark_serving
from .relay import Relay
from .settings import ServiceSettings
from .store import ChainApplication
from .telemetry import configure_tracing

log = logging.getLogger(__name__)


@dataclass
class Wiring:
    """What the runtime hands a service's bootstrap."""

    settings: ServiceSettings
    app: ChainApplication
    bus: CommandBus
    clock: Clock


@dataclass
class ServiceParts:
    """What a service's bootstrap hands back: its servicers and background tasks."""

    servicers: list[tuple[Callable[[Any, Any], None], object, Any]]
    """(add_XServicer_to_server, servicer with (request, caller) methods, ServiceDescriptor)."""
    background: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)
    close: Callable[[], None] | None = None


def configure_logging() -> None:
    # Log lines carry ids and event types only, never personal data.
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    logging.getLogger("nats").setLevel(logging.WARNING)


async def serve(
    service: str,
    application: Callable[[ServiceSettings], ChainApplication],
    build: Callable[[Wiring], ServiceParts],
    settings: ServiceSettings,
    stop: asyncio.Event,
    clock: Clock | None = None,
) -> None:
    configure_tracing(service)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if settings.store.backend == "sqlite" and not settings.store.sqlite_path:
        settings.store.sqlite_path = str(settings.data_dir / "events.sqlite")
    app = application(settings)
    app.store_id()  # created before the writer thread starts, so only one thread ever saves
    relay = (Relay(app, settings.nats_url, stream_replicas=settings.stream_replicas)
             if settings.relay_enabled else None)
    bus = CommandBus(app, max_batch=settings.command_batch_size,
                     on_stored=relay.wake if relay else None)
    clock = clock or clock_for(settings.clock_file)
    if isinstance(clock, ScenarioClock):
        log.info("%s: the present is read from %s (the wall clock while it is absent)",
                 service, clock.path)
    parts = build(Wiring(settings, app, bus, clock))
    guard = Guard(service, IdentityRegistry.from_file(settings.identities_file),
                  SERVICE_ROLES[service])
    registrations = [
        (add, guarded(servicer, descriptor, guard), descriptor)
        for add, servicer, descriptor in parts.servicers
    ]
    server, port, health = build_server(
        registrations=registrations, address=settings.grpc_address, tls=settings.tls()
    )
    await server.start()
    await mark_serving(health, [d.full_name for _, _, d in registrations])
    host = settings.grpc_address.rsplit(":", 1)[0]
    tasks: list[asyncio.Task[None]] = [asyncio.create_task(task()) for task in parts.background]
    if relay is not None:
        tasks.append(asyncio.create_task(relay.run()))

    def on_done(task: asyncio.Task[None]) -> None:
        # A background task that ends on its own has failed: stop the service, loudly, rather
        # than keep answering health checks while consuming or relaying nothing.
        if task.cancelled() or stop.is_set():
            return
        log.error("%s: background task %s ended (%r); stopping the service", service,
                  task.get_coro(), task.exception())
        stop.set()

    for task in tasks:
        task.add_done_callback(on_done)
    # The stack launcher and the tests wait for this line.
    print(f"READY {service} grpc={host}:{port}", flush=True)
    log.info("%s serving gRPC on %s:%d", service, host, port)
    try:
        await stop.wait()
    finally:
        try:
            await server.stop(grace=2)
            await _stop_tasks(service, tasks)
        finally:
            # Also when this very shutdown is cancelled: the store is closed properly.
            bus.close()
            if parts.close is not None:
                parts.close()
            app.close()
            log.info("%s stopped", service)


async def _stop_tasks(service: str, tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    if not tasks:
        return
    # Bounded: a task that ignores its cancellation must not keep the service up for ever.
    stopped, stuck = await asyncio.wait(tasks, timeout=30)
    for task in stopped:
        error = None if task.cancelled() else task.exception()
        if error is not None:
            log.error("%s: background task %s ended with an error", service,
                      task.get_coro(), exc_info=error)
    for task in stuck:
        log.error("%s: background task %s did not stop when asked; stopping without it",
                  service, task.get_coro())


def run(
    service: str,
    application: Callable[[ServiceSettings], ChainApplication],
    build: Callable[[Wiring], ServiceParts],
) -> None:
    """The entry point of a service process (``python -m <service>``)."""
    configure_logging()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(service, application, build, ServiceSettings(), stop)

    asyncio.run(main())
