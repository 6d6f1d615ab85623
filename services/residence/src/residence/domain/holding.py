"""Which temporary permit the victim holds, day by day (houderschap verblijfsvergunning).

Holding is what the IND reports: a permit is held from its ``valid_from`` through its last
valid-until (after extensions) or through the end date the IND reported (retroactive ends
included). An application the IND has not decided on is not a permit: R13 counts three years
of permits the IND granted, so a grant reported late and backdated to the report date counts
from that date, and fires at once when its three years have passed.

One permit, every case: a victim who reports in two cases holds one temporary permit, and it
rests on every case the victim takes part in (Vc B8/3 grants it for the duration of the
criminal proceedings the victim cooperates in; it is not one permit per case). The permit is
granted in a case (the IND names one), but its basis stands, and its extension is due, while
any of the victim's cases runs; the basis ends on the day the last of them stops running or
the victim withdraws from the last one (R10).

Permits follow each other without a gap when the next starts at most one day after the last
day of the one before (a permit valid until 28 Oct followed by one from 29 Oct is continuous).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from residence.domain.dates import ONE_DAY
from residence.domain.history import VictimHistory


@dataclass(frozen=True, slots=True)
class Holding:
    """One permit the IND reported, as held: ``start`` through ``last_day``."""

    case_id: str
    start: date
    last_day: date
    event_ids: tuple[str, ...]
    granted_on: date

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.last_day


@dataclass(frozen=True, slots=True)
class HoldingRun:
    """Continuous holding: permits without a gap between them."""

    start: date
    last_day: date
    holdings: tuple[Holding, ...]

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.last_day


@dataclass(frozen=True, slots=True)
class BasisEnd:
    """The day no case the permit rests on runs any more, the case that stopped last, and the
    facts that stopped it."""

    day: date
    case_id: str
    event_ids: tuple[str, ...]


def holdings(history: VictimHistory) -> list[Holding]:
    """The permits the IND reported, each as held (an end before the start is no holding)."""
    held = [
        Holding(p.case_id, p.valid_from, p.last_day, p.event_ids, p.granted_on)
        for p in history.permits
        if p.last_day >= p.valid_from
    ]
    return sorted(held, key=lambda h: (h.start, h.case_id, h.event_ids))


def holding_runs(held: list[Holding]) -> list[HoldingRun]:
    runs: list[HoldingRun] = []
    for holding in sorted(held, key=lambda h: (h.start, h.case_id, h.event_ids)):
        if runs and holding.start <= runs[-1].last_day + ONE_DAY:
            run = runs[-1]
            runs[-1] = HoldingRun(
                run.start, max(run.last_day, holding.last_day), (*run.holdings, holding)
            )
            continue
        runs.append(HoldingRun(holding.start, holding.last_day, (holding,)))
    return runs


def holds_on(held: list[Holding], day: date) -> bool:
    return any(h.covers(day) for h in held)


def basis_ends(history: VictimHistory) -> list[BasisEnd]:
    """The days the basis of the victim's temporary permit ends (R10), earliest first.

    A candidate day is one on which one of the victim's cases stops running (a dismissal of
    its last suspect, a decision not to investigate, an investigation closed without
    submission, the trial final) or the victim withdraws from a case (Vc B8/3 ends the permit
    when the victim no longer cooperates). The basis ends there only if, after that day, none
    of the victim's cases runs while one did the day before.
    """
    candidates: dict[date, dict[str, list[str]]] = {}
    for victim_case in history.cases:
        for case_day in history.timeline(victim_case.case_id).stops():
            if victim_case.active_on(case_day.day):
                ids = [f.event_id for f in case_day.facts]
                candidates.setdefault(case_day.day, {}).setdefault(
                    victim_case.case_id, [victim_case.event_id]
                ).extend(ids)
        if victim_case.withdrawn_on is not None and victim_case.withdrawal_event_id is not None:
            candidates.setdefault(victim_case.withdrawn_on, {}).setdefault(
                victim_case.case_id, [victim_case.event_id]
            ).append(victim_case.withdrawal_event_id)
    ends = []
    for day in sorted(candidates):
        if history.cases_running_on(day) or not history.cases_running_on(day - ONE_DAY):
            continue
        case_id = sorted(candidates[day])[-1]
        facts = tuple(sorted({i for ids in candidates[day].values() for i in ids}))
        ends.append(BasisEnd(day, case_id, facts))
    return ends
