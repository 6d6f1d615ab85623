"""What the monitor receives from the bus, the as-of cut-off, and the milestones it derives.

A `ChainFact` is one event of any service as the monitor sees it (ketenfeit). The payload is the
JSON of the contract model; the domain reads only the categorical fields it needs from it and
never keeps free text (docs/domain.md#identifiers).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class ChainFact:
    """One event of the chain (ketenfeit), as delivered to the monitor.

    `occurred_on` is the business date the source states; `recorded_at` is when the source
    service stored the event (UTC). Lead times use `occurred_on`; the as-of cut-off uses both.
    `organisation` and `system` are the envelope's provenance: who stated the fact, through
    which system (for the audit trail; "" where not known).
    """

    event_id: str
    service: str
    event_type: str
    occurred_on: date
    recorded_at: datetime
    payload: Mapping[str, Any]
    organisation: str = ""
    system: str = ""


class Milestone(StrEnum):
    """Milestones per case and victim (mijlpalen, docs/domain.md#lead-times)."""

    T0 = "T0"  # signal (signaal/melding)
    T1 = "T1"  # informative interview (informatief gesprek)
    T2 = "T2"  # report or cooperation (aangifte / medewerking)
    T3 = "T3"  # first OM registration of any suspect (inschrijving OM)
    T4 = "T4"  # examining-magistrate hearing of this victim (verhoor rechter-commissaris)
    T5 = "T5"  # first OM decision: summons or dismissal (dagvaarding / sepot)
    T6 = "T6"  # first first-instance court hearing (eerste zitting)
    T7 = "T7"  # first first-instance verdict (vonnis eerste aanleg)
    T8 = "T8"  # first suspect's case final (onherroepelijk)


@dataclass(frozen=True, slots=True)
class AsOf:
    """A cut-off (peildatum): facts that occurred on or before `on` and were known by `known_by`.

    Reproducing a published table needs both halves: a late registration of an old fact has an
    early `occurred_on` but a late `recorded_at`, and must not change a table already published.
    """

    on: date
    known_by: datetime

    @classmethod
    def of(cls, on: date, known_by: datetime | None = None) -> AsOf:
        """As of the end of day `on` in the Dutch civil calendar, unless `known_by` is given.

        Business dates are Dutch calendar days (as ketenzicht_common.clock has them), so "known by
        then" ends at midnight in Amsterdam, not at midnight UTC.
        """
        if known_by is None:
            next_midnight = datetime.combine(on + timedelta(days=1), time(0), tzinfo=AMSTERDAM)
            known_by = next_midnight - _MICROSECOND
        elif known_by.tzinfo is None:
            raise ValueError("known_by must be timezone-aware")
        return cls(on=on, known_by=known_by)

    @property
    def on_ordinal(self) -> int:
        return self.on.toordinal()

    @property
    def known_by_micros(self) -> int:
        return to_micros(self.known_by)


def to_micros(instant: datetime) -> int:
    """Microseconds since the epoch; a naive instant is taken to be UTC, as the bus states."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return (instant - _EPOCH) // _MICROSECOND


def from_micros(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)
