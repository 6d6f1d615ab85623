"""The questions analysts ask the monitor, answered from the live projection as of a cut-off;
and the auditors' one, the audit trail of a victim or a case.

Both APIs (gRPC and JSON over HTTP) and the exports go through here, so a figure is the same
whichever way it is asked for. Arguments arrive as text and are checked here; a bad one is an
`InvalidCommand` (gRPC INVALID_ARGUMENT, HTTP 400). The heavy work — deriving milestones,
quantiles, Kaplan–Meier — runs in a worker thread, never on the event loop that consumes.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

import orjson

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
    lead_time_table,
    linked_victims,
)
from monitor.domain.breakdowns import breakdown
from monitor.domain.dark_number import (
    CaptureTable,
    Criterion,
    DarkNumberEstimate,
    capture_tables,
    estimate_dark_number,
)
from monitor.domain.exports import residence_log_xes
from monitor.domain.ocel import event_log_ocel
from monitor.domain.residence_panel import ResidencePanel, residence_panel
from monitor.domain.rounding import published, round_days, round_share
from monitor.domain.tables import CsvDialect, Table, lead_time_rows, table_csv, unit_table
from monitor.domain.trends import (
    SurvivalCurve,
    SurvivalPoint,
    YearMedian,
    by_start_year,
    median_by_year,
    survival_curves,
)

from .workbooks import about, table_parquet, tables_xlsx

DIMENSION_NAMES: tuple[str, ...] = tuple(d.name for d in DIMENSIONS)
INTERVAL_NAMES: tuple[str, ...] = tuple(i.name for i in INTERVALS)
_DIMENSIONS = {d.name: d for d in DIMENSIONS}
_INTERVALS = {i.name: i for i in INTERVALS}
_EARLIEST_YEAR, _LATEST_YEAR = 1990, 2200


class EventLogFormat(StrEnum):
    XES = "xes"
    CSV = "csv"
    OCEL = "ocel"
    """OCEL 2.0, JSON flavour (objects victim, case, suspect)."""
    RESIDENCE_XES = "residence-xes"
    """The residence facts, an XES log of their own (one trace per victim)."""


class TableFormat(StrEnum):
    CSV = "csv"
    CSV_NL = "csv-nl"
    """`;` and a decimal comma, as Dutch spreadsheet settings expect."""
    XLSX = "xlsx"
    PARQUET = "parquet"


_TABLE_MEDIA = {
    TableFormat.CSV: ("text/csv", "csv"),
    TableFormat.CSV_NL: ("text/csv", "csv"),
    TableFormat.XLSX: ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    TableFormat.PARQUET: ("application/vnd.apache.parquet", "parquet"),
}


@dataclass(frozen=True)
class LeadTimes:
    as_of: AsOf
    min_group_size: int
    """The small-group threshold these rows were withheld by (every answer states it)."""
    rows: list[LeadTimeSummary]


@dataclass(frozen=True)
class Figures:
    as_of: AsOf
    years: list[YearFigures]
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE


@dataclass(frozen=True)
class Trend:
    """The Kaplan–Meier median per year of the interval's start, with its 95% interval."""

    as_of: AsOf
    interval: str
    min_group_size: int
    years: list[YearMedian]


@dataclass(frozen=True)
class Survival:
    """Kaplan–Meier curves per group with their 95% bands (`trends.survival_curves`)."""

    as_of: AsOf
    interval: str
    by: str
    min_group_size: int
    curves: list[SurvivalCurve]


@dataclass(frozen=True)
class Residence:
    """The residence panel (`residence_panel.residence_panel`), medians rounded by the one rule."""

    as_of: AsOf
    min_group_size: int
    panel: ResidencePanel


DARK_NUMBER_REPLICATES = 199
"""Bootstrap replicates per year: enough for a 95% percentile interval, about a second a year."""


