"""Commands: small typed requests, validated before they reach an aggregate, and the one
result every command answers with."""

from __future__ import annotations

import types
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Generic,
    TypeVar,
    Union,
    get_args,
    get_origin,
    overload,
)

from pydantic import BaseModel, ConfigDict, TypeAdapter, field_validator

from .clock import Clock
from .dates import BusinessDate, business_date
from .domain import Provenance
from .errors import InvalidCommand

if TYPE_CHECKING:
    # Only for annotations: the bus builds CommandResults, so it imports this module.
    from .bus import CommandBus, Handler

AnswerT = TypeVar("AnswerT")


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
            name
            for name, field in cls.model_fields.items()
            if _is_date(field.annotation)
            and not any(getattr(m, "func", None) is business_date for m in field.metadata)
        )

    @field_validator("*", mode="before")
    @classmethod
    def _strict_dates(cls, value: Any, info: Any) -> Any:
        if value is None or info.field_name not in cls._date_fields:
            return value
        return business_date(value)


_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def _answers(answer_type: type[Any]) -> TypeAdapter[Any]:
    """The (cached) pydantic adapter that turns an answer into its record and back."""
    adapter = _ADAPTERS.get(answer_type)
    if adapter is None:
        adapter = _ADAPTERS[answer_type] = TypeAdapter(answer_type)
    return adapter


@dataclass(frozen=True)
class CommandResult(Generic[AnswerT]):
    """What the caller of a command is told once its events are stored.

    ``answer`` is what the command's handler returned: None for most commands, a small frozen
    dataclass where there is more to say (the ids intake issued, the victims residence must
    settle). It is kept in the command log, so a retry is answered with the same.
    """

    answer: AnswerT
    event_ids: tuple[str, ...] = ()
    """The ids of the public events the command stored, in the order they were triggered."""
    replayed: bool = False
    """A retry of a command id already handled: nothing was stored this time."""

    def record(self) -> dict[str, Any]:
        """The result as the command log keeps it: the answer's fields and ``event_ids``."""
        fields: dict[str, Any] = (
            {}
            if self.answer is None
            else _answers(type(self.answer)).dump_python(self.answer, mode="json")
        )
        return fields | {"event_ids": list(self.event_ids)}

    @staticmethod
    def replay(answer_type: type[AnswerT], record: Mapping[str, Any]) -> CommandResult[AnswerT]:
        """The result of a retry, from what the command log kept the first time."""
        fields = {k: v for k, v in record.items() if k != "event_ids"}
        answer: AnswerT = (
            None
            if answer_type is types.NoneType  # type: ignore[assignment]
            else _answers(answer_type).validate_python(fields)
        )
        return CommandResult(answer, tuple(record.get("event_ids", ())), replayed=True)


def issue_case_id() -> str:
    """A new case pseudonym (``CaseId``): random, so nothing about the source's own case number
    can be read from it or recomputed from it (docs/adr/0023). Issued by the service where a
    case first enters the chain, before its command is applied, so that a retry of the command
    is answered with the pseudonym of the first time."""
    return f"C-{uuid.uuid4().hex[:20]}"


def issue_suspect_id() -> str:
    """A new suspect pseudonym (``SuspectId``), random like a case's (docs/adr/0025): issued
    where a suspect first enters the chain, before its command is applied."""
    return f"S-{uuid.uuid4().hex[:20]}"


class CommandGateway:
    """Checks what no aggregate can (the date against the clock) and hands the command on."""

    def __init__(self, bus: CommandBus, clock: Clock) -> None:
        self.bus = bus
        self.clock = clock

    @overload
    async def submit(
        self, command: Command, provenance: Provenance, handler: Handler[None]
    ) -> CommandResult[None]: ...

    @overload
    async def submit(
        self,
        command: Command,
        provenance: Provenance,
        handler: Handler[AnswerT],
        answer: type[AnswerT],
    ) -> CommandResult[AnswerT]: ...

    async def submit(
        self,
        command: Command,
        provenance: Provenance,
        handler: Handler[Any],
        answer: type[Any] = types.NoneType,
    ) -> CommandResult[Any]:
        """``answer`` is the type the handler returns (None unless given)."""
        if command.occurred_on > self.clock.today():
            raise InvalidCommand.of("occurred_on", "lies in the future")
        return await self.bus.execute(command, provenance, handler, answer)
