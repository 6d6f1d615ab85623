"""Running one service process: store, command bus, relay, gRPC server, background tasks.

A service's ``bootstrap.py`` says what is specific to it (its application class and its
servicers); this module does the rest, the same way for every service.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from .auth import SERVICE_ROLES, IdentityRegistry
from .bus import CommandBus
from .clock import Clock, ScenarioClock, clock_for
from .consumer import consumer_health
from .grpc_server import Guard, build_server, guarded, mark_serving
from .health import ExplainedHealth
from .lease import Lease, PostgresLease
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
    """(add_XServicer_to_server, servicer with (request, caller) methods, ServiceDescriptor).
    The generated add function is not called: the handlers are built from the descriptor (see
    ``grpc_server``), so that an undecodable request reaches the guard."""
    background: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)
    close: Callable[[], None] | None = None
    health: Callable[[], dict[str, str]] | None = None
    """Named health sub-services of the service and why each is not serving ("" if it is).
    The relay's (``<service>.relay``) and the consumers' (``<service>.consumer.<consumer>``)
    are added by `serve`."""


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
    relay = (
        Relay(
            app,
            settings.nats_url,
            stream_replicas=settings.stream_replicas,
            seed_file=settings.nats_seed_file,
            lease=relay_lease(settings),
        )
        if settings.relay_enabled
        else None
    )
    bus = CommandBus(
        app, max_batch=settings.command_batch_size, on_stored=relay.wake if relay else None
    )
    clock = clock or clock_for(settings.clock_file)
    if isinstance(clock, ScenarioClock):
        log.info(
            "%s: the present is read from %s (the wall clock while it is absent)",
            service,
            clock.path,
        )
    parts = build(Wiring(settings, app, bus, clock))
    guard = Guard(
        service, IdentityRegistry.from_file(settings.identities_file), SERVICE_ROLES[service]
    )
    registrations = [
        (descriptor, guarded(servicer, descriptor, guard))
        for _add, servicer, descriptor in parts.servicers
    ]
    server, port, health = build_server(
        registrations=registrations, address=settings.grpc_address, tls=settings.tls()
    )
    await server.start()
    await mark_serving(health, [d.full_name for d, _ in registrations])
    # What was built to start (modules, schemas, validators: most of the process's objects)
    # lives as long as the process: out of the collector's sight, so that a full collection
    # does not walk it again and again (a monitor's first rebuild paid a third more for that).
    gc.collect()
    gc.freeze()
    host = settings.grpc_address.rsplit(":", 1)[0]
    tasks: list[asyncio.Task[None]] = [asyncio.create_task(task()) for task in parts.background]
    if relay is not None:
        tasks.append(asyncio.create_task(relay.run()))
    tasks.append(
        asyncio.create_task(
            _report_health(
                service,
                health,
                _health_check(service, parts, relay, settings.progress_timeout_seconds),
                stop,
            )
        )
    )

    def on_done(task: asyncio.Task[None]) -> None:
        # A background task that ends on its own has failed: stop the service, loudly, rather
        # than keep answering health checks while consuming or relaying nothing.
        if task.cancelled() or stop.is_set():
            return
        log.error(
            "%s: background task %s ended (%r); stopping the service",
            service,
            task.get_coro(),
            task.exception(),
        )
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


def relay_lease(settings: ServiceSettings) -> Lease | None:
    """A store that several instances share (PostgreSQL) needs its relay leased: one of them
    publishes at a time (`lease`, docs/adr/0026)."""
    return store_lease(settings, "relay")


def store_lease(settings: ServiceSettings, role: str) -> Lease | None:
    """The lease on ``role`` among the instances that share this service's store (PostgreSQL:
    an advisory lock keyed by ``ketenzicht.<role>.<schema>``); None for a store that serves
    one instance only (SQLite, memory), which holds every role itself."""
    if settings.store.backend != "postgres":
        return None
    schema = settings.store.postgres_schema or "public"
    return PostgresLease(settings.store.postgres_dsn, f"ketenzicht.{role}.{schema}")


def _health_check(
    service: str, parts: ServiceParts, relay: Relay | None, after: float
) -> Callable[[], dict[str, str]]:
    """The service's own health parts, with the relay's and the consumers' progress."""

    def check() -> dict[str, str]:
        status = dict(parts.health()) if parts.health is not None else {}
        if relay is not None:
            status[f"{service}.relay"] = relay.stalled(after)
        for consumer, reason in consumer_health(after).items():
            status[f"{service}.consumer.{consumer}"] = reason
        return status

    return check


async def _report_health(
    service: str,
    servicer: ExplainedHealth,
    check: Callable[[], dict[str, str]],
    stop: asyncio.Event,
    interval: float = 1.0,
) -> None:
    """Keep the named health sub-services true: NOT_SERVING, with the reason logged once and
    given with every health check, while a part of the service cannot make progress; SERVING
    again when it can."""
    known: dict[str, str] = {}
    while not stop.is_set():
        for name, reason in check().items():
            if known.get(name) != reason:
                await servicer.explain(name, reason)
                # Logged when it stops or starts serving, not each time its reason's figures
                # change (a stalled part would otherwise log a line a second).
                if reason and not known.get(name):
                    log.warning("%s: %s not serving: %s", service, name, reason)
                elif not reason and known.get(name):
                    log.info("%s: %s serving again", service, name)
                known[name] = reason
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(interval):
                await stop.wait()


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
            log.error(
                "%s: background task %s ended with an error",
                service,
                task.get_coro(),
                exc_info=error,
            )
    for task in stuck:
        log.error(
            "%s: background task %s did not stop when asked; stopping without it",
            service,
            task.get_coro(),
        )


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
