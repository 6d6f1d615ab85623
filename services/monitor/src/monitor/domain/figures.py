"""Chain figures per calendar year (ketencijfers), as the National Rapporteur's monitors show them.

A fact counts in the year of its `occurred_on`. Decisions where docs/domain.md#chain-figures is
silent:

- Victims in view: distinct victims with a signal in the year, described by their first signal of
  that year (a victim with two signals in one year counts once).
- Reports and cooperations: distinct (case, victim) pairs, in the year of the first one.
- OM inflow: distinct (case, suspect) registrations, as the OM counts per suspect (parketnummer).
- OM decisions and first-instance verdicts: every decision or verdict event. The summons share is
  summons / (summons + dismissals); other disposals are shown but left out of that share. The
  conviction share counts both conviction outcomes (trafficking, and another offence with
  trafficking charged) over all first-instance verdicts.
- Non-temporary triggers by ground exclude triggers retracted by the cut-off.
- Repeat victimisation (herhaald slachtofferschap) of year Y: of the victims in view in Y, the
  share with a signal on a later date within five calendar years of their first signal in Y.
  The follow-up is complete only when the as-of date lies five years after the end of Y.
- Shares with a denominator below `min_group_size` are withheld (value None, small_group True).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from ketenzicht_common.months import add_years

from .leadtimes import DEFAULT_MIN_GROUP_SIZE
from .projection import FIRST_INSTANCE, ChainView

CONVICTIONS = frozenset({"CONVICTION_TRAFFICKING", "CONVICTION_OTHER_OFFENCE_TRAFFICKING_CHARGED"})

_COUNTED_EVENTS = {
    "ReflectionPeriodOffered": "reflection_periods_offered",
    "ReflectionPeriodGranted": "reflection_periods_granted",
    "TemporaryPermitGranted": "temporary_permits_granted",
    "TemporaryPermitRefused": "temporary_permits_refused",
    "NonTemporaryPermitGranted": "non_temporary_permits_granted",
    "NonTemporaryPermitRefused": "non_temporary_permits_refused",
}


@dataclass(frozen=True, slots=True)
class Share:
    """A published share: withheld (None) when its denominator is a small group."""

    numerator: int
    denominator: int
    value: float | None
    small_group: bool

    @classmethod
    def of(cls, numerator: int, denominator: int, min_group_size: int) -> Share:
        small = denominator < min_group_size
        value = None if small or denominator == 0 else numerator / denominator
        return cls(numerator, denominator, value, small)


@dataclass(frozen=True, slots=True)
class YearFigures:
    year: int
    victims_in_view: int
    victims_by_form: Mapping[str, int]
    victims_minor: int
    victims_by_nationality_group: Mapping[str, int]
    reports: int
    cooperations: int
    om_inflow: int
    om_decisions: Mapping[str, int]
    summons_share: Share
    first_instance_verdicts: int
    verdicts_by_outcome: Mapping[str, int]
    conviction_share: Share
    reflection_periods_offered: int
    reflection_periods_granted: int
    temporary_permits_granted: int
    temporary_permits_refused: int
    non_temporary_permits_granted: int
    non_temporary_permits_refused: int
    non_temporary_triggers: Mapping[str, int]
    repeat_victimisation: Share
    repeat_follow_up_complete: bool


def _decision_kind(event_type: str, kind: object) -> str | None:
    if event_type == "SuspectSummoned":
        return "SUMMONS"
    if event_type == "CaseDismissed":
        return f"DISMISSAL_{kind}"
    if event_type == "OtherDisposalDecided":
        return f"OTHER_{kind}"
    return None


def chain_figures(
    view: ChainView,
    years: Iterable[int] | None = None,
    *,
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
) -> list[YearFigures]:
    """Figures per year; by default every year in which a visible fact occurred."""
    first_signal: dict[tuple[str, int], tuple[date, Mapping[str, object]]] = {}
    signal_days: dict[str, list[date]] = defaultdict(list)
    first_report: dict[tuple[str, str, str], date] = {}
    first_registration: dict[tuple[str, str | None], date] = {}
    decisions: dict[int, Counter[str]] = defaultdict(Counter)
    verdicts: dict[int, Counter[str]] = defaultdict(Counter)
    counted: dict[int, Counter[str]] = defaultdict(Counter)
    triggers: list[tuple[int, str | None, str]] = []
    retracted: set[str] = set()
    seen_years: set[int] = set()

    # Records come sorted by occurred date, so the first one seen per key is the earliest.
    for r in view.records:
        day = r.occurred_on
        seen_years.add(day.year)
        kind = r.event_type
        if kind == "SignalRegistered" and r.victim_id is not None:
            first_signal.setdefault((r.victim_id, day.year), (day, r.attrs or {}))
            signal_days[r.victim_id].append(day)
        elif kind in ("ReportFiled", "CooperationDeclared") and r.case_id and r.victim_id:
            first_report.setdefault((kind, r.case_id, r.victim_id), day)
        elif kind == "CaseRegistered" and r.case_id is not None:
            first_registration.setdefault((r.case_id, r.suspect_id), day)
        elif (decision := _decision_kind(kind, r.attr("kind"))) is not None:
            decisions[day.year][decision] += 1
        elif kind == "VerdictDelivered" and r.attr("instance") == FIRST_INSTANCE:
            verdicts[day.year][str(r.attr("outcome"))] += 1
        elif kind in _COUNTED_EVENTS:
            counted[day.year][_COUNTED_EVENTS[kind]] += 1
        elif kind == "NonTemporaryPermitIndicated":
            trigger_id = r.attr("trigger_id")
            triggers.append(
                (
                    day.year,
                    trigger_id if isinstance(trigger_id, str) else None,
                    str(r.attr("ground")),
                )
            )
        elif kind == "TriggerRetracted":
            retracted_id = r.attr("retracted_trigger_id")
            if isinstance(retracted_id, str):
                retracted.add(retracted_id)

    reports: Counter[tuple[str, int]] = Counter(
        (kind, day.year) for (kind, _, _), day in first_report.items()
    )
    inflow: Counter[int] = Counter(day.year for day in first_registration.values())
    ground_counts: dict[int, Counter[str]] = defaultdict(Counter)
    for year, trigger_id, ground in triggers:
        if trigger_id is None or trigger_id not in retracted:
            ground_counts[year][ground] += 1

    in_view: dict[int, list[tuple[str, date, Mapping[str, object]]]] = defaultdict(list)
    for (victim_id, year), (day, attrs) in first_signal.items():
        in_view[year].append((victim_id, day, attrs))

    as_of = view.as_of.on
    result = []
    for year in sorted(seen_years if years is None else set(years)):
        victims = in_view.get(year, [])
        by_form: Counter[str] = Counter(str(a.get("form", "UNKNOWN")) for _, _, a in victims)
        by_nationality: Counter[str] = Counter(
            str(a.get("nationality_group", "UNKNOWN")) for _, _, a in victims
        )
        repeated = sum(
            1
            for victim_id, day, _ in victims
            if any(day < other <= add_years(day, 5) for other in signal_days[victim_id])
        )
        year_decisions = decisions.get(year, Counter())
        summons = year_decisions["SUMMONS"]
        dismissals = sum(n for k, n in year_decisions.items() if k.startswith("DISMISSAL_"))
        year_verdicts = verdicts.get(year, Counter())
        total_verdicts = sum(year_verdicts.values())
        convictions = sum(n for k, n in year_verdicts.items() if k in CONVICTIONS)
        year_counted = counted.get(year, Counter())
        result.append(
            YearFigures(
                year=year,
                victims_in_view=len(victims),
                victims_by_form=dict(sorted(by_form.items())),
                victims_minor=sum(1 for _, _, a in victims if a.get("minor") is True),
                victims_by_nationality_group=dict(sorted(by_nationality.items())),
                reports=reports[("ReportFiled", year)],
                cooperations=reports[("CooperationDeclared", year)],
                om_inflow=inflow[year],
                om_decisions=dict(sorted(year_decisions.items())),
                summons_share=Share.of(summons, summons + dismissals, min_group_size),
                first_instance_verdicts=total_verdicts,
                verdicts_by_outcome=dict(sorted(year_verdicts.items())),
                conviction_share=Share.of(convictions, total_verdicts, min_group_size),
                reflection_periods_offered=year_counted["reflection_periods_offered"],
                reflection_periods_granted=year_counted["reflection_periods_granted"],
                temporary_permits_granted=year_counted["temporary_permits_granted"],
                temporary_permits_refused=year_counted["temporary_permits_refused"],
                non_temporary_permits_granted=year_counted["non_temporary_permits_granted"],
                non_temporary_permits_refused=year_counted["non_temporary_permits_refused"],
                non_temporary_triggers=dict(sorted(ground_counts.get(year, Counter()).items())),
                repeat_victimisation=Share.of(repeated, len(victims), min_group_size),
                repeat_follow_up_complete=as_of >= add_years(date(year, 12, 31), 5),
            )
        )
    return result
