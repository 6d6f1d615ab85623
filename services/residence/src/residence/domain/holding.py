"""Which temporary permit the victim holds, day by day (houderschap verblijfsvergunning).

Two sources, per case:

* The permits the IND reported (`TemporaryPermitGranted`, `...Extended`, `...Ended`): held
  from ``valid_from`` through the last valid-until, or through an end date (retroactive ends
  included). Once the IND has reported a grant or a refusal in a case, only its facts count
  there.
* Until then, an application R7 indicated is taken as a permit held from the report date
  (domain.md §5: "report 2020-03-01 (permit from that day)"), open-ended, until the basis
  ends in that case (R10: the case stops running, or the report is withdrawn). The IND
  decides on the application; the domain does not invent an expiry it was never told of.

Permits follow each other without a gap when the next starts at most one day after the last
day of the one before (a permit valid until 28 Oct followed by one from 29 Oct is continuous).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from residence.domain.dates import ONE_DAY
from residence.domain.history import VictimCase, VictimHistory
from residence.domain.rules.r07_temporary_permit_application import Application


@dataclass(frozen=True, slots=True)
class Holding:
    case_id: str
    start: date
    last_day: date | None
    event_ids: tuple[str, ...]
    deemed: bool

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.last_day is None or day <= self.last_day)


@dataclass(frozen=True, slots=True)
class HoldingRun:
    """Continuous holding: permits without a gap between them."""

    start: date
    last_day: date | None
    holdings: tuple[Holding, ...]

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.last_day is None or day <= self.last_day)


def basis_ends(
    history: VictimHistory, victim_case: VictimCase
) -> list[tuple[date, tuple[str, ...]]]:
    """The days the basis of a permit in this case ends, with the facts that end it (R10).

    The case stops running (dismissal of the last suspect, a decision not to investigate, an
    investigation closed without submission, the trial final), or the victim withdraws the
    report — Vc B8/3 ends the permit when the victim no longer cooperates.
    """
    ends: list[tuple[date, tuple[str, ...]]] = []
    for case_day in history.timeline(victim_case.case_id).stops():
        if case_day.day >= victim_case.since and victim_case.active_on(case_day.day):
            ends.append((case_day.day, tuple(f.event_id for f in case_day.facts)))
    if victim_case.withdrawn_on is not None and victim_case.withdrawal_event_id is not None:
        ends.append((victim_case.withdrawn_on, (victim_case.withdrawal_event_id,)))
    return sorted(ends)


def holdings(history: VictimHistory, indicated: list[Application]) -> list[Holding]:
    decided_by_ind = {p.case_id for p in history.permits} | {r.case_id for r in history.refusals}
    held = [
        Holding(p.case_id, p.valid_from, p.last_day, p.event_ids, deemed=False)
        for p in history.permits
        if p.last_day >= p.valid_from
    ]
    for application in indicated:
        if application.case_id in decided_by_ind:
            continue
        victim_case = history.victim_case(application.case_id)
        if victim_case is None:
            continue
        ends = basis_ends(history, victim_case)
        last_day = ends[0][0] if ends else None
        if last_day is not None and last_day < application.application_date:
            continue
        held.append(
            Holding(
                application.case_id,
                application.application_date,
                last_day,
                application.based_on,
                deemed=True,
            )
        )
    return sorted(held, key=lambda h: (h.start, h.case_id, h.event_ids))


def holding_runs(held: list[Holding]) -> list[HoldingRun]:
    runs: list[HoldingRun] = []
    for holding in sorted(held, key=lambda h: (h.start, h.case_id, h.event_ids)):
        if runs:
            run = runs[-1]
            joins = run.last_day is None or holding.start <= run.last_day + ONE_DAY
            if joins:
                last_day = (
                    None
                    if run.last_day is None or holding.last_day is None
                    else max(run.last_day, holding.last_day)
                )
                runs[-1] = HoldingRun(run.start, last_day, (*run.holdings, holding))
                continue
        runs.append(HoldingRun(holding.start, holding.last_day, (holding,)))
    return runs


def holds_in_case(held: list[Holding], case_id: str, day: date) -> bool:
    return any(h.case_id == case_id and h.covers(day) for h in held)
