"""The base every ketenzicht aggregate and domain event builds on. Pure: no I/O.

Every domain event carries the business date it states (``occurred_on``) and its provenance:
who stated it (the authenticated organisation and system), under which client command id, and
the trace context of the call. The library's own ``timestamp`` is the recording time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar
from uuid import UUID, uuid5

import eventsourcing.domain
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


def provenance_of(event: Any) -> Provenance:
    """The provenance an event was recorded with."""
    said = event.provenance
    return Provenance(
        organisation=said.get("organisation", ""),
        system=said.get("system", ""),
        command_id=said.get("command_id", ""),
        traceparent=said.get("traceparent", ""),
    )


class ChainAggregate(BaseAggregate[UUID]):
    """An aggregate of the chain. Subclasses set ``TOPIC`` and give each event a ``TOPIC``."""

    class Event(AggregateEvent):
        occurred_on: date
        provenance: dict[str, str]

        def mutate(self, aggregate: Any) -> Any:
            mutated = super().mutate(aggregate)
            # An aggregate that follows its corrections keeps what it applied, so that a
            # correction can restate it (FollowsCorrections); others keep nothing.
            if getattr(mutated, "FOLLOWS_CORRECTIONS", False):
                mutated.__dict__.setdefault(HISTORY, []).append(_kept(self))
            return mutated

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

    def apply(self, aggregate: Any) -> None:
        if isinstance(aggregate, FollowsCorrections):
            aggregate.follow_corrections(self)


class FactAmendedEvent(ChainAggregate.Event):
    """Base of a service's ``FactAmended`` (herstel): the fact ``original_event_id`` now reads
    as dated ``fact_occurred_on`` with the categories ``amended`` (all its amendable fields)."""

    corrected_event_id: str
    original_event_id: str
    corrected_event_type: str
    correction_reason: str
    fact_occurred_on: date
    amended: dict[str, Any]

    def apply(self, aggregate: Any) -> None:
        if isinstance(aggregate, FollowsCorrections):
            aggregate.follow_corrections(self)


def event_facts(event: ChainAggregate.Event) -> dict[str, Any]:
    """The facts an event states, without the library's bookkeeping and without provenance."""
    skip = {"originator_id", "originator_version", "timestamp", "originator_topic", "provenance"}
    return {k: v for k, v in event.__dict__.items() if k not in skip}


def event_id_of(originator_id: UUID, originator_version: int) -> UUID:
    """The event id, derived from the event's place in its aggregate: the same event always
    gets the same id, so a re-publish is recognisably the same message (``Nats-Msg-Id``)."""
    return uuid5(originator_id, str(originator_version))


# -- aggregates whose state follows the corrections of their facts --------------------------

HISTORY = "_history"
"""Where a `FollowsCorrections` aggregate keeps the events it applied: ``(topic, state)`` pairs
in order (plain data, so that a snapshot of the aggregate can hold them; see `_kept`)."""

_BOOKKEEPING = frozenset(
    {"_id", "_version", "_created_on", "_modified_on", "_pending_events", HISTORY}
)

CORRECTION_CONFLICT = "CORRECTION_CONFLICTS_WITH_LATER_FACTS"


def resolve_topic(topic: str) -> Any:
    """The class of a topic, by the resolver the library's domain module uses (the domain
    stays within that module)."""
    return eventsourcing.domain.resolve_topic(topic)  # type: ignore[attr-defined]


_ORGANISATIONS: dict[str, dict[str, str]] = {}
_SKIPPED = frozenset({"originator_id", "provenance"})


