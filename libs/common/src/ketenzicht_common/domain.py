"""The base every ketenzicht aggregate and domain event builds on. Pure: no I/O.

Every domain event carries the business date it states (``occurred_on``) and its provenance:
who stated it (the authenticated organisation and system), under which client command id, and
the trace context of the call. The library's own ``timestamp`` is the recording time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import AggregateCreated, AggregateEvent, BaseAggregate

KETENZICHT_NAMESPACE = UUID("6f1c1f0e-4b55-4d3a-9a53-2a0e6a3c9d11")


def stable_id(*parts: str) -> UUID:
    """A deterministic UUID for a name, so the same pseudonym always finds the same aggregate."""
    return uuid5(KETENZICHT_NAMESPACE, "/".join(parts))


def parse_event_topic(topic: str) -> tuple[str, str, int]:
    service, _, rest = topic.partition(":")
    name, _, version = rest.rpartition(".v")
    return service, name, int(version)


@dataclass(frozen=True)
class Provenance:
    """Who stated a fact, under which command, in which trace. Never personal data."""

    organisation: str
    system: str
    command_id: str
    traceparent: str = ""
    """A W3C traceparent checked at the gRPC edge (``telemetry.valid_traceparent``), or ""."""
    tracestate: str = ""
    """Not kept: a caller's tracestate is vendor free text, so it is never stored. The field
    stays only so that code written against the old signature still builds a Provenance."""

    def as_dict(self) -> dict[str, str]:
        # Spelled out: dataclasses.asdict deep-copies, and this runs for every event. Events
        # stored before tracestate was dropped still hold the key; nothing reads it any more.
        return {
            "organisation": self.organisation,
            "system": self.system,
            "command_id": self.command_id,
            "traceparent": self.traceparent,
        }


class ChainAggregate(BaseAggregate[UUID]):
    """An aggregate of the chain. Subclasses set ``TOPIC`` and give each event a ``TOPIC``."""

    class Event(AggregateEvent):
        occurred_on: date
        provenance: dict[str, str]

    def record(
        self,
        event_class: type[ChainAggregate.Event],
        provenance: Provenance,
        occurred_on: date,
        **facts: Any,
    ) -> None:
        """Trigger ``event_class``. Callers check every precondition first, so a refused command
        leaves no half-applied event behind."""
        self.trigger_event(
            event_class, occurred_on=occurred_on, provenance=provenance.as_dict(), **facts
        )

    @classmethod
    def start(
        cls,
        aggregate_id: UUID,
        event_class: type[ChainCreated],
        provenance: Provenance,
        occurred_on: date,
        **facts: Any,
    ) -> Any:
        return cls._create(
            event_class,
            id=aggregate_id,
            occurred_on=occurred_on,
            provenance=provenance.as_dict(),
            **facts,
        )


class ChainCreated(ChainAggregate.Event, AggregateCreated):
    """Base of the first event of an aggregate."""


class FactAnnulledEvent(ChainAggregate.Event):
    """Base of a service's ``FactAnnulled`` (nietig): the fact ``original_event_id`` is void.
    A service's subclass adds its topic and its key (see ketenzicht_common.corrections)."""

    corrected_event_id: str
    original_event_id: str
    corrected_event_type: str
    correction_reason: str
    fact_occurred_on: date


class FactAmendedEvent(ChainAggregate.Event):
    """Base of a service's ``FactAmended`` (herstel): the fact ``original_event_id`` now reads
    as dated ``fact_occurred_on`` with the categories ``amended`` (all its amendable fields)."""

    corrected_event_id: str
    original_event_id: str
    corrected_event_type: str
    correction_reason: str
    fact_occurred_on: date
    amended: dict[str, Any]


def event_facts(event: ChainAggregate.Event) -> dict[str, Any]:
    """The facts an event states, without the library's bookkeeping and without provenance."""
    skip = {"originator_id", "originator_version", "timestamp", "originator_topic", "provenance"}
    return {k: v for k, v in event.__dict__.items() if k not in skip}


def event_id_of(originator_id: UUID, originator_version: int) -> UUID:
    """The event id, derived from the event's place in its aggregate: the same event always
    gets the same id, so a re-publish is recognisably the same message (``Nats-Msg-Id``)."""
    return uuid5(originator_id, str(originator_version))
