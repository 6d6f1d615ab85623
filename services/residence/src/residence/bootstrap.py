"""The one place that wires the residence service's concrete parts together.

On a store several instances share (PostgreSQL) residence runs as one active instance and warm
standbys (docs/adr/0034): an instance consumes, settles and sends triggers only while it holds
the lease ``ketenzicht.active.<schema>`` (a PostgreSQL advisory lock, as the relays'). A standby
keeps its gRPC server and answers queries from the shared store, refuses the IND's decisions
(UNAVAILABLE, so they are sent again to the active one), and reports its health as a whole
NOT_SERVING with a reason beginning ``standby:`` — which takes it out of a balancing client's
round robin (`client.balanced`) and which `health` tells apart from a fault. It tries the lease
every second: when the active instance dies its session ends, the lock is free, and the
standby takes over as a starting instance would (the rules applied to every victim once
upstream has settled). An active instance whose lease check fails stops consuming and
settling and becomes a standby again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ketenzicht.residence.v1 import residence_pb2_grpc
from ketenzicht_common.commands import CommandGateway
from ketenzicht_common.lease import Lease
from ketenzicht_common.service import ServiceParts, Wiring, store_lease
from ketenzicht_common.settings import ServiceSettings
from residence.adapters.consumer import consume, feed_health, follow_upstreams, run_settling
from residence.adapters.grpc_api import DESCRIPTOR, ResidenceApi
from residence.application import schedule
from residence.application.residence import (
    UPSTREAM_STREAMS,
    ResidenceApplication,
    ResidenceCommands,
)
from residence.application.settling import DEFAULT_GRACE_SECONDS, Settling
from residence.domain import DEFAULT_SETTINGS, RuleSettings

log = logging.getLogger(__name__)

STANDBY = (
    "standby: another instance holds the lease and evaluates the feed; this one takes over "
    "when that lease frees"
)
"""The whole service's health reason on a warm standby (`health` counts it as no fault)."""


class ResidenceSettings(BaseSettings):
    """``KETENZICHT_RESIDENCE_*``: what may differ between deployments of the rules."""

    model_config = SettingsConfigDict(env_prefix="KETENZICHT_RESIDENCE_")

    prosecution_ground_from: date = DEFAULT_SETTINGS.prosecution_ground_from
    """From when R11 (prosecution as a ground for the non-temporary permit) applies."""
    lawful_residents_reflection_from: date = DEFAULT_SETTINGS.lawful_residents_reflection_from
    """From when lawful residents may have a reflection period (R1/R4; see domain/scope.py)."""
    deadline_tick_seconds: float = 30.0
    settle_grace_seconds: float = Field(default=DEFAULT_GRACE_SECONDS, gt=0)
    """How long after a victim's last change its triggers wait for facts still in flight in
    the upstream relays (see application/settling.py)."""


def rule_settings(residence: ResidenceSettings) -> RuleSettings:
    return RuleSettings(
        prosecution_ground_from=residence.prosecution_ground_from,
        lawful_residents_reflection_from=residence.lawful_residents_reflection_from,
    )


def create_application(settings: ServiceSettings) -> ResidenceApplication:
    return ResidenceApplication(settings.store)


def build(wiring: Wiring, residence: ResidenceSettings | None = None) -> ServiceParts:
    assert isinstance(wiring.app, ResidenceApplication)
    residence = residence or ResidenceSettings()
    rules = rule_settings(residence)
    commands = ResidenceCommands(
        wiring.app,
        CommandGateway(wiring.bus, wiring.clock),
        rules,
        settling=Settling(UPSTREAM_STREAMS, residence.settle_grace_seconds),
    )
    schedule_file = wiring.settings.data_dir / schedule.FILE_NAME
    lease = store_lease(wiring.settings, "active")

    def active_parts(stop: asyncio.Event) -> list[Coroutine[Any, Any, None]]:
        """The consumer, the watermark and the settling loop: what only the active instance
        runs. The consumer ending (it failed) stops the other two."""
        # Set after every observation of the upstreams: the settling loop looks at once.
        moved = asyncio.Event()

        async def consumer() -> None:
            try:
                await consume(
                    commands,
                    wiring.settings.nats_url,
                    stop,
                    wiring.settings.nats_seed_file,
                    wiring.settings.stream_replicas,
                )
            finally:
                stop.set()

        return [
            consumer(),
            follow_upstreams(
                commands,
                wiring.settings.nats_url,
                stop,
                wiring.settings.nats_seed_file,
                moved=moved,
            ),
            run_settling(
                commands, wiring.clock, stop, residence.deadline_tick_seconds, moved=moved
            ),
        ]

    background: list[Callable[[], Coroutine[Any, Any, None]]]
    if lease is None:
        # One instance on its own store: always the active one. Before the consumer starts,
        # a restored schedule must not overwrite what it applies.
        commands.restore_schedule(schedule_file)
        stop = asyncio.Event()
        background = [_started(part) for part in active_parts(stop)]
    else:
        commands.stand_by()
        background = [lambda: run_while_leased(commands, lease, active_parts, schedule_file)]

    def close() -> None:
        # Called once the background tasks and the bus have stopped.
        commands.save_schedule(schedule_file, bus_stopped=wiring.bus.stopped)

    def health() -> dict[str, str]:
        return feed_health(commands) | {"": "" if commands.active else STANDBY}

    return ServiceParts(
        servicers=[
            (
                residence_pb2_grpc.add_ResidenceServiceServicer_to_server,
                ResidenceApi(commands),
                DESCRIPTOR,
            )
        ],
        background=background,
        close=close,
        health=health,
    )


def _started(
    part: Coroutine[Any, Any, None],
) -> Callable[[], Coroutine[Any, Any, None]]:
    return lambda: part


async def run_while_leased(
    commands: ResidenceCommands,
    lease: Lease,
    parts: Callable[[asyncio.Event], list[Coroutine[Any, Any, None]]],
    schedule_file: Path,
    check_interval: float = 0.2,
) -> None:
    """Stand by until the lease is held, run the active parts while it is, stand by again
    when it is lost; until cancelled (the service stopping), when the lease is released."""
    try:
        while True:
            await lease.acquire()
            await asyncio.to_thread(commands.take_over, schedule_file)
            log.info("residence: this instance is the active one (consuming, settling)")
            stop = asyncio.Event()
            tasks = [asyncio.ensure_future(part) for part in parts(stop)]
            try:
                while lease.held and not stop.is_set():
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(check_interval):
                            await stop.wait()
            finally:
                stop.set()
                for outcome in await asyncio.gather(*tasks, return_exceptions=True):
                    if isinstance(outcome, BaseException) and not isinstance(
                        outcome, asyncio.CancelledError
                    ):
                        log.error("residence: an active part failed: %r", outcome)
                commands.stand_by()
            if lease.held:
                # A part failed while the lease was held: give it up so that a sound
                # instance (or this one, after a pause) takes over.
                await lease.release()
                await asyncio.sleep(1.0)
            log.warning("residence: no longer the active instance; standing by")
    finally:
        await lease.release()
