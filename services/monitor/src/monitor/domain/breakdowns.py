"""Breakdowns by one or two dimensions with the overall rows beside them, and complementary
withholding (secundaire onderdrukking) so that no withheld figure can be computed back.

A breakdown by one dimension has a row per group and the overall row (group ``all``). By two
(e.g. cohort × minor) it has a row per combination that occurs, a row per group of each
dimension over all of the other (``pilot-2020,all``, ``all,yes``), and the overall row
(``all,all``); the dimension of every row is the two names joined by a comma.

The small-group rule of `leadtimes.summarise` withholds a group's figures (primary
withholding). The closed-case figures that add up — the count within the norm, and the mean
times the closed count, which stays visible — would let a reader compute a group's withheld
figure from the overall row and the other groups when it is the only one withheld in a line
(a row or a column of the table, with its total). So in every line where exactly one cell has
its closed-case figures withheld, a second one is withheld too: the one with the fewest closed
units (then cases, then name) other than the line's total, or the total when nothing else is
left. A cell without closed units hides nothing and protects nothing, so it counts neither way.
The second one is marked `complementary`; when none of its units is censored its
Kaplan–Meier figures are its closed-case figures (share times closed count = count within the
norm), so they are withheld with them. This repeats until every line has none or at least
two withheld, since a complementary cell can leave another line with exactly one.

Counts (units, cases, closed, open, …) stay visible, as in every published table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace
from itertools import product

from .leadtimes import (
    DEFAULT_MIN_GROUP_SIZE,
    Dimension,
    Interval,
    LeadTimeSummary,
    Observation,
    observe,
    summarise,
)
from .projection import CaseVictimUnit, ChainView

ALL = "all"
"""The group of a row over every group of its dimension (the overall row: every part ALL)."""

Cell = tuple[str, ...]


def _withheld(row: LeadTimeSummary) -> bool:
    """Withheld closed-case figures that need protecting: a cell without closed units hides
    nothing (its sum is zero, its count visible)."""
    return row.closed > 0 and (row.few_closed or row.complementary)


def _complement(row: LeadTimeSummary) -> LeadTimeSummary:
    # With no unit censored the Kaplan–Meier figures are the closed-case ones (the share times
    # the closed count is the count within the norm): withheld with them, as in `summarise`.
    uncensored = row.open + row.out_of_sight + row.ended == 0
    return replace(
        row,
        km_median_days=None if uncensored else row.km_median_days,
        km_share_within_norm=None if uncensored else row.km_share_within_norm,
        median_days=None,
        q1_days=None,
        q3_days=None,
        p90_days=None,
        mean_days=None,
        within_norm=None,
        share_within_norm=None,
        complementary=True,
    )


def _lines(cells: Sequence[Cell], width: int) -> list[tuple[int, list[Cell]]]:
    """Every line of the table: the cells that differ in one part only (its position), with
    their total (ALL there) — for one dimension, the one line of all groups and the overall row."""
    lines: dict[tuple[int, Cell], list[Cell]] = defaultdict(list)
    for cell in cells:
        for position in range(width):
            rest = cell[:position] + cell[position + 1 :]
            lines[(position, rest)].append(cell)
    return [(position, line) for (position, _), line in lines.items() if len(line) > 1]


def complementary_withholding(rows: dict[Cell, LeadTimeSummary], width: int) -> None:
    """Withhold (in place) until no line has exactly one withheld cell (module docstring)."""
    lines = _lines(list(rows), width)
    changed = True
    while changed:
        changed = False
        for position, line in lines:
            withheld = [c for c in line if _withheld(rows[c])]
            if len(withheld) != 1:
                continue
            candidates = [c for c in line if rows[c].closed > 0 and not _withheld(rows[c])]
            inner = [c for c in candidates if c[position] != ALL] or candidates
            chosen = min(inner, key=lambda c: (rows[c].closed, rows[c].cases, c))
            rows[chosen] = _complement(rows[chosen])
            changed = True


def _order(cell: Cell) -> tuple[tuple[bool, str], ...]:
    return tuple((part == ALL, part) for part in cell)


def breakdown(
    view: ChainView,
    interval: Interval,
    dimensions: Sequence[Dimension],
    *,
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
    where: Callable[[CaseVictimUnit], bool] | None = None,
) -> list[LeadTimeSummary]:
    """The rows of a breakdown by one or two dimensions with their overall rows, withheld
    complementarily (see the module docstring); totals sort after the groups."""
    if not 1 <= len(dimensions) <= 2:
        raise ValueError("a breakdown is by one or two dimensions")
    as_of = view.as_of.on
    by_cell: dict[Cell, list[Observation]] = defaultdict(list)
    for unit in view.units:
        if where is not None and not where(unit):
            continue
        observation = observe(unit, interval, as_of)
        if observation is None:
            continue
        keys = [d.key(unit) for d in dimensions]
        for cell in product(*((key, ALL) for key in keys)):
            by_cell[cell].append(observation)
    name = ",".join(d.name for d in dimensions)
    rows = {
        cell: summarise(
            observations,
            interval,
            as_of=as_of,
            min_group_size=min_group_size,
            dimension=name,
            group=",".join(cell),
        )
        for cell, observations in by_cell.items()
    }
    complementary_withholding(rows, len(dimensions))
    return [rows[cell] for cell in sorted(rows, key=_order)]
