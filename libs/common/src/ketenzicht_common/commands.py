"""Commands: small typed requests, validated before they reach an aggregate."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

from .bus import CommandBus, Handler
from .clock import Clock
from .domain import Provenance
from .errors import InvalidCommand


class Command(BaseModel):
    """A command states a fact on a business date. That date may lie in the past."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    occurred_on: date


class CommandGateway:
    """Checks what no aggregate can (the date against the clock) and hands the command on."""

    def __init__(self, bus: CommandBus, clock: Clock) -> None:
        self.bus = bus
        self.clock = clock

    async def submit(self, command: Command, provenance: Provenance,
                     handler: Handler) -> dict[str, object]:
        if command.occurred_on > self.clock.today():
            raise InvalidCommand.of("occurred_on", "lies in the future")
        return await self.bus.execute(command, provenance, handler)