@dataclass(frozen=True)
class YearDarkNumber:
    """One year's dark-number estimate as published: whole victims, lists' counts withheld
    below the small-group threshold, a refusal with its reason where there is no estimate."""

    year: int
    observed: int
    lists: dict[str, int | None]
    """Victims each organisation signalled that year (None: fewer than the threshold)."""
    criterion: str
    estimate: int | None
    lower: int | None
    upper: int | None
    dark: int | None
    ratio: float | None
    """Estimated total over the observed (the WODC's "three to four times")."""
    model: list[str]
    """The chosen model's two-way interactions, ``A*B``; empty: independence."""
    level: float
    replicates: int
    failed_replicates: int
    refusal: str | None
    reason: str


@dataclass(frozen=True)
class DarkNumber:
    as_of: AsOf
    criterion: str
    min_group_size: int
    years: list[YearDarkNumber]


def _whole(value: float | None) -> int | None:
    return None if value is None or value != value else math.floor(value + 0.5)


def published_dark_number(
    year: int, table: CaptureTable, estimate: DarkNumberEstimate, min_group_size: int
) -> YearDarkNumber:
    """The estimate rounded to whole victims (half up, as every published count); the lists'
    counts of fewer than ``min_group_size`` victims withheld."""
    counts = {name: table.list_count(name) for name in table.lists}
    model = estimate.model
    finite = model is not None and estimate.refusal is None
    return YearDarkNumber(
        year=year,
        observed=table.observed,
        lists={n: (c if c >= min_group_size else None) for n, c in counts.items()},
        criterion=estimate.criterion.value,
        estimate=_whole(model.total) if finite and model else None,
        lower=_whole(estimate.lower) if finite else None,
        upper=_whole(estimate.upper) if finite and estimate.upper != math.inf else None,
        dark=_whole(model.dark) if finite and model else None,
        ratio=round_share(model.total / table.observed) if finite and model else None,
        model=[f"{a}*{b}" for a, b in model.interactions] if finite and model else [],
        level=estimate.level,
        replicates=estimate.replicates,
        failed_replicates=estimate.failed_replicates,
        refusal=None if estimate.refusal is None else estimate.refusal.value,
        reason=estimate.reason,
    )


START_YEAR = "start_year"
"""The survival curves' default grouping: the year the interval started."""


def _point(point: SurvivalPoint | None) -> SurvivalPoint | None:
    if point is None:
        return None
    return SurvivalPoint(
        point.day,
        *(round_share(v) or 0.0 for v in (point.survival, point.lower, point.upper)),
    )


@dataclass(frozen=True)
class Export:
    media_type: str
    filename: str
    content: str | bytes

    @property
    def data(self) -> bytes:
        return self.content.encode() if isinstance(self.content, str) else self.content


DEFAULT_MIN_GROUP_SIZE_FLOOR = 5


