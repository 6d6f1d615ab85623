"""What the shared suite of the command services (tests/command_services) needs to know of one
service: its stub, its roles, a command to send, the refusals it must give and a backlog for its
bulk stream. Each service's tests give theirs (services/<name>/tests/integration)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc


@dataclass(frozen=True)
class Refusal:
    """A call the service must refuse: its status code, and where the service names them, the
    reason code (PreconditionFailure) and the fields at fault (BadRequest)."""

    call: Awaitable[Any]
    code: grpc.StatusCode
    reason: str | None = None  # None: not checked
    fields: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Backlog:
    """A bulk stream of commands and what each must be answered with."""

    commands: Sequence[Any]
    accepted: Sequence[tuple[range, str]]  # the result field each accepted command answers in
    refused: dict[int, tuple[int, str | None]]  # google.rpc code and reason, by sequence
    replayed: tuple[int, Sequence[str]] | None  # a replay's sequence and its first event ids
    published: int  # the service's messages on its stream once the backlog is stored
    check: Callable[[Any], Awaitable[None]] | None = None  # a read-back with the stub


@dataclass(frozen=True)
class Corrections:
    """How the suite corrects one of a service's facts (docs/domain.md#corrections).

    Each call takes the stub, a key (to make the service's ids from) and a command id, and
    returns the call (awaited by the suite). Reasons are the common CorrectionReason numbers.
    """

    state: Callable[[Any, str], Awaitable[Any]]
    """State a fact that has a category to amend; its CommandAck (one event id)."""
    annul: Callable[[Any, str, str, int, str], Awaitable[Any]]
    """(stub, key, corrected event id, reason, command id)."""
    amend: Callable[[Any, str, str, int, str, str, bool], Awaitable[Any]]
    """(stub, key, corrected event id, reason, command id, fact_occurred_on or "", whether to
    amend the category ``state`` set to another value)."""
    category: tuple[str, str]
    """The amended field's name in ``FactAmended.amended``, and its value after amendment."""
    other_organisation: str | None
    """The TOKENS key of another organisation that may call the service (a role, or e.g.
    ``OM_OTHER``), or None (a single one)."""


@dataclass(frozen=True)
class CommandService:
    name: str
    grpc_service: str  # the full name health and reflection answer for
    stub: Callable[[grpc.aio.Channel], Any]
    role: str  # the role the suite writes as
    other_roles: Sequence[str]  # further roles that may write
    denied_roles: Sequence[str]
    command: Callable[[Any, str], Awaitable[Any]]
    """Send one command (its command id and identifiers made from the key); one event."""
    changed: Callable[[Any, str], Awaitable[Any]]
    """Another command under the command id ``command`` used for the same key."""
    ack: Callable[[Any], Any] = field(default=lambda reply: reply)
    """The Ack of a reply to ``command``."""
    refusals: Callable[[Any], Awaitable[list[Refusal]]] | None = None
    """Set up a case and return the calls it must refuse."""
    private: str = ""  # personal data the refusals set up, never in an error's details
    backlog: Callable[[Any], Awaitable[Backlog]] | None = None
    """Send some commands one by one, and return the backlog to stream after them."""
    corrections: Corrections | None = None
