"""Lead times between milestones (doorlooptijden), with open cases censored, not dropped.

Per interval a unit (one victim in one case) is in exactly one state at the as-of date:

- CLOSED: the end milestone is reached; its duration counts in the closed-case figures.
- OPEN: not reached, nothing stopped it; censored at the as-of date (its age is reported).
- OUT_OF_SIGHT: contact with the victim was lost on or after the start (slachtoffer uit zicht);
  censored on that day (docs/domain.md#lead-times). If the milestone is reached after all, the
  unit is CLOSED.
- ENDED: the chain stopped without reaching the milestone (see `projection`); censored on the
  stop date. The Kaplan–Meier figure is therefore the cause-specific one: time to the milestone
  among cases that are still running, not the share of all cases that ever reach it.
- INVERTED: the end lies before the start (e.g. a victim reporting in a case the OM already
  holds); counted, but left out of the durations.

Published figures: a group of fewer than `min_group_size` distinct cases is flagged
`small_group` and all its statistics are withheld (None); when fewer than that many cases are
closed, `few_closed` withholds the closed-case statistics. Counts stay visible.

Quantiles use linear interpolation between order statistics (numpy's default, Hyndman–Fan 7).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from ketenzicht_common.months import add_months, add_years

from .facts import Milestone
from .projection import CaseVictimUnit, ChainView

DEFAULT_MIN_GROUP_SIZE = 10


@dataclass(frozen=True, slots=True)
class Interval:
    """A lead time from one milestone to another, with its chain norm (ketennorm) if any."""

    start: Milestone
    end: Milestone
    norm_months: int | None = None
    requires_summons: bool = False  # the court phase only exists once a suspect is summoned

    @property
    def name(self) -> str:
        return f"{self.start.value}-{self.end.value}"


TIME_TO_REPORT = Interval(Milestone.T0, Milestone.T2)
POLICE_PHASE = Interval(Milestone.T2, Milestone.T3, norm_months=6)
REPORT_TO_EXAMINING_MAGISTRATE = Interval(Milestone.T2, Milestone.T4)
OM_PHASE = Interval(Milestone.T3, Milestone.T5)
REPORT_TO_OM_DECISION = Interval(Milestone.T2, Milestone.T5)
COURT_PHASE = Interval(Milestone.T5, Milestone.T7, requires_summons=True)
HEARING_TO_VERDICT = Interval(Milestone.T6, Milestone.T7, norm_months=6)
REPORT_TO_VERDICT = Interval(Milestone.T2, Milestone.T7)
WHOLE_CHAIN = Interval(Milestone.T0, Milestone.T8)

INTERVALS: tuple[Interval, ...] = (
    TIME_TO_REPORT,
    POLICE_PHASE,
    REPORT_TO_EXAMINING_MAGISTRATE,
    OM_PHASE,
    REPORT_TO_OM_DECISION,
    COURT_PHASE,
    HEARING_TO_VERDICT,
    REPORT_TO_VERDICT,
    WHOLE_CHAIN,
)


class Status(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    OUT_OF_SIGHT = "out_of_sight"
    ENDED = "ended"
    INVERTED = "inverted"


@dataclass(frozen=True, slots=True)
class Observation:
    """One unit on one interval: its state, and days to the end or to the censoring date."""

    unit: CaseVictimUnit
    status: Status
    start: date
    days: int
    norm_days: int | None  # days from start to the norm deadline (calendar months)

    @property
    def observed(self) -> bool:
        return self.status is Status.CLOSED


def observe(unit: CaseVictimUnit, interval: Interval, as_of: date) -> Observation | None:
    """The unit's state on the interval, or None when the interval does not apply to it."""
    start = unit.at(interval.start)
    if start is None or (interval.requires_summons and unit.summoned_on is None):
        return None
    norm_days = None
    if interval.norm_months is not None:
        norm_days = (add_months(start, interval.norm_months) - start).days
    end = unit.at(interval.end)
    if end is not None:
        status = Status.CLOSED if end >= start else Status.INVERTED
        return Observation(unit, status, start, (end - start).days, norm_days)
    candidates: list[tuple[date, Status]] = []
    ended = unit.ended.get(interval.end)
    if ended is not None:
        # A stop before the start (a report into a case already closed) censors at once.
        candidates.append((max(ended, start), Status.ENDED))
    out_of_sight = next((d for d in unit.out_of_sight if d >= start), None)
    if out_of_sight is not None:
        candidates.append((out_of_sight, Status.OUT_OF_SIGHT))
    censored_on, status = min(candidates) if candidates else (as_of, Status.OPEN)
    return Observation(unit, status, start, (censored_on - start).days, norm_days)


