"""Typed tables for analysts' tools: the per-victim-and-case table, the lead-time table, and CSV.

A `Table` has typed columns, so that each writer (CSV here; XLSX and Parquet in
`monitor.application.workbooks`) writes a number as a number and a date as a date. Figures are
rounded once, by `rounding.published`, before they enter a table.

The units table (tabel per slachtoffer en zaak) has one row per unit (one victim in one case, or
a report-less signal episode): its pseudonyms, categories, the dates of the milestones T0–T8 and,
per interval, the days from start to end (closed) or to the censoring date with the state
(open, out of sight, ended, inverted) — what a survival analysis in R or Python needs. Days
between two dates are whole numbers; nothing in it is rounded.

CSV comes in two dialects: the standard one (`,` between fields, `.` in decimals) and the Dutch
spreadsheet one (`;` between fields, `,` in decimals), which Excel and LibreOffice with Dutch
regional settings open without an import dialog.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from .facts import Milestone
from .leadtimes import AGE_BANDS, INTERVALS, LeadTimeSummary, observe
from .projection import CaseVictimUnit, ChainView
from .rounding import DAY_DIGITS, SHARE_DIGITS, published

Cell = str | int | float | bool | date | None


class ColumnType(StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    DATE = "date"


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: ColumnType
    digits: int = 0
    """Decimals written for a DECIMAL column (the rounding rule's, `rounding`)."""


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


class CsvDialect(StrEnum):
    STANDARD = "standard"
    """`,` between fields, `.` as the decimal separator (RFC 4180)."""
    DUTCH = "nl"
    """`;` between fields, `,` as the decimal separator (Dutch spreadsheet settings)."""


def _text(value: Cell, column: Column, decimal_comma: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        text = f"{value:.{column.digits}f}"
        return text.replace(".", ",") if decimal_comma else text
    return str(value)


def table_csv(table: Table, dialect: CsvDialect = CsvDialect.STANDARD) -> str:
    out = io.StringIO()
    dutch = dialect is CsvDialect.DUTCH
    writer = csv.writer(out, delimiter=";" if dutch else ",", lineterminator="\n")
    writer.writerow(table.column_names)
    for row in table.rows:
        writer.writerow(_text(v, c, dutch) for v, c in zip(row, table.columns, strict=True))
    return out.getvalue()


# The lead-time table


def _decimal(name: str, digits: int = DAY_DIGITS) -> Column:
    return Column(name, ColumnType.DECIMAL, digits)


def _integer(name: str) -> Column:
    return Column(name, ColumnType.INTEGER)


LEAD_TIME_COLUMNS: tuple[Column, ...] = (
    Column("interval", ColumnType.TEXT),
    Column("dimension", ColumnType.TEXT),
    Column("group", ColumnType.TEXT),
    *(
        _integer(n)
        for n in ("units", "cases", "closed", "open", "out_of_sight", "ended", "inverted")
    ),
    *(_decimal(n) for n in ("median_days", "q1_days", "q3_days", "p90_days", "mean_days")),
    _integer("norm_months"),
    _integer("within_norm"),
    _decimal("share_within_norm", SHARE_DIGITS),
    _decimal("km_median_days"),
    _decimal("km_share_within_norm", SHARE_DIGITS),
    _decimal("open_median_age_days"),
    _integer("open_max_age_days"),
    *(_integer(f"open_age_{band}") for band in AGE_BANDS),
    Column("small_group", ColumnType.BOOLEAN),
    Column("few_closed", ColumnType.BOOLEAN),
)


def lead_time_rows(rows: Iterable[LeadTimeSummary]) -> Table:
    """The lead-time table as published (rounded; withheld figures are empty cells)."""
    cells: list[tuple[Cell, ...]] = []
    for raw in rows:
        row = published(raw)
        ages = row.open_ages
        cells.append(
            (
                row.interval,
                row.dimension,
                row.group,
                row.units,
                row.cases,
                row.closed,
                row.open,
                row.out_of_sight,
                row.ended,
                row.inverted,
                row.median_days,
                row.q1_days,
                row.q3_days,
                row.p90_days,
                row.mean_days,
                row.norm_months,
                row.within_norm,
                row.share_within_norm,
                row.km_median_days,
                row.km_share_within_norm,
                ages.median_days if ages else None,
                ages.max_days if ages else None,
                *(ages.by_band[band] if ages else None for band in AGE_BANDS),
                row.small_group,
                row.few_closed,
            )
        )
    return Table("lead_times", LEAD_TIME_COLUMNS, tuple(cells))


# The units table

UNIT_COLUMNS: tuple[Column, ...] = (
    Column("case_id", ColumnType.TEXT),
    Column("victim_id", ColumnType.TEXT),
    Column("cohort", ColumnType.TEXT),
    Column("form", ColumnType.TEXT),
    Column("minor", ColumnType.BOOLEAN),
    Column("nationality_group", ColumnType.TEXT),
    Column("residence_position", ColumnType.TEXT),
    Column("region", ColumnType.TEXT),
    _integer("report_year"),
    Column("interventions", ColumnType.TEXT),
    *(Column(m.value, ColumnType.DATE) for m in Milestone),
    *(
        column
        for interval in INTERVALS
        for column in (
            _integer(f"{interval.name}_days"),
            Column(f"{interval.name}_status", ColumnType.TEXT),
        )
    ),
)


def _unit_row(
    unit: CaseVictimUnit, as_of: date, pseudonyms: tuple[str | None, str]
) -> tuple[Cell, ...]:
    durations: list[Cell] = []
    for interval in INTERVALS:
        observation = observe(unit, interval, as_of)
        durations += (
            [None, None] if observation is None else [observation.days, observation.status.value]
        )
    profile = unit.profile
    return (
        *pseudonyms,
        unit.cohort,
        profile.form,
        profile.minor,
        profile.nationality_group,
        profile.residence_position,
        profile.region,
        unit.report_year,
        "+".join(sorted(unit.interventions)) or None,
        *(unit.at(m) for m in Milestone),
        *durations,
    )


def unit_table(view: ChainView, *, pseudonymise: bool = False) -> Table:
    """One row per unit (see the module docstring), in the view's unit order; with
    `pseudonymise`, case and victim pseudonyms are replaced by sequence numbers (``c000001``,
    ``v000001``, the same number for the same pseudonym)."""
    as_of = view.as_of.on
    numbers: dict[str, dict[str, str]] = {"c": {}, "v": {}}

    def number(kind: str, value: str) -> str:
        given = numbers[kind]
        return given.setdefault(value, f"{kind}{len(given) + 1:06d}")

    rows = []
    for unit in view.units:
        pseudonyms: tuple[str | None, str] = (unit.case_id, unit.victim_id)
        if pseudonymise:
            pseudonyms = (
                number("c", unit.case_id) if unit.case_id is not None else None,
                number("v", unit.victim_id),
            )
        rows.append(_unit_row(unit, as_of, pseudonyms))
    return Table("units", UNIT_COLUMNS, tuple(rows))


def column_values(table: Table, name: str) -> Sequence[Cell]:
    index = table.column_names.index(name)
    return [row[index] for row in table.rows]