def _kept(event: ChainAggregate.Event) -> tuple[str, dict[str, Any]]:
    """What a `FollowsCorrections` aggregate keeps of an event it applied: its topic and its
    state without the aggregate's id (the aggregate's own) and with its provenance cut to the
    organisation, one shared dict per organisation (the command id and trace context are
    read by no ``apply``): about half of what the events would hold (ADR 0031)."""
    organisation = event.provenance.get("organisation", "")
    shared = _ORGANISATIONS.get(organisation)
    if shared is None:
        shared = _ORGANISATIONS.setdefault(organisation, {"organisation": organisation})
    state = {k: v for k, v in event.__dict__.items() if k not in _SKIPPED}
    state["provenance"] = shared
    topic: str = getattr(type(event), "TOPIC")  # noqa: B009 - every event class sets one
    return topic, state


def _event(topic: str, state: dict[str, Any], originator_id: UUID) -> ChainAggregate.Event:
    """An event object rebuilt from what was kept of it, as the library's mapper builds a
    stored one (a new object: events are frozen)."""
    event: ChainAggregate.Event = object.__new__(resolve_topic(topic))
    object.__setattr__(event, "__dict__", {**state, "originator_id": originator_id})
    return event


@dataclass(frozen=True)
class _Correction:
    original_event_id: str
    annulled: bool
    fact_occurred_on: date
    amended: dict[str, Any]

    def apply(self, aggregate: Any) -> None:
        if isinstance(aggregate, FollowsCorrections):
            aggregate.follow_corrections(self)

    @classmethod
    def of(cls, state: dict[str, Any]) -> _Correction:
        return cls(
            str(state["original_event_id"]),
            "amended" not in state,
            state["fact_occurred_on"],
            dict(state.get("amended") or {}),
        )


def _is_correction(topic: str) -> bool:
    return issubclass(resolve_topic(topic), FactAnnulledEvent | FactAmendedEvent)


def _latest_corrections(
    history: Iterable[list[Any]], extra: Iterable[_Correction] = ()
) -> dict[str, _Correction]:
    """Original event id → the correction that gives its form: the latest amendment, or the
    annulment (final: the sources refuse a correction of an annulled fact)."""
    latest: dict[str, _Correction] = {}
    found = [_Correction.of(state) for topic, state in history if _is_correction(topic)]
    for correction in [*found, *extra]:
        standing = latest.get(correction.original_event_id)
        if standing is None or not standing.annulled:
            latest[correction.original_event_id] = correction
    return latest


@dataclass(frozen=True)
class _Standing:
    event: ChainAggregate.Event
    corrected: bool
    """The fact in its amended form, or the annulled creating fact."""
    creation_annulled: bool = False