@dataclass(frozen=True, slots=True)
class AgeSummary:
    """How old the open units are at the as-of date (leeftijd openstaande zaken)."""

    count: int
    median_days: float
    max_days: int
    by_band: Mapping[str, int]


AGE_BANDS: tuple[str, ...] = ("0-6m", "6-12m", "1-2y", "2-3y", "3y+")


@dataclass(frozen=True, slots=True)
class LeadTimeSummary:
    """Lead-time figures of one interval for one group (None: everyone). Days throughout."""

    interval: str
    dimension: str | None
    group: str | None
    units: int
    cases: int
    closed: int
    open: int
    out_of_sight: int
    ended: int
    inverted: int
    median_days: float | None
    q1_days: float | None
    q3_days: float | None
    p90_days: float | None
    mean_days: float | None
    norm_months: int | None
    within_norm: int | None
    share_within_norm: float | None
    km_median_days: float | None
    km_share_within_norm: float | None
    open_ages: AgeSummary | None
    small_group: bool
    few_closed: bool
    complementary: bool = False
    """Its closed-case figures are withheld although its group is large enough: otherwise a
    withheld neighbour could be computed back from the overall row (`breakdowns`)."""


def quantile(sorted_values: Sequence[float], p: float) -> float:
    """Linear interpolation between order statistics (numpy 'linear', Hyndman–Fan type 7)."""
    if not sorted_values:
        raise ValueError("quantile of nothing")
    position = (len(sorted_values) - 1) * p
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (position - low) * (sorted_values[high] - sorted_values[low])


def _age_band(start: date, as_of: date) -> str:
    if as_of <= add_months(start, 6):
        return AGE_BANDS[0]
    if as_of <= add_years(start, 1):
        return AGE_BANDS[1]
    if as_of <= add_years(start, 2):
        return AGE_BANDS[2]
    if as_of <= add_years(start, 3):
        return AGE_BANDS[3]
    return AGE_BANDS[4]


def _ages(open_ones: Sequence[Observation], as_of: date) -> AgeSummary | None:
    if not open_ones:
        return None
    days = sorted(o.days for o in open_ones)
    bands = dict.fromkeys(AGE_BANDS, 0)
    for o in open_ones:
        bands[_age_band(o.start, as_of)] += 1
    return AgeSummary(len(days), quantile(days, 0.5), days[-1], bands)


def _kaplan_meier(durations: Sequence[float], observed: Sequence[bool]) -> object:
    # lifelines pulls in pandas and scipy; importing it here keeps the projection (the hot path
    # in the bus consumer) light, and only queries pay for it.
    from lifelines import KaplanMeierFitter  # type: ignore[import-untyped]

    return KaplanMeierFitter().fit(list(durations), event_observed=list(observed))


def km_median_days(observations: Sequence[Observation]) -> float | None:
    """Kaplan–Meier median time to the end milestone; None if the curve never falls below 50%.

    lifelines takes the first time the survival curve drops *below* one half, so when it sits at
    exactly 0.5 over an interval the median is that interval's end, not its start.
    """
    usable = [o for o in observations if o.status is not Status.INVERTED]
    if not usable:
        return None
    fitted = _kaplan_meier([o.days for o in usable], [o.observed for o in usable])
    median = float(fitted.median_survival_time_)  # type: ignore[attr-defined]
    return median if math.isfinite(median) else None


def km_share_within_norm(observations: Sequence[Observation]) -> float | None:
    """Kaplan–Meier probability of reaching the end within the calendar-month norm.

    Each unit's time is divided by its own days-to-deadline (181–184 days for six months), so the
    norm sits at exactly 1.0 for every start date and censored units count for their time at risk.
    """
    usable = [
        o for o in observations if o.status is not Status.INVERTED and o.norm_days is not None
    ]
    if not usable:
        return None
    ratios = [o.days / o.norm_days for o in usable if o.norm_days is not None]
    fitted = _kaplan_meier(ratios, [o.observed for o in usable])
    survival = fitted.survival_function_at_times(1.0).iloc[0]  # type: ignore[attr-defined]
    return 1.0 - float(survival)


def _case_key(unit: CaseVictimUnit) -> str:
    # A signal without a case is counted as one "case" per victim for the small-group rule.
    return unit.case_id if unit.case_id is not None else f"victim:{unit.victim_id}"


