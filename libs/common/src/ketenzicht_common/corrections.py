"""Corrections as facts, written once for every writing service (docs/domain.md#corrections).

The organisation that stated a fact may annul it (nietig: it never happened, or not as
registered) or amend it (herstel: the same fact with a corrected date or category). Either is a
new event on the aggregate that holds the fact, next to it: the original is never changed.

A service gives each of its aggregates that hold facts the two events (subclasses of
`domain.FactAnnulledEvent` and `domain.FactAmendedEvent` with their own topics) and its
commands a pair of `AnnulFact` / `AmendFact` subclasses that add the aggregate's key;
`correct` does the rest.

The facts of an aggregate and their corrections are read from its events (`fact_chain`, pure),
so no index is kept for facts that are never corrected.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol, cast
from uuid import UUID

from pydantic import BaseModel, ValidationError

from ketenzicht_contracts.events import payload_model
from ketenzicht_contracts.events.categories import (
    AMENDMENT_REASONS,
    ANNULMENT_REASONS,
    CorrectionReason,
)
from ketenzicht_contracts.events.corrections import AmendedFields, EventId

from .bus import UnitOfWork
from .commands import Command
from .domain import (
    ChainAggregate,
    FactAmendedEvent,
    FactAnnulledEvent,
    Provenance,
    event_facts,
    event_id_of,
    parse_event_topic,
)
from .errors import FieldViolation, InvalidCommand, NotTheOwner, PreconditionFailed

# -- the facts of one aggregate, corrections applied (pure) ------------------------------------


@dataclass
class StatedFact:
    """One fact of an aggregate as it stands after its corrections."""

    original_event_id: str
    event_type: str
    version: int
    organisation: str
    facts: dict[str, Any]
    """The fact's payload fields in their current form, ``occurred_on`` included."""
    annulled: bool = False
    event_ids: list[str] = field(default_factory=list)
    """The fact's own event id and those of its corrections, oldest first."""


@dataclass
class FactChain:
    facts: dict[str, StatedFact] = field(default_factory=dict)
    """By original event id."""
    by_event_id: dict[str, StatedFact] = field(default_factory=dict)
    """By the id of the fact or of any of its corrections."""


def fact_chain(events: Iterable[ChainAggregate.Event], fact_topics: frozenset[str]) -> FactChain:
    """The facts among ``events`` (those whose topic is in ``fact_topics``), with every
    correction among them applied in order."""
    chain = FactChain()
    for event in events:
        event_id = str(event_id_of(event.originator_id, event.originator_version))
        if isinstance(event, FactAnnulledEvent | FactAmendedEvent):
            stated = chain.facts.get(event.original_event_id)
            if stated is None:  # cannot happen: `correct` names only facts it found
                continue
            if isinstance(event, FactAnnulledEvent):
                stated.annulled = True
            else:
                stated.facts = (
                    stated.facts | event.amended | {"occurred_on": event.fact_occurred_on}
                )
            stated.event_ids.append(event_id)
            chain.by_event_id[event_id] = stated
            continue
        topic = getattr(type(event), "TOPIC", "")
        if topic not in fact_topics:
            continue
        _, event_type, version = parse_event_topic(topic)
        stated = StatedFact(
            original_event_id=event_id,
            event_type=event_type,
            version=version,
            organisation=event.provenance.get("organisation", ""),
            facts=event_facts(event),
            event_ids=[event_id],
        )
        chain.facts[event_id] = stated
        chain.by_event_id[event_id] = stated
    return chain


# -- the commands -----------------------------------------------------------------------------


class AnnulFact(Command):
    """Annul a fact (``occurred_on``: the day the source corrected it)."""

    corrected_event_id: EventId
    reason: CorrectionReason


class AmendFact(Command):
    """Amend a fact: its corrected business date and/or categories (None: unchanged)."""

    corrected_event_id: EventId
    reason: CorrectionReason
    fact_occurred_on: date | None = None
    amended: AmendedFields | None = None


def _check_reason(command: AnnulFact | AmendFact) -> None:
    allowed = ANNULMENT_REASONS if isinstance(command, AnnulFact) else AMENDMENT_REASONS
    if command.reason not in allowed:
        kind = "an annulment" if isinstance(command, AnnulFact) else "an amendment"
        raise InvalidCommand.of(
            "reason", f"{kind} takes one of " + ", ".join(sorted(r.value for r in allowed))
        )


def check_correction(command: AnnulFact | AmendFact, today: date) -> None:
    """What can be refused before the store is read (INVALID_ARGUMENT)."""
    _check_reason(command)
    if isinstance(command, AmendFact):
        changed = command.amended.model_dump(exclude_none=True) if command.amended else {}
        if command.fact_occurred_on is None and not changed:
            raise InvalidCommand.of("amended", "an amendment states a date or a category")
        if command.fact_occurred_on is not None and command.fact_occurred_on > today:
            raise InvalidCommand.of("fact_occurred_on", "lies in the future")


def _refuse(reason: str, message: str, subject: str) -> PreconditionFailed:
    return PreconditionFailed(reason, message, subject=subject)


