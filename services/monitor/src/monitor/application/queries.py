"""The questions analysts ask the monitor, answered from the live projection as of a cut-off;
and the auditors' one, the audit trail of a victim or a case.

Both APIs (gRPC and JSON over HTTP) and the exports go through here, so a figure is the same
whichever way it is asked for. Arguments arrive as text and are checked here; a bad one is an
`InvalidCommand` (gRPC INVALID_ARGUMENT, HTTP 400). The heavy work — deriving milestones,
quantiles, Kaplan–Meier — runs in a worker thread, never on the event loop that consumes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from ketenzicht_common.clock import Clock
from ketenzicht_common.dates import business_date, business_instant
from ketenzicht_common.errors import InvalidCommand, NotFound
from monitor.application.live import LiveProjection
from monitor.domain import (
    DEFAULT_MIN_GROUP_SIZE,
    DIMENSIONS,
    INTERVALS,
    AsOf,
    AuditTrail,
    Dimension,
    Interval,
    LeadTimeSummary,
    YearFigures,
    audit_trail,
    chain_figures,
    event_log_csv,
    event_log_xes,
    figures_csv,
    lead_time_breakdown,
    lead_time_table,
    lead_times_csv,
    linked_victims,
)

DIMENSION_NAMES: tuple[str, ...] = tuple(d.name for d in DIMENSIONS)
INTERVAL_NAMES: tuple[str, ...] = tuple(i.name for i in INTERVALS)
_DIMENSIONS = {d.name: d for d in DIMENSIONS}
_INTERVALS = {i.name: i for i in INTERVALS}
_EARLIEST_YEAR, _LATEST_YEAR = 1990, 2200


class EventLogFormat(StrEnum):
    XES = "xes"
    CSV = "csv"


@dataclass(frozen=True)
class LeadTimes:
    as_of: AsOf
    min_group_size: int
    rows: list[LeadTimeSummary]


@dataclass(frozen=True)
class Figures:
    as_of: AsOf
    years: list[YearFigures]


@dataclass(frozen=True)
class Export:
    media_type: str
    filename: str
    content: str


class MonitorQueries:
    def __init__(
        self, live: LiveProjection, clock: Clock, *, min_group_size: int = DEFAULT_MIN_GROUP_SIZE
    ) -> None:
        self.live = live
        self.clock = clock
        self.min_group_size = min_group_size

    # Arguments

    def as_of(self, on: str = "", known_by: str = "") -> AsOf:
        """The cut-off (peildatum); an empty date is today in the Dutch civil calendar."""
        try:
            day = business_date(on) if on else self.clock.today()
        except ValueError as error:
            raise InvalidCommand.of("as_of.on", str(error)) from None
        if not known_by:
            return AsOf.of(day)
        try:
            instant = business_instant(known_by)
        except ValueError as error:
            raise InvalidCommand.of("as_of.known_by", str(error)) from None
        return AsOf.of(day, instant)

    @staticmethod
    def dimension(name: str) -> Dimension | None:
        if not name:
            return None
        found = _DIMENSIONS.get(name)
        if found is None:
            raise InvalidCommand.of("by", "one of " + ", ".join(DIMENSION_NAMES))
        return found

    @staticmethod
    def intervals(names: Sequence[str]) -> list[Interval]:
        chosen = [n.strip() for n in names if n.strip()]
        if not chosen:
            return list(INTERVALS)
        unknown = [n for n in chosen if n not in _INTERVALS]
        if unknown:
            raise InvalidCommand.of(
                "intervals", f"unknown {', '.join(unknown)}; known: {', '.join(INTERVAL_NAMES)}"
            )
        return [_INTERVALS[n] for n in chosen]

    @staticmethod
    def years(values: Sequence[int]) -> list[int] | None:
        for year in values:
            if not _EARLIEST_YEAR <= year <= _LATEST_YEAR:
                raise InvalidCommand.of("years", f"{year} is not a plausible year")
        return sorted(set(values)) or None

    # Tables

    async def lead_times(
        self, as_of: AsOf, by: str = "", intervals: Sequence[str] = ()
    ) -> LeadTimes:
        dimension = self.dimension(by)
        chosen = self.intervals(intervals)
        view = await self.live.view(as_of)
        size = self.min_group_size

        def compute() -> list[LeadTimeSummary]:
            if dimension is None:
                return lead_time_table(view, chosen, min_group_size=size)
            return [
                row
                for interval in chosen
                for row in lead_time_breakdown(view, interval, dimension, min_group_size=size)
            ]

        return LeadTimes(as_of, size, await asyncio.to_thread(compute))

    async def figures(self, as_of: AsOf, years: Sequence[int] = ()) -> Figures:
        chosen = self.years(years)
        view = await self.live.view(as_of)
        rows = await asyncio.to_thread(
            chain_figures, view, chosen, min_group_size=self.min_group_size
        )
        return Figures(as_of, rows)

    # Exports

    async def lead_times_export(
        self, as_of: AsOf, by: str = "", intervals: Sequence[str] = ()
    ) -> Export:
        table = await self.lead_times(as_of, by, intervals)
        suffix = f"-by-{by.replace(':', '-')}" if by else ""
        return Export(
            "text/csv", f"lead-times{suffix}-{as_of.on.isoformat()}.csv", lead_times_csv(table.rows)
        )

    async def figures_export(self, as_of: AsOf, years: Sequence[int] = ()) -> Export:
        figures = await self.figures(as_of, years)
        return Export(
            "text/csv", f"chain-figures-{as_of.on.isoformat()}.csv", figures_csv(figures.years)
        )

    async def event_log(
        self, as_of: AsOf, form: EventLogFormat, *, pseudonymise: bool = False
    ) -> Export:
        view = await self.live.view(as_of)
        stamp = as_of.on.isoformat()
        if form is EventLogFormat.XES:
            text = await asyncio.to_thread(event_log_xes, view, pseudonymise=pseudonymise)
            return Export("application/xml", f"event-log-{stamp}.xes", text)
        text = await asyncio.to_thread(event_log_csv, view, pseudonymise=pseudonymise)
        return Export("text/csv", f"event-log-{stamp}.csv", text)

    # The audit trail (docs/domain.md#audit)

    async def audit(
        self, *, victim_id: str | None = None, case_id: str | None = None
    ) -> AuditTrail:
        """Everything the monitor holds of one victim or one case: registered, corrected, by
        whom and when. ``NotFound`` when it holds nothing of it."""
        if victim_id is not None:
            records = await self.live.records_about(None, [victim_id])
            trail = await asyncio.to_thread(audit_trail, records, victim_id=victim_id)
        elif case_id is not None:
            records = await self.live.records_about(case_id)
            victims = linked_victims(records, case_id)
            if victims:  # their events that name no case: a second read
                records = await self.live.records_about(case_id, victims)
            trail = await asyncio.to_thread(audit_trail, records, case_id=case_id, victims=victims)
        else:
            raise InvalidCommand.of("subject", "a victim_id or a case_id")
        if not trail.entries:
            # Never echoes the id: whatever the caller sent.
            raise NotFound(
                "the monitor holds nothing about that "
                + ("victim" if victim_id is not None else "case")
            )
        return trail
