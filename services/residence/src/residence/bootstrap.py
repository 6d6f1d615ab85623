"""The one place that wires the residence service's concrete parts together."""

from __future__ import annotations

import asyncio
from datetime import date

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ketenzicht.residence.v1 import residence_pb2_grpc
from ketenzicht_common.commands import CommandGateway
from ketenzicht_common.service import ServiceParts, Wiring
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
    # Before the consumer starts: a restored schedule must not overwrite what it applies.
    schedule_file = wiring.settings.data_dir / schedule.FILE_NAME
    commands.restore_schedule(schedule_file)
    stop = asyncio.Event()
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

    async def watermark() -> None:
        await follow_upstreams(
            commands, wiring.settings.nats_url, stop, wiring.settings.nats_seed_file, moved=moved
        )

    async def settling() -> None:
        await run_settling(
            commands, wiring.clock, stop, residence.deadline_tick_seconds, moved=moved
        )

    return ServiceParts(
        servicers=[
            (
                residence_pb2_grpc.add_ResidenceServiceServicer_to_server,
                ResidenceApi(commands),
                DESCRIPTOR,
            )
        ],
        background=[consumer, watermark, settling],
        # Called once the background tasks and the bus have stopped.
        close=lambda: commands.save_schedule(schedule_file, bus_stopped=wiring.bus.stopped),
        health=lambda: feed_health(commands),
    )
