"""Whether a criminal case still runs on a day ("the case still runs", docs/domain.md#rules).

The case runs while an investigation, a prosecution or a trial (first instance or appeal) runs.
It is read per suspect, from the case's steps, day by day (the state after all steps of a day):

* The victim's report opens the case; the investigation runs until it is closed without being
  submitted (`InvestigationClosed` NO_LEADS/NO_JURISDICTION), until a decision not to
  investigate (`NoInvestigationDecided`), or until it is handed over to the OM
  (`CaseSubmittedToProsecution`, `InvestigationClosed` SUBMITTED). A suspended investigation
  still runs. An `InvestigationOpened` later than a close opens it again.
* A step of the OM about a suspect (registration, summons, dismissal, ...) means the case was
  handed over, even when the police's submission is not (yet) known.
* Against a suspect the prosecution or trial runs from registration or summons until a
  dismissal (sepot), a transaction or transfer, or `CaseFinal`. A verdict does not end it:
  the trial runs until the case is final (an appeal may follow). A joinder (voeging) does not
  end it either, because the prosecution goes on in the case it is joined to.
  `CaseReopened` makes it run again.
* Once handed over, the case runs while any suspect's proceedings run, or while the OM has
  registered no suspect at all yet.

"Ended without result" (R14) is a day on which a dismissal, an acquittal, a decision not to
investigate or a close without submission happens and after which no proceedings remain
other than acquittals still open to appeal: every known suspect is dismissed, disposed of by
transaction or transfer, or acquitted.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from enum import Enum

from residence.domain.categories import (
    CONVICTIONS,
    InvestigationCloseReason,
    OtherDisposalKind,
    VerdictOutcome,
)
from residence.domain.model import CaseFact, CaseStep

# Steps of one day are read in the order they happen in a case, so that e.g. an appeal on the
# day of the verdict or a reopening on the day of a dismissal read the right way round.
_STEP_RANK = {
    CaseStep.INVESTIGATION_OPENED: 0,
    CaseStep.CASE_SUBMITTED: 1,
    CaseStep.INVESTIGATION_CLOSED: 2,
    CaseStep.NO_INVESTIGATION: 3,
    CaseStep.CASE_REGISTERED: 4,
    CaseStep.SUSPECT_SUMMONED: 5,
    CaseStep.VERDICT_DELIVERED: 6,
    CaseStep.APPEAL_LODGED: 7,
    CaseStep.CASE_DISMISSED: 8,
    CaseStep.OTHER_DISPOSAL: 9,
    CaseStep.CASE_FINAL: 10,
    CaseStep.CASE_REOPENED: 11,
}

_SUSPECT_STEPS = frozenset(
    {
        CaseStep.CASE_REGISTERED,
        CaseStep.SUSPECT_SUMMONED,
        CaseStep.VERDICT_DELIVERED,
        CaseStep.APPEAL_LODGED,
        CaseStep.CASE_DISMISSED,
        CaseStep.OTHER_DISPOSAL,
        CaseStep.CASE_FINAL,
        CaseStep.CASE_REOPENED,
    }
)


class _Outcome(Enum):
    DISMISSED = "DISMISSED"
    DISPOSED = "DISPOSED"
    ACQUITTED = "ACQUITTED"
    CONVICTED = "CONVICTED"
    OTHER = "OTHER"


_WITHOUT_RESULT = frozenset({_Outcome.DISMISSED, _Outcome.DISPOSED, _Outcome.ACQUITTED})


def is_negative_step(fact: CaseFact) -> bool:
    """A step that may end the case without result (R14): sepot, acquittal, no investigation."""
    if fact.step in (CaseStep.CASE_DISMISSED, CaseStep.NO_INVESTIGATION):
        return True
    if fact.step is CaseStep.INVESTIGATION_CLOSED:
        return fact.close_reason is not InvestigationCloseReason.SUBMITTED
    return fact.step is CaseStep.VERDICT_DELIVERED and fact.outcome is VerdictOutcome.ACQUITTAL


def is_conviction(fact: CaseFact) -> bool:
    return fact.step is CaseStep.VERDICT_DELIVERED and fact.outcome in CONVICTIONS


@dataclass(slots=True)
class _Suspect:
    running: bool = True
    outcome: _Outcome | None = None


@dataclass(slots=True)
class _State:
    investigating: bool = True
    handed_over: bool = False
    suspects: dict[str, _Suspect] = field(default_factory=dict)

    def apply(self, fact: CaseFact) -> None:
        step = fact.step
        if step is CaseStep.INVESTIGATION_OPENED:
            self.investigating = True
        elif step is CaseStep.CASE_SUBMITTED:
            self.investigating = False
            self.handed_over = True
            for suspect_id in fact.suspect_ids:
                self.suspects.setdefault(suspect_id, _Suspect())
        elif step is CaseStep.INVESTIGATION_CLOSED:
            self.investigating = False
            if fact.close_reason is InvestigationCloseReason.SUBMITTED:
                self.handed_over = True
        elif step is CaseStep.NO_INVESTIGATION:
            self.investigating = False
        elif step in _SUSPECT_STEPS and fact.suspect_id is not None:
            self.investigating = False
            self.handed_over = True
            self._apply_to_suspect(self.suspects.setdefault(fact.suspect_id, _Suspect()), fact)

    @staticmethod
    def _apply_to_suspect(suspect: _Suspect, fact: CaseFact) -> None:
        step = fact.step
        if step in (CaseStep.CASE_REGISTERED, CaseStep.SUSPECT_SUMMONED, CaseStep.CASE_REOPENED):
            suspect.running, suspect.outcome = True, None
        elif step is CaseStep.CASE_DISMISSED:
            suspect.running, suspect.outcome = False, _Outcome.DISMISSED
        elif step is CaseStep.OTHER_DISPOSAL:
            if fact.disposal_kind is not OtherDisposalKind.JOINDER:
                suspect.running, suspect.outcome = False, _Outcome.DISPOSED
        elif step is CaseStep.VERDICT_DELIVERED:
            suspect.running = True
            if fact.outcome is VerdictOutcome.ACQUITTAL:
                suspect.outcome = _Outcome.ACQUITTED
            elif fact.outcome in CONVICTIONS:
                suspect.outcome = _Outcome.CONVICTED
            else:
                suspect.outcome = _Outcome.OTHER
        elif step is CaseStep.APPEAL_LODGED:
            suspect.running = True
        elif step is CaseStep.CASE_FINAL:
            suspect.running = False

    @property
    def awaiting_registration(self) -> bool:
        return self.handed_over and not self.suspects

    @property
    def running(self) -> bool:
        return (
            self.investigating
            or self.awaiting_registration
            or any(suspect.running for suspect in self.suspects.values())
        )

    @property
    def without_result(self) -> bool:
        return (
            not self.investigating
            and not self.awaiting_registration
            and all(suspect.outcome in _WITHOUT_RESULT for suspect in self.suspects.values())
        )


@dataclass(frozen=True, slots=True)
class CaseDay:
    """The state of a case after all its steps of ``day``."""

    day: date
    running: bool
    ended_without_result: bool
    facts: tuple[CaseFact, ...]


@dataclass(frozen=True, slots=True)
class CaseTimeline:
    """A case's days with steps; before its first step the case runs (the report opened it)."""

    case_id: str
    days: tuple[CaseDay, ...]

    @classmethod
    def of(cls, case_id: str, facts: Iterable[CaseFact]) -> CaseTimeline:
        ordered = sorted(facts, key=lambda f: (f.occurred_on, _STEP_RANK[f.step], f.event_id))
        state = _State()
        days: list[CaseDay] = []
        index = 0
        while index < len(ordered):
            day = ordered[index].occurred_on
            of_day: list[CaseFact] = []
            while index < len(ordered) and ordered[index].occurred_on == day:
                state.apply(ordered[index])
                of_day.append(ordered[index])
                index += 1
            ended = state.without_result and any(is_negative_step(f) for f in of_day)
            days.append(CaseDay(day, state.running, ended, tuple(of_day)))
        return cls(case_id, tuple(days))

    @property
    def facts(self) -> tuple[CaseFact, ...]:
        return tuple(fact for day in self.days for fact in day.facts)

    def runs_on(self, day: date) -> bool:
        """Does the case run on ``day``, after that day's steps?"""
        position = bisect_right([d.day for d in self.days], day)
        return True if position == 0 else self.days[position - 1].running

    def stops(self) -> list[CaseDay]:
        """The days on which the case stops running (it ran the day before)."""
        stopped: list[CaseDay] = []
        was_running = True
        for case_day in self.days:
            if was_running and not case_day.running:
                stopped.append(case_day)
            was_running = case_day.running
        return stopped
