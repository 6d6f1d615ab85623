"""From protobuf requests to validated commands, with errors that name the offending field.

Proto3 cannot tell an empty field from a missing one, so empty strings and the UNSPECIFIED
value of an enum count as missing. Enum values on the wire carry their enum's name as a prefix
(``EXPLOITATION_FORM_SEXUAL``); the command sees the bare category (``SEXUAL``).

The way back is one message for every service: a command's result is its ``CommandAck``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from google.protobuf.descriptor import EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message
from pydantic import BaseModel, TypeAdapter, ValidationError

from ketenzicht.common.v1 import common_pb2
from ketenzicht_contracts.events.base import CaseId, Pseudonym

from .commands import CommandResult
from .dates import business_date
from .domain import Provenance
from .errors import FieldViolation, InvalidCommand
from .grpc_server import Caller

C = TypeVar("C", bound=BaseModel)


_PREFIXES: dict[str, str] = {}


def _enum_prefix(enum: EnumDescriptor) -> str:
    # Cached by the enum's full name: a regular expression on every enum field of every
    # request was a measurable part of a unary command's cost.
    prefix = _PREFIXES.get(enum.full_name)
    if prefix is None:
        prefix = _PREFIXES[enum.full_name] = (
            re.sub(r"(?<!^)(?=[A-Z])", "_", enum.name).upper() + "_"
        )
    return prefix


def _value(field: FieldDescriptor, value: Any) -> Any:
    if field.type == FieldDescriptor.TYPE_ENUM:
        known = field.enum_type.values_by_number.get(value)
        if known is None:
            raise InvalidCommand.of(field.name, f"unknown value {value}")
        name = known.name
        prefix = _enum_prefix(field.enum_type)
        bare = name[len(prefix) :] if name.startswith(prefix) else name
        return None if bare == "UNSPECIFIED" else bare
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return message_to_dict(value)
    return value


_SCALAR, _ENUM, _MESSAGE = 0, 1, 2


@dataclass(frozen=True)
class _Field:
    name: str
    kind: int
    repeated: bool
    presence: bool
    """A scalar with explicit presence (``optional``): absent when not set."""
    bare: Mapping[int, str | None]
    """An enum's numbers and their bare names (None for UNSPECIFIED)."""


_PLANS: dict[str, tuple[_Field, ...]] = {}


def _plan(descriptor: Any) -> tuple[_Field, ...]:
    """How to read each field of a message type, worked out once per type: walking the
    descriptor's fields and enum values on every request was a measurable part of a unary
    command's cost (ADR 0032)."""
    plan = _PLANS.get(descriptor.full_name)
    if plan is None:
        fields = []
        for field in descriptor.fields:
            kind = (
                _ENUM
                if field.type == FieldDescriptor.TYPE_ENUM
                else _MESSAGE
                if field.type == FieldDescriptor.TYPE_MESSAGE
                else _SCALAR
            )
            bare: dict[int, str | None] = {}
            if kind == _ENUM:
                for number in field.enum_type.values_by_number:
                    bare[number] = _value(field, number)
            fields.append(
                _Field(
                    field.name,
                    kind,
                    field.is_repeated,
                    field.has_presence and kind != _MESSAGE,
                    bare,
                )
            )
        plan = _PLANS[descriptor.full_name] = tuple(fields)
    return plan


def _converted(field: _Field, value: Any) -> Any:
    if field.kind == _ENUM:
        try:
            return field.bare[value]
        except KeyError:
            raise InvalidCommand.of(field.name, f"unknown value {value}") from None
    if field.kind == _MESSAGE:
        return message_to_dict(value)
    return value


def message_to_dict(message: Message) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for field in _plan(message.DESCRIPTOR):
        value = getattr(message, field.name)
        if field.repeated:
            converted = [_converted(field, v) for v in value]
            result[field.name] = [v for v in converted if v is not None]
            continue
        if (field.kind == _MESSAGE or field.presence) and not message.HasField(field.name):
            continue
        converted = _converted(field, value)
        if converted is None or converted == "":
            continue
        result[field.name] = converted
    return result