class FollowsCorrections:
    """A mixin for an aggregate that holds facts: its state is that of its facts as they now
    stand (docs/domain.md#corrections). When a `FactAnnulledEvent` or `FactAmendedEvent`
    applies, the state is set back to its initial values (the aggregate's ``__init__``) and
    every event the aggregate applied is applied again in its order, an annulled fact left
    out and an amended one in its new form (a new event object of its class with the
    corrected date and categories). Private events (``Opened``, the sealed numbers,
    ``*Forgotten``) are applied again as they were.

    The history is plain data in the aggregate's state, so the same events give the same state
    whether the aggregate is loaded from the store, a snapshot or the cache. The creating event
    is always applied, since it gives the aggregate its identity; when it is an annulled fact,
    `creation_annulled` is called after it.

    `check_correction_fits` (for ``record_correction``) refuses a correction after which a
    fact could not have been stated as it stands: the corrected fact and every fact recorded
    after it are stated again, through their commands (`restate`), on a scratch copy.
    """

    FOLLOWS_CORRECTIONS: ClassVar[bool] = True
    CORRECTION_TOLERATES: ClassVar[frozenset[str]] = frozenset()
    """Refusal reasons of a restated fact that do not stop a correction: a rule's finding
    about a fact that did happen (e.g. R4 on an offer), not an order of facts."""

    def creation_annulled(self) -> None:
        """The aggregate's creating fact is annulled (default: nothing more to do)."""

    def restate(self, event: Any) -> bool:
        """State ``event`` again through the command that records it, checks included; False
        when it is no fact with a command here (it is then applied unchecked)."""
        return False

    def _reset(self) -> None:
        """Back to the initial state, keeping the library's bookkeeping and the history."""
        kept = {k: v for k, v in self.__dict__.items() if k in _BOOKKEEPING}
        self.__dict__.clear()
        self.__dict__.update(kept)
        type(self).__init__(self)  # type: ignore[misc]

    def _standing(self, corrections: dict[str, _Correction]) -> list[_Standing]:
        """The events applied, in order, as they now stand (corrections left out)."""
        out: list[_Standing] = []
        own_id: UUID = self.__dict__["_id"]
        for index, (topic, state) in enumerate(self.__dict__.get(HISTORY, [])):
            if _is_correction(topic):
                continue
            correction = corrections.get(str(event_id_of(own_id, state["originator_version"])))
            if correction is None:
                out.append(_Standing(_event(topic, state, own_id), False))
            elif correction.annulled:
                if index == 0:
                    event = _event(topic, state, own_id)
                    out.append(_Standing(event, True, creation_annulled=True))
            else:
                amended = {k: v for k, v in correction.amended.items() if k in state}
                new = state | amended | {"occurred_on": correction.fact_occurred_on}
                out.append(_Standing(_event(topic, new, own_id), True))
        return out

    def follow_corrections(self, current: Any) -> None:
        """Restate the state from the history with every correction, ``current`` (the one
        being applied) included. All or nothing: should a store hold a correction its facts
        cannot follow (recorded before corrections were checked against later facts), the
        state stays as it was."""
        before = dict(self.__dict__)
        corrections = _latest_corrections(
            self.__dict__.get(HISTORY, []), [_Correction.of(current.__dict__)]
        )
        try:
            self._reset()
            for standing in self._standing(corrections):
                standing.event.apply(self)
                if standing.creation_annulled:
                    self.creation_annulled()
        except Exception:
            self.__dict__.clear()
            self.__dict__.update(before)

    def check_correction_fits(self, fields: Mapping[str, Any], subject: str) -> None:
        """Refuse (FAILED_PRECONDITION ``CORRECTION_CONFLICTS_WITH_LATER_FACTS``, naming the
        type of the fact that could not stand and the reason it would be refused) a correction
        with ``fields`` after which the corrected fact, or a fact recorded after it, could not
        have been stated as it stands."""
        from .errors import AlreadyExists, PreconditionFailed

        correction = _Correction.of(dict(fields))
        history = self.__dict__.get(HISTORY, [])
        own_id: UUID = self.__dict__["_id"]
        from_version = next(
            (
                state["originator_version"]
                for _, state in history
                if str(event_id_of(own_id, state["originator_version"]))
                == correction.original_event_id
            ),
            0,
        )
        scratch = object.__new__(type(self))
        scratch.__dict__.update(
            {k: v for k, v in self.__dict__.items() if k in _BOOKKEEPING and k != HISTORY}
        )
        scratch.__dict__["_pending_events"] = []
        scratch._reset()
        for standing in self._standing(_latest_corrections(history, [correction])):
            event = standing.event
            later = event.originator_version >= from_version
            if standing.creation_annulled or isinstance(event, ChainCreated) or not later:
                event.apply(scratch)
                if standing.creation_annulled:
                    scratch.creation_annulled()
                continue
            try:
                if not scratch.restate(event):
                    event.apply(scratch)
            except (PreconditionFailed, AlreadyExists) as refusal:
                reason = getattr(refusal, "reason", "ALREADY_RECORDED")
                if reason not in self.CORRECTION_TOLERATES:
                    event_type = parse_event_topic(getattr(type(event), "TOPIC", ""))[1]
                    raise PreconditionFailed(
                        CORRECTION_CONFLICT,
                        f"after this correction the {event_type} recorded at or after the "
                        f"corrected fact could not stand ({reason}): correct it first",
                        subject=subject,
                    ) from None
                event.apply(scratch)
