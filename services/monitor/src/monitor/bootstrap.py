"""The one place that wires the monitor's concrete parts together.

The monitor records no events of its own: its application is the shared `ChainApplication` with
no topics, on the in-memory store (nothing to keep, and no database file to create), and the
process starts with the relay off (see ``__main__``). What it keeps is its read model, the
fact database ``<data_dir>/projection/facts.sqlite3`` (adapters.store).

Background work, in one task so that shutdown runs in a fixed order: the durable consumers and
the HTTP server. At shutdown the consumers stop first, then ``close`` finishes the last commit
and closes the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging

from ketenzicht.monitor.v1 import monitor_pb2_grpc
from ketenzicht_common.auth import IdentityRegistry
from ketenzicht_common.service import ServiceParts, Wiring
from ketenzicht_common.settings import ServiceSettings
from ketenzicht_common.store import ChainApplication, StoreSettings
from monitor.adapters.consumer import SERVICES, ChainConsumer
from monitor.adapters.grpc_api import DESCRIPTOR, MonitorApi
from monitor.adapters.http_api import HttpApi, server_tls
from monitor.adapters.replay_checks import Reading, ReplayChecks
from monitor.adapters.settings import MonitorSettings
from monitor.adapters.store import DATABASE_FILE, SqliteFactStore
from monitor.application.live import LiveProjection
from monitor.application.queries import MonitorQueries

log = logging.getLogger(__name__)


class MonitorApplication(ChainApplication):
    name = "monitor"
    service = "monitor"

    def event_topics(self) -> set[str]:
        return set()


def _prewarm() -> None:
    # The Kaplan-Meier library (with pandas and scipy) takes seconds to import: pay that at
    # start, not at an analyst's first query.
    importlib.import_module("lifelines")


def _start_workers(checks: ReplayChecks) -> None:
    log.info("rebuild workers ready: processes %s", ", ".join(map(str, checks.start())))


def create_application(settings: ServiceSettings) -> MonitorApplication:
    return MonitorApplication(StoreSettings(backend="memory"))


def build(wiring: Wiring, monitor: MonitorSettings | None = None) -> ServiceParts:
    options = monitor or MonitorSettings()
    database = wiring.settings.data_dir / "projection" / DATABASE_FILE
    store = SqliteFactStore(database)
    live = LiveProjection(store, wiring.clock)
    if live.restored:
        log.info("projection restored: %d facts", len(live))
    seed = wiring.settings.nats_seed_file
    checks = (
        ReplayChecks(
            options.rebuild_workers,
            database,
            Reading(wiring.settings.nats_url, str(seed) if seed is not None else None),
        )
        if options.rebuild_workers
        else None
    )
    consumer = ChainConsumer(
        wiring.settings.nats_url,
        live,
        services=SERVICES,
        seed_file=wiring.settings.nats_seed_file,
        rebuild_at_start=not live.restored,
        batch_size=options.consumer_batch_size,
        stream_replicas=wiring.settings.stream_replicas,
        replica=wiring.settings.instance,
        checks=checks,
    )
    queries = MonitorQueries(
        live,
        wiring.clock,
        min_group_size=options.min_group_size,
        min_group_size_floor=options.min_group_size_floor,
    )
    http: HttpApi | None = None
    if options.http_enabled:
        tls_files = wiring.settings.tls()
        http = HttpApi(
            queries,
            live,
            consumer,
            IdentityRegistry.from_file(wiring.settings.identities_file),
            options.http_address,
            tls=server_tls(str(tls_files.certificate), str(tls_files.private_key))
            if tls_files
            else None,
        )
        http.bind()  # a taken port fails the start, not a background task later

    async def run() -> None:
        tasks = [asyncio.create_task(consumer.run(), name="monitor-consumer")]
        if http is not None:
            tasks.append(asyncio.create_task(http.serve(), name="monitor-http"))
        if options.prewarm:
            tasks.append(asyncio.create_task(asyncio.to_thread(_prewarm), name="monitor-prewarm"))
        if checks is not None:
            # The rebuild's workers import the contracts now, not at the first rebuild.
            tasks.append(
                asyncio.create_task(
                    asyncio.to_thread(_start_workers, checks), name="monitor-checks"
                )
            )
        try:
            # One part failing (a port gone, a missing library) must not stop the others.
            for outcome in await asyncio.gather(*tasks, return_exceptions=True):
                if isinstance(outcome, Exception):
                    log.error("monitor background task failed: %r", outcome)
        finally:
            for task in tasks:  # the consumer first: no fact arrives after the last commit
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    return ServiceParts(
        servicers=[
            (
                monitor_pb2_grpc.add_MonitorServiceServicer_to_server,
                MonitorApi(queries, live, consumer),
                DESCRIPTOR,
            )
        ],
        background=[run],
        close=lambda: _close(live, checks),
    )


def _close(live: LiveProjection, checks: ReplayChecks | None) -> None:
    try:
        live.close()
    finally:
        if checks is not None:
            checks.close()