def violations_of(error: ValidationError) -> list[FieldViolation]:
    violations = []
    for problem in error.errors():
        location = ".".join(str(part) for part in problem["loc"]) or "request"
        violations.append(FieldViolation(location, problem["msg"]))
    return violations


def command_from(request: Message, command_type: type[C], **extra: Any) -> tuple[C, str]:
    """The validated command and the client's command id (``command_id`` on every request)."""
    fields = message_to_dict(request)
    command_id = str(fields.pop("command_id", ""))
    if command_id and not re.fullmatch(r"[A-Za-z0-9_.:-]{1,100}", command_id):
        raise InvalidCommand.of("command_id", "use 1-100 letters, digits or _.:-")
    try:
        return command_type.model_validate(fields | extra), command_id
    except ValidationError as error:
        raise InvalidCommand(violations_of(error)) from None


def as_of_command(request: Message, command_type: type[C]) -> tuple[C, str]:
    """A command dated by the request's ``as_of`` (a retention sweep: the day the terms are
    measured on), validated like ``occurred_on`` and refused under the request's field name."""
    fields = message_to_dict(request)
    command_id = str(fields.pop("command_id", ""))
    if command_id and not re.fullmatch(r"[A-Za-z0-9_.:-]{1,100}", command_id):
        raise InvalidCommand.of("command_id", "use 1-100 letters, digits or _.:-")
    fields["occurred_on"] = fields.pop("as_of", "")
    try:
        return command_type.model_validate(fields), command_id
    except ValidationError as error:
        raise InvalidCommand(
            [
                FieldViolation("as_of" if v.field == "occurred_on" else v.field, v.description)
                for v in violations_of(error)
            ]
        ) from None


def ack(result: CommandResult[Any]) -> common_pb2.CommandAck:
    """What every accepted command answers over gRPC."""
    return common_pb2.CommandAck(event_ids=list(result.event_ids), replayed=result.replayed)


async def acknowledged(
    request: Message,
    command_type: type[C],
    caller: Caller,
    apply: Callable[[C, Provenance], Awaitable[CommandResult[Any]]],
) -> common_pb2.CommandAck:
    """The unary RPC of a command that answers only with its ``CommandAck``: the request
    validated as ``command_type``, applied by ``apply`` as the caller, acknowledged."""
    command, command_id = command_from(request, command_type)
    return ack(await apply(command, caller.provenance(command_id)))


_PSEUDONYM: TypeAdapter[str] = TypeAdapter(Pseudonym)


def pseudonym(field_name: str, value: str) -> str:
    """A query's id, checked against the contract's Pseudonym before it is used.

    The refusal never repeats the value: it is whatever the caller sent, of any length.
    """
    if not value:
        raise InvalidCommand.of(field_name, "Field required")
    try:
        return _PSEUDONYM.validate_python(value)
    except ValidationError:
        raise InvalidCommand.of(field_name, f"{field_name} is not a valid pseudonym") from None


_CASE_ID: TypeAdapter[str] = TypeAdapter(CaseId)


def case_pseudonym(field_name: str, value: str) -> str:
    """A query's case id, checked against the contract's ``CaseId`` (an issued case
    pseudonym), refused as any other id that is no pseudonym. The refusal never repeats the
    value: it may be a source system's own case number."""
    if not value:
        raise InvalidCommand.of(field_name, "Field required")
    try:
        return _CASE_ID.validate_python(value)
    except ValidationError:
        raise InvalidCommand.of(field_name, f"{field_name} is not a valid pseudonym") from None


def query_date(field_name: str, value: str) -> date | None:
    """A query's date (``as_of``), parsed as strictly as a command's; None when empty."""
    if not value:
        return None
    try:
        return business_date(value)
    except ValueError as error:
        raise InvalidCommand.of(field_name, str(error)) from None
