"""Commands: small typed requests, validated before they reach an aggregate."""

from __future__ import annotations

import types
from datetime import date
from typing import Any, ClassVar, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, field_validator

from .bus import CommandBus, Handler
from .clock import Clock
from .dates import BusinessDate, business_date
from .domain import Provenance
from .errors import InvalidCommand


def _is_date(annotation: Any) -> bool:
    """``date`` or ``date | None`` (the shapes a command's date fields take)."""
    if annotation is date:
        return True
    if get_origin(annotation) in (Union, types.UnionType):
        return date in get_args(annotation)
    return False


class Command(BaseModel):
    """A command states a fact on a business date. That date may lie in the past.

    Every date field is parsed by ``dates.business_date`` (``YYYY-MM-DD``, in a plausible
    range): ``occurred_on`` as a ``BusinessDate``, and any other field a subclass declares as a
    plain ``date`` by the validator below, so no command can let pydantic's lenient date
    parsing through by forgetting the annotation.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    _date_fields: ClassVar[frozenset[str]] = frozenset()

    occurred_on: BusinessDate

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        # A BusinessDate field (occurred_on) already carries the parser.
        cls._date_fields = frozenset(
            name for name, field in cls.model_fields.items()
            if _is_date(field.annotation)
            and not any(getattr(m, "func", None) is business_date for m in field.metadata))

    @field_validator("*", mode="before")
    @classmethod
    def _strict_dates(cls, value: Any, info: Any) -> Any:
        if value is None or info.field_name not in cls._date_fields:
            return value
        return business_date(value)


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