class MonitorQueries:
    """`min_group_size` is the published small-group threshold; an analyst may ask for a lower
    one per request (internal work), never below `min_group_size_floor` (configuration; a
    floor above the threshold is the threshold)."""

    def __init__(
        self,
        live: LiveProjection,
        clock: Clock,
        *,
        min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
        min_group_size_floor: int = DEFAULT_MIN_GROUP_SIZE_FLOOR,
    ) -> None:
        self.live = live
        self.clock = clock
        self.min_group_size = min_group_size
        self.min_group_size_floor = min(min_group_size_floor, min_group_size)

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

    @classmethod
    def dimensions(cls, by: str) -> list[Dimension]:
        """One dimension, or two joined by a comma (``cohort,minor``); empty: none."""
        names = [n.strip() for n in by.split(",")] if by.strip() else []
        if len(names) > 2 or len(set(names)) != len(names):
            raise InvalidCommand.of("by", "one dimension, or two different ones joined by ','")
        found = [cls.dimension(n) for n in names]
        return [d for d in found if d is not None]

    def group_size(self, requested: int | None = None) -> int:
        """The small-group threshold of one answer: the published one unless an analyst asks
        for another, which may not lie below the configured floor."""
        if requested is None or requested == 0:
            return self.min_group_size
        if requested < self.min_group_size_floor:
            raise InvalidCommand.of(
                "min_group_size",
                f"at least {self.min_group_size_floor} (the floor set in configuration)",
            )
        return requested

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
        self,
        as_of: AsOf,
        by: str = "",
        intervals: Sequence[str] = (),
        *,
        min_group_size: int | None = None,
    ) -> LeadTimes:
        """Rows as published (`rounding.published`); a breakdown has its overall rows beside it
        and is withheld complementarily (`monitor.domain.breakdowns`)."""
        dimensions = self.dimensions(by)
        chosen = self.intervals(intervals)
        size = self.group_size(min_group_size)
        view = await self.live.view(as_of)

        def compute() -> list[LeadTimeSummary]:
            if not dimensions:
                rows = lead_time_table(view, chosen, min_group_size=size)
            else:
                rows = [
                    row
                    for interval in chosen
                    for row in breakdown(view, interval, dimensions, min_group_size=size)
                ]
            return [published(row) for row in rows]

        return LeadTimes(as_of, size, await asyncio.to_thread(compute))

    async def figures(
        self, as_of: AsOf, years: Sequence[int] = (), *, min_group_size: int | None = None
    ) -> Figures:
        chosen = self.years(years)
        size = self.group_size(min_group_size)
        view = await self.live.view(as_of)
        rows = await asyncio.to_thread(chain_figures, view, chosen, min_group_size=size)
        return Figures(as_of, [published(row) for row in rows], size)

    async def dark_number(
        self,
        as_of: AsOf,
        years: Sequence[int] = (),
        criterion: str = "",
        *,
        min_group_size: int | None = None,
        replicates: int = DARK_NUMBER_REPLICATES,
    ) -> DarkNumber:
        """The dark number per year by multiple systems estimation (`domain.dark_number`). The
        bootstrap is seeded by the year, so the same facts give the same interval every time."""
        try:
            chosen_criterion = Criterion(criterion.upper() or Criterion.AIC.value)
        except ValueError:
            raise InvalidCommand.of("criterion", "AIC or BIC") from None
        chosen = self.years(years)
        size = self.group_size(min_group_size)
        view = await self.live.view(as_of)

        def compute() -> list[YearDarkNumber]:
            tables = capture_tables(view, chosen)
            return [
                published_dark_number(
                    year,
                    table,
                    estimate_dark_number(
                        table,
                        criterion=chosen_criterion,
                        replicates=replicates,
                        seed=year,
                        min_observed=size,
                    ),
                    size,
                )
                for year, table in tables.items()
            ]

        return DarkNumber(as_of, chosen_criterion.value, size, await asyncio.to_thread(compute))

    async def trend(
        self, as_of: AsOf, interval: str = "", *, min_group_size: int | None = None
    ) -> Trend:
        """Is it getting shorter: `trends.median_by_year`, rounded by the one rule."""
        (chosen,) = self.intervals([interval or "T2-T3"])
        size = self.group_size(min_group_size)
        view = await self.live.view(as_of)
        rows = await asyncio.to_thread(median_by_year, view, chosen, min_group_size=size)
        published_rows = [
            replace(
                r,
                km_median_days=round_days(r.km_median_days),
                lower_days=round_days(r.lower_days),
                upper_days=round_days(r.upper_days),
            )
            for r in rows
        ]
        return Trend(as_of, chosen.name, size, published_rows)

    async def survival(
        self,
        as_of: AsOf,
        interval: str = "",
        by: str = "",
        *,
        min_group_size: int | None = None,
    ) -> Survival:
        """Curves per start year (default) or per group of one dimension; shares rounded by
        the one rule."""
        (chosen,) = self.intervals([interval or "T2-T3"])
        name = by or START_YEAR
        dimension = None if name == START_YEAR else self.dimension(name)
        size = self.group_size(min_group_size)
        view = await self.live.view(as_of)

        def compute() -> list[SurvivalCurve]:
            key = by_start_year if dimension is None else (lambda o: dimension.key(o.unit))
            curves = survival_curves(view, chosen, key, min_group_size=size)
            return [
                replace(
                    c,
                    points=tuple(p for p in map(_point, c.points) if p is not None),
                    at_days=tuple(_point(p) for p in c.at_days),
                )
                for c in curves
            ]

        return Survival(as_of, chosen.name, name, size, await asyncio.to_thread(compute))

    async def residence(self, as_of: AsOf, *, min_group_size: int | None = None) -> Residence:
        """Triggers by kind per year, days to the IND's decision, indications still open."""
        size = self.group_size(min_group_size)
        view = await self.live.view(as_of)
        panel = await asyncio.to_thread(residence_panel, view, min_group_size=size)
        rounded = ResidencePanel(
            tuple(
                replace(r, median_days_to_decision=round_days(r.median_days_to_decision))
                for r in panel.rows
            ),
            tuple(
                replace(o, median_age_days=round_days(o.median_age_days))
                for o in panel.open_indications
            ),
        )
        return Residence(as_of, size, rounded)

    # Exports

    async def lead_times_export(
        self,
        as_of: AsOf,
        by: str = "",
        intervals: Sequence[str] = (),
        form: TableFormat = TableFormat.CSV,
        *,
        min_group_size: int | None = None,
    ) -> Export:
        table = await self.lead_times(as_of, by, intervals, min_group_size=min_group_size)
        suffix = f"-by-{by.replace(':', '-').replace(',', '-')}" if by else ""
        return await self._table_export(
            lead_time_rows(table.rows), f"lead-times{suffix}", as_of, form, table.min_group_size
        )

    async def units_export(
        self, as_of: AsOf, form: TableFormat = TableFormat.CSV, *, pseudonymise: bool = False
    ) -> Export:
        """The per-victim-and-case table of milestones and durations (`tables.unit_table`)."""
        view = await self.live.view(as_of)
        table = await asyncio.to_thread(unit_table, view, pseudonymise=pseudonymise)
        return await self._table_export(table, "units", as_of, form, None)

    @staticmethod
    async def _table_export(
        table: Table, stem: str, as_of: AsOf, form: TableFormat, min_group_size: int | None
    ) -> Export:
        media_type, suffix = _TABLE_MEDIA[form]
        filename = f"{stem}-{as_of.on.isoformat()}.{suffix}"
        notes = about(as_of.on, as_of.known_by.isoformat(), min_group_size)
        content: str | bytes
        if form is TableFormat.XLSX:
            content = await asyncio.to_thread(tables_xlsx, [table], notes)
        elif form is TableFormat.PARQUET:
            metadata = [(k, str(v)) for k, v in notes]
            content = await asyncio.to_thread(table_parquet, table, metadata)
        else:
            dialect = CsvDialect.DUTCH if form is TableFormat.CSV_NL else CsvDialect.STANDARD
            content = table_csv(table, dialect)
        return Export(media_type, filename, content)

    async def figures_export(
        self,
        as_of: AsOf,
        years: Sequence[int] = (),
        *,
        min_group_size: int | None = None,
        dialect: CsvDialect = CsvDialect.STANDARD,
    ) -> Export:
        figures = await self.figures(as_of, years, min_group_size=min_group_size)
        return Export(
            "text/csv",
            f"chain-figures-{as_of.on.isoformat()}.csv",
            figures_csv(figures.years, dialect),
        )

    async def event_log(
        self, as_of: AsOf, form: EventLogFormat, *, pseudonymise: bool = False
    ) -> Export:
        view = await self.live.view(as_of)
        stamp = as_of.on.isoformat()
        if form is EventLogFormat.XES:
            text = await asyncio.to_thread(event_log_xes, view, pseudonymise=pseudonymise)
            return Export("application/xml", f"event-log-{stamp}.xes", text)
        if form is EventLogFormat.RESIDENCE_XES:
            text = await asyncio.to_thread(residence_log_xes, view, pseudonymise=pseudonymise)
            return Export("application/xml", f"residence-log-{stamp}.xes", text)
        if form is EventLogFormat.OCEL:
            document = await asyncio.to_thread(event_log_ocel, view, pseudonymise=pseudonymise)
            return Export("application/json", f"event-log-{stamp}.jsonocel", orjson.dumps(document))
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
