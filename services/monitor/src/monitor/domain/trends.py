"""Is it getting shorter? The Kaplan–Meier median per year of the interval's start, with its
95% confidence interval (trend per jaar).

Each year's units are those whose interval starts in it (for an interval from the report, T2,
that is the report year; for T0→T2 the year of the signal, since every unit with a report year
has already reached T2). The median and its interval come from lifelines' Kaplan–Meier fit over
the year's units, open ones censored as in `leadtimes`: the interval's bounds are where the
pointwise 95% band (lifelines' exponential Greenwood band) crosses one half, None where it never
does (the upper bound of a curve that stays above one half). A year of fewer than
`min_group_size` distinct cases, or of fewer than `min_group_size` closed cases, is withheld
(`small_group`): the curve's steps are the closed cases' durations (ADR 0036).

`survival_curves` gives the whole curve per group (per start year, per cohort) with its band,
for the dashboard's survival chart and the table beside it, on a weekly grid: the exact fitted
steps (one at each closed case's duration) stay internal, so that differencing the curves of two
groupings tells at most the week of a withheld group's case, not its day (ADR 0036).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from .leadtimes import (
    DEFAULT_MIN_GROUP_SIZE,
    Interval,
    Observation,
    Status,
    observe,
)
from .projection import ChainView


@dataclass(frozen=True, slots=True)
class YearMedian:
    year: int
    units: int
    cases: int
    closed: int
    km_median_days: float | None
    lower_days: float | None
    upper_days: float | None
    small_group: bool


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _median_with_interval(
    observations: list[Observation],
) -> tuple[float | None, float | None, float | None]:
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times  # type: ignore[import-untyped]

    fitted = KaplanMeierFitter().fit(
        [o.days for o in observations], event_observed=[o.observed for o in observations]
    )
    median = _finite(float(fitted.median_survival_time_))
    band = median_survival_times(fitted.confidence_interval_)
    lower, upper = (float(v) for v in band.iloc[0])
    return median, _finite(lower), _finite(upper)


def _case_key(o: Observation) -> str:
    return o.unit.case_id if o.unit.case_id is not None else f"victim:{o.unit.victim_id}"


def _withheld(observations: list[Observation], cases: int, min_group_size: int) -> bool:
    """The small-group rule for a Kaplan–Meier figure (ADR 0036): fewer than the threshold
    cases, or fewer than the threshold *closed* cases. The curve's steps are the closed cases'
    durations, one step each: a curve (or a median read off it) of a group whose closed part
    the lead-time table withholds (`few_closed`) would give those durations back."""
    closed = len({_case_key(o) for o in observations if o.observed})
    return cases < min_group_size or closed < min_group_size


def median_by_year(
    view: ChainView, interval: Interval, *, min_group_size: int = DEFAULT_MIN_GROUP_SIZE
) -> list[YearMedian]:
    """One row per year in which a unit started the interval, oldest first."""
    as_of = view.as_of.on
    by_year: dict[int, list[Observation]] = defaultdict(list)
    for unit in view.units:
        observation = observe(unit, interval, as_of)
        if observation is not None and observation.status is not Status.INVERTED:
            by_year[observation.start.year].append(observation)
    rows = []
    for year in sorted(by_year):
        observations = by_year[year]
        cases = len({_case_key(o) for o in observations})
        small = _withheld(observations, cases, min_group_size)
        median = lower = upper = None
        if not small:
            median, lower, upper = _median_with_interval(observations)
        rows.append(
            YearMedian(
                year=year,
                units=len(observations),
                cases=cases,
                closed=sum(1 for o in observations if o.observed),
                km_median_days=median,
                lower_days=lower,
                upper_days=upper,
                small_group=small,
            )
        )
    return rows


SURVIVAL_DAYS: tuple[int, ...] = (90, 180, 365, 730)
"""The days at which the survival table states the share still without the end milestone."""

GRID_DAYS = 7
"""A published curve is given every this many days from its start (ADR 0036)."""


@dataclass(frozen=True, slots=True)
class SurvivalPoint:
    day: float
    survival: float
    lower: float
    upper: float


@dataclass(frozen=True, slots=True)
class SurvivalCurve:
    """The Kaplan–Meier curve of one group (share of units that have not reached the end of the
    interval yet, by days since its start) with lifelines' pointwise 95% band; and the curve at
    `SURVIVAL_DAYS`. A small group has no points.

    `points` are the step function's values on the weekly grid (day 0, 7, 14, … up to the end of
    follow-up, the last observed day rounded down to the grid) and on those of `SURVIVAL_DAYS`
    within the follow-up, not its steps: a step's day is a closed case's duration (ADR 0036)."""

    group: str
    units: int
    cases: int
    small_group: bool
    points: tuple[SurvivalPoint, ...]
    at_days: tuple[SurvivalPoint | None, ...]


def _at(points: tuple[SurvivalPoint, ...], day: int) -> SurvivalPoint | None:
    """The step function's value at `day`: the last point on or before it (None past the end
    of follow-up, where the curve is not estimated)."""
    found = None
    for point in points:
        if point.day > day:
            break
        found = point
    if found is None or (day > points[-1].day and points[-1].survival > 0):
        return None  # past the follow-up; a curve that reached zero stays there
    return SurvivalPoint(float(day), found.survival, found.lower, found.upper)


def _published(points: tuple[SurvivalPoint, ...]) -> tuple[SurvivalPoint, ...]:
    """The fitted curve on the days it is published on: the grid and the fixed days, none past
    the end of follow-up (the fitted timeline's last day, a censored or closed unit's)."""
    follow_up = points[-1].day
    days = sorted(
        {*range(0, int(follow_up) + 1, GRID_DAYS), *(d for d in SURVIVAL_DAYS if d <= follow_up)}
    )
    return tuple(p for p in (_at(points, d) for d in days) if p is not None)


def survival_curves(
    view: ChainView,
    interval: Interval,
    key: Callable[[Observation], str],
    *,
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
) -> list[SurvivalCurve]:
    """One curve per group (`key` of an observation, e.g. its start year), in the groups' order."""
    from lifelines import KaplanMeierFitter

    as_of = view.as_of.on
    groups: dict[str, list[Observation]] = defaultdict(list)
    for unit in view.units:
        observation = observe(unit, interval, as_of)
        if observation is not None and observation.status is not Status.INVERTED:
            groups[key(observation)].append(observation)
    curves = []
    for group in sorted(groups):
        observations = groups[group]
        cases = len({_case_key(o) for o in observations})
        small = _withheld(observations, cases, min_group_size)
        points: tuple[SurvivalPoint, ...] = ()  # the exact steps, not published as such
        if not small:
            fitted = KaplanMeierFitter().fit(
                [o.days for o in observations], event_observed=[o.observed for o in observations]
            )
            survival = fitted.survival_function_.iloc[:, 0]
            band = fitted.confidence_interval_
            points = tuple(
                SurvivalPoint(float(day), float(s), float(low), float(high))
                for day, s, low, high in zip(
                    survival.index, survival, band.iloc[:, 0], band.iloc[:, 1], strict=True
                )
            )
        curves.append(
            SurvivalCurve(
                group=group,
                units=len(observations),
                cases=cases,
                small_group=small,
                points=_published(points) if points else (),
                at_days=tuple(_at(points, d) for d in SURVIVAL_DAYS) if points else (),
            )
        )
    return curves


def by_start_year(observation: Observation) -> str:
    return str(observation.start.year)