def summarise(
    observations: Sequence[Observation],
    interval: Interval,
    *,
    as_of: date,
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
    dimension: str | None = None,
    group: str | None = None,
) -> LeadTimeSummary:
    by_status: dict[Status, list[Observation]] = defaultdict(list)
    for o in observations:
        by_status[o.status].append(o)
    closed = by_status[Status.CLOSED]
    counted = [o for o in observations if o.status is not Status.INVERTED]
    cases = len({_case_key(o.unit) for o in counted})
    closed_cases = len({_case_key(o.unit) for o in closed})
    small_group = cases < min_group_size
    few_closed = small_group or closed_cases < min_group_size

    durations = sorted(float(o.days) for o in closed)
    median = q1 = q3 = p90 = mean = share = None
    within: int | None = None
    if durations and not few_closed:
        median, q1, q3, p90 = (quantile(durations, p) for p in (0.5, 0.25, 0.75, 0.9))
        mean = sum(durations) / len(durations)
        if interval.norm_months is not None:
            within = sum(1 for o in closed if o.norm_days is not None and o.days <= o.norm_days)
            share = within / len(closed)

    km_median = km_share = None
    ages = None
    if not small_group:
        km_median = km_median_days(counted)
        if interval.norm_months is not None:
            km_share = km_share_within_norm(counted)
        ages = _ages(by_status[Status.OPEN], as_of)

    return LeadTimeSummary(
        interval=interval.name,
        dimension=dimension,
        group=group,
        units=len(counted),
        cases=cases,
        closed=len(closed),
        open=len(by_status[Status.OPEN]),
        out_of_sight=len(by_status[Status.OUT_OF_SIGHT]),
        ended=len(by_status[Status.ENDED]),
        inverted=len(by_status[Status.INVERTED]),
        median_days=median,
        q1_days=q1,
        q3_days=q3,
        p90_days=p90,
        mean_days=mean,
        norm_months=interval.norm_months,
        within_norm=within,
        share_within_norm=share,
        km_median_days=km_median,
        km_share_within_norm=km_share,
        open_ages=ages,
        small_group=small_group,
        few_closed=few_closed,
    )


@dataclass(frozen=True, slots=True)
class Dimension:
    """A breakdown of units into groups (uitsplitsing)."""

    name: str
    key: Callable[[CaseVictimUnit], str]


def _flag(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


REPORT_YEAR = Dimension(
    "report_year", lambda u: str(u.report_year) if u.report_year is not None else "no report"
)
FORM = Dimension("form", lambda u: u.profile.form or "unknown")
MINOR = Dimension("minor", lambda u: _flag(u.profile.minor))
REGION = Dimension("region", lambda u: u.profile.region or "unknown")
NATIONALITY_GROUP = Dimension(
    "nationality_group", lambda u: u.profile.nationality_group or "unknown"
)
COHORT = Dimension("cohort", lambda u: u.cohort or "none")


def intervention(name: str) -> Dimension:
    """With versus without one pilot intervention (e.g. POLICE_PSYCHOLOGIST)."""
    return Dimension(
        f"intervention:{name}", lambda u: "with" if name in u.interventions else "without"
    )


PILOT_INTERVENTIONS: tuple[str, ...] = ("POLICE_PSYCHOLOGIST", "SAFETY_COORDINATOR", "PEER_SUPPORT")
DIMENSIONS: tuple[Dimension, ...] = (
    REPORT_YEAR,
    FORM,
    MINOR,
    REGION,
    NATIONALITY_GROUP,
    COHORT,
    *(intervention(name) for name in PILOT_INTERVENTIONS),
)


def _observations(
    units: Iterable[CaseVictimUnit],
    interval: Interval,
    as_of: date,
    where: Callable[[CaseVictimUnit], bool] | None,
) -> list[Observation]:
    found = []
    for unit in units:
        if where is not None and not where(unit):
            continue
        observation = observe(unit, interval, as_of)
        if observation is not None:
            found.append(observation)
    return found


def lead_time_table(
    view: ChainView,
    intervals: Sequence[Interval] = INTERVALS,
    *,
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
    where: Callable[[CaseVictimUnit], bool] | None = None,
) -> list[LeadTimeSummary]:
    """One row per interval over all units (optionally those `where` selects, e.g. a cohort)."""
    as_of = view.as_of.on
    return [
        summarise(
            _observations(view.units, interval, as_of, where),
            interval,
            as_of=as_of,
            min_group_size=min_group_size,
        )
        for interval in intervals
    ]


def lead_time_breakdown(
    view: ChainView,
    interval: Interval,
    dimension: Dimension,
    *,
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
    where: Callable[[CaseVictimUnit], bool] | None = None,
) -> list[LeadTimeSummary]:
    """One row per group of the dimension, in the groups' sort order."""
    as_of = view.as_of.on
    groups: dict[str, list[Observation]] = defaultdict(list)
    for observation in _observations(view.units, interval, as_of, where):
        groups[dimension.key(observation.unit)].append(observation)
    return [
        summarise(
            groups[group],
            interval,
            as_of=as_of,
            min_group_size=min_group_size,
            dimension=dimension.name,
            group=group,
        )
        for group in sorted(groups)
    ]
