"""The errors a command can end in, and the one table that maps them onto gRPC status codes.

Domain and application code raise these; only the gRPC adapter knows about status codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class CommandRejected(Exception):
    """A command that changed nothing. The message is safe to show: it holds no personal data."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str


class InvalidCommand(CommandRejected):
    """Missing or malformed input (gRPC INVALID_ARGUMENT, with the offending fields named)."""

    def __init__(self, violations: list[FieldViolation]) -> None:
        self.violations = violations
        text = "; ".join(f"{v.field}: {v.description}" for v in violations)
        super().__init__(f"invalid command: {text}")

    @classmethod
    def of(cls, field_name: str, description: str) -> InvalidCommand:
        return cls([FieldViolation(field_name, description)])


@dataclass
class PreconditionViolation:
    type: str
    subject: str
    description: str


class PreconditionFailed(CommandRejected):
    """The state of the case does not allow the command (gRPC FAILED_PRECONDITION).

    ``reason`` is a stable code (e.g. ``VICTIM_NOT_SIGNALLED``) that clients can switch on.
    """

    def __init__(self, reason: str, message: str, subject: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.subject = subject


class NotTheOwner(CommandRejected):
    """The command concerns a fact another organisation stated (gRPC PERMISSION_DENIED): only
    the organisation recorded as a fact's provenance may correct it."""


class AlreadyExists(CommandRejected):
    """The fact is already recorded (gRPC ALREADY_EXISTS)."""


class NotFound(CommandRejected):
    """An id the command refers to is unknown (gRPC NOT_FOUND)."""


class StoreUnavailable(CommandRejected):
    """The event store could not be reached (gRPC UNAVAILABLE): nothing of the command was
    stored, and sending it again with the same command id is safe."""

    def __init__(self) -> None:
        super().__init__(
            "the event store is unavailable; send the command again with the same command_id"
        )


class NotActive(CommandRejected):
    """This instance is a warm standby (gRPC UNAVAILABLE): it stores nothing for the command;
    sent again with the same command id, the command reaches the active instance."""

    def __init__(self) -> None:
        super().__init__(
            "this instance is a warm standby; send the command again with the same command_id"
        )


@dataclass
class Unauthenticated(Exception):
    message: str = "no valid credentials"


@dataclass
class PermissionDenied(Exception):
    message: str = "not allowed"
    details: list[str] = field(default_factory=list)
