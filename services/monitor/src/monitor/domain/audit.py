"""The audit trail of one victim or one case (verantwoording): what was registered, what was
corrected, by whom and when (docs/domain.md#audit). Pure: no I/O.

Every event the monitor holds is an entry, with the provenance its envelope carried (the
organisation that stated it and the system it came through), its business date and when its
service recorded it. A correction (`FactAnnulled`, `FactAmended`) is an entry of its own that
says what it corrects, how and why; the entries it touched say they were annulled or amended,
and by which event. Nothing is left out because a correction voided it: that is the point of an
audit. Only pseudonyms, categories and dates: the records hold nothing else
(`projection.to_record` keeps no free text).

What belongs to whom:

- a victim's trail: every event that names the victim (whatever its service, residence's
  triggers and the IND's decisions included), and every correction of those;
- a case's trail: every event that names the case (the police's and the OM's steps, the reports
  and hearings of its victims, the suspects' proceedings, permits granted on it), the events of
  the case's victims that name no case at all (their signals, interviews, reflection periods),
  and every correction of those. The case's victims are those a linking event ties to it (a
  report, a cooperation, a hearing, a presence assessment: as for the lead times). A victim's
  events about *another* case are that case's, not this one's.

A correction belongs where its fact belongs (by `original_event_id`). One whose fact the
monitor does not hold (it has not arrived) belongs to the trail its own subject key names.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from .facts import from_micros
from .projection import (
    AMENDED_PREFIX,
    CORRECTION_EVENTS,
    FACT_ANNULLED,
    FACT_OCCURRED,
    LINKING_EVENTS,
    FactRecord,
)


class CorrectionKind(StrEnum):
    ANNUL = "ANNUL"  # nietig
    AMEND = "AMEND"  # herstel


@dataclass(frozen=True, slots=True)
class AuditCorrection:
    """What a correction entry says: the event it names, how, why, and the fact's new form."""

    kind: CorrectionKind
    corrected_event_id: str
    original_event_id: str
    corrected_event_type: str
    reason: str
    fact_occurred_on: date | None
    """Annulled: the fact's date as it stood; amended: its corrected date."""
    amended: tuple[tuple[str, str], ...] = ()
    """An amendment's fields in their new form, as (field, value as text), by field name."""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    event_id: str
    service: str
    event_type: str
    occurred_on: date
    recorded_at: datetime
    organisation: str
    system: str
    victim_id: str | None
    case_id: str | None
    suspect_id: str | None
    correction: AuditCorrection | None = None
    annulled_by: str | None = None
    """Of a fact: the annulment that voided it."""
    amended_by: tuple[str, ...] = ()
    """Of a fact: its amendments, oldest first (the last gives its form)."""
    corrected_by: tuple[str, ...] = ()
    """The corrections that name this very event (a fact, or an amendment corrected again)."""


@dataclass(frozen=True, slots=True)
class AuditTrail:
    victim_id: str | None
    case_id: str | None
    victim_ids: tuple[str, ...]
    """Of a case: its victims, as the monitor knows them."""
    entries: tuple[AuditEntry, ...]
    """In the order their services recorded them."""


def linked_victims(records: Iterable[FactRecord], case_id: str) -> tuple[str, ...]:
    """The victims a linking event ties to ``case_id`` (an annulled link still counts: the
    audit shows what was registered)."""
    return tuple(
        sorted(
            {
                r.victim_id
                for r in records
                if r.case_id == case_id and r.victim_id and r.event_type in LINKING_EVENTS
            }
        )
    )


def _text(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _correction(record: FactRecord) -> AuditCorrection:
    attrs = record.attrs or {}
    occurred = attrs.get(FACT_OCCURRED)
    return AuditCorrection(
        kind=CorrectionKind.ANNUL if record.event_type == FACT_ANNULLED else CorrectionKind.AMEND,
        corrected_event_id=str(attrs.get("corrected_event_id", "")),
        original_event_id=str(attrs.get("original_event_id", "")),
        corrected_event_type=str(attrs.get("corrected_event_type", "")),
        reason=str(attrs.get("correction_reason", "")),
        fact_occurred_on=date.fromordinal(occurred)
        if isinstance(occurred, int) and not isinstance(occurred, bool)
        else None,
        amended=tuple(
            sorted(
                (name.removeprefix(AMENDED_PREFIX), _text(value))
                for name, value in attrs.items()
                if name.startswith(AMENDED_PREFIX)
            )
        ),
    )


def audit_trail(
    records: Iterable[FactRecord],
    *,
    victim_id: str | None = None,
    case_id: str | None = None,
    victims: Sequence[str] = (),
) -> AuditTrail:
    """The trail of ``victim_id``, or of ``case_id`` and its ``victims`` (`linked_victims`),
    from records that hold at least every event of the subject and every correction."""
    if (victim_id is None) == (case_id is None):
        raise ValueError("an audit trail is of one victim or one case")
    linked = frozenset(victims)

    def keyed(r: FactRecord) -> bool:
        if victim_id is not None:
            return r.victim_id == victim_id
        return r.case_id == case_id or (r.case_id is None and r.victim_id in linked)

    facts: dict[str, FactRecord] = {}
    corrections: list[FactRecord] = []
    for r in records:
        if r.event_type in CORRECTION_EVENTS:
            corrections.append(r)
        else:
            facts[r.event_id] = r
    chosen = {event_id: r for event_id, r in facts.items() if keyed(r)}
    own_corrections = [
        c
        for c in corrections
        if (original := str(c.attr("original_event_id"))) in chosen
        or (original not in facts and keyed(c))
    ]
    # The order their services stored them: the latest amendment is the last.
    own_corrections.sort(key=lambda c: (c.recorded, c.occurred, c.event_id))
    by_original: dict[str, list[FactRecord]] = defaultdict(list)
    by_corrected: dict[str, list[str]] = defaultdict(list)
    for c in own_corrections:
        by_original[str(c.attr("original_event_id"))].append(c)
        by_corrected[str(c.attr("corrected_event_id"))].append(c.event_id)

    def entry(r: FactRecord) -> AuditEntry:
        annulled_by: str | None = None
        amended_by: tuple[str, ...] = ()
        if r.event_type not in CORRECTION_EVENTS:
            # As the views apply them: a correction of this service's fact of this type.
            chain = [
                c
                for c in by_original.get(r.event_id, ())
                if c.service == r.service and c.attr("corrected_event_type") == r.event_type
            ]
            annulled_by = next((c.event_id for c in chain if c.event_type == FACT_ANNULLED), None)
            amended_by = tuple(c.event_id for c in chain if c.event_type != FACT_ANNULLED)
        return AuditEntry(
            event_id=r.event_id,
            service=r.service,
            event_type=r.event_type,
            occurred_on=r.occurred_on,
            recorded_at=from_micros(r.recorded),
            organisation=r.organisation,
            system=r.system,
            victim_id=r.victim_id,
            case_id=r.case_id,
            suspect_id=r.suspect_id,
            correction=_correction(r) if r.event_type in CORRECTION_EVENTS else None,
            annulled_by=annulled_by,
            amended_by=amended_by,
            corrected_by=tuple(by_corrected.get(r.event_id, ())),
        )

    entries = sorted(
        (entry(r) for r in [*chosen.values(), *own_corrections]),
        key=lambda e: (e.recorded_at, e.event_id),
    )
    return AuditTrail(
        victim_id=victim_id,
        case_id=case_id,
        victim_ids=tuple(sorted(linked)) if case_id is not None else (),
        entries=tuple(entries),
    )