class HoldsFacts(Protocol):
    """An aggregate whose facts can be corrected: its two correction events, and the method
    that records one once `correct` has checked it."""

    @property
    def FactAnnulled(self) -> type[FactAnnulledEvent]: ...

    @property
    def FactAmended(self) -> type[FactAmendedEvent]: ...

    @property
    def id(self) -> UUID: ...

    @property
    def pending_events(self) -> list[Any]: ...

    def record_correction(
        self,
        event_class: type[ChainAggregate.Event],
        provenance: Provenance,
        occurred_on: date,
        fields: Mapping[str, Any],
    ) -> None: ...


def correct(
    uow: UnitOfWork,
    aggregate: HoldsFacts | None,
    command: AnnulFact | AmendFact,
    provenance: Provenance,
    *,
    service: str,
    subject: str,
    fact_topics: frozenset[str],
) -> None:
    """Annul or amend the fact ``command.corrected_event_id`` of ``aggregate`` (None: the
    service holds nothing under that key), or refuse:

    - FAILED_PRECONDITION ``FACT_NOT_FOUND``: no fact (or correction of one) with that id here;
    - PERMISSION_DENIED: the fact was stated by another organisation;
    - FAILED_PRECONDITION ``FACT_ANNULLED``: the fact is annulled already;
    - FAILED_PRECONDITION ``FIELD_NOT_IN_FACT``: an amended category the fact does not have;
    - FAILED_PRECONDITION ``NOTHING_AMENDED``: the amendment states the fact as it stands;
    - INVALID_ARGUMENT: the corrected fact would break its contract.

    The correction is recorded with ``aggregate.record_correction``, which refuses it
    (FAILED_PRECONDITION ``CORRECTION_CONFLICTS_WITH_LATER_FACTS``) where the aggregate
    follows its corrections (`domain.FollowsCorrections`) and a later fact could not stand.
    """
    target = command.corrected_event_id
    stated = None
    if aggregate is not None:
        stored = cast(
            Iterable[ChainAggregate.Event], uow.app.repository.event_store.get(aggregate.id)
        )
        pending = cast(list[ChainAggregate.Event], aggregate.pending_events)
        seen = {e.originator_version for e in pending}
        events = [e for e in stored if e.originator_version not in seen] + pending
        stated = fact_chain(events, fact_topics).by_event_id.get(target)
    if aggregate is None or stated is None:
        raise _refuse("FACT_NOT_FOUND", f"no fact with that event id about {subject}", subject)

    def record(event_class: type[ChainAggregate.Event], fields: Mapping[str, Any]) -> None:
        assert aggregate is not None
        aggregate.record_correction(event_class, provenance, command.occurred_on, fields)

    if stated.organisation != provenance.organisation:
        raise NotTheOwner("only the organisation that stated a fact may correct it")
    if stated.annulled:
        raise _refuse("FACT_ANNULLED", "that fact is annulled already", subject)
    common = {
        "corrected_event_id": target,
        "original_event_id": stated.original_event_id,
        "corrected_event_type": stated.event_type,
        "correction_reason": command.reason.value,
    }
    model = payload_model(service, stated.event_type, stated.version)
    if isinstance(command, AnnulFact):
        record(aggregate.FactAnnulled, common | {"fact_occurred_on": stated.facts["occurred_on"]})
        return
    amendable = _amendable(model, command)
    changes = command.amended.model_dump(exclude_none=True) if command.amended else {}
    alien = sorted(set(changes) - set(amendable))
    if alien:
        raise _refuse(
            "FIELD_NOT_IN_FACT",
            f"a {stated.event_type} has no {', '.join(alien)} to amend",
            subject,
        )
    new_date = command.fact_occurred_on or stated.facts["occurred_on"]
    new_facts = stated.facts | changes | {"occurred_on": new_date}
    if new_facts == stated.facts:
        raise _refuse("NOTHING_AMENDED", "the amendment states the fact as it stands", subject)
    try:
        checked = model.model_validate(new_facts)
    except ValidationError as error:
        raise InvalidCommand(
            [
                FieldViolation(f"amended.{'.'.join(map(str, p['loc']))}", p["msg"])
                for p in error.errors()
            ]
        ) from None
    values = checked.model_dump(mode="python")
    record(
        aggregate.FactAmended,
        common
        | {
            "fact_occurred_on": new_date,
            "amended": {name: _plain(values.get(name)) for name in amendable},
        },
    )


def _amendable(model: type[BaseModel], command: AmendFact) -> list[str]:
    """The amendable fields (those of the service's amended-fields model) the fact has."""
    fields_model = type(command).model_fields["amended"].annotation
    names: set[str] = set()
    for candidate in getattr(fields_model, "__args__", (fields_model,)):
        if isinstance(candidate, type) and issubclass(candidate, AmendedFields):
            names |= set(candidate.model_fields)
    return sorted(names & set(model.model_fields))


def _plain(value: Any) -> Any:
    """A category as its plain value, as the domain holds it."""
    return getattr(value, "value", value)
