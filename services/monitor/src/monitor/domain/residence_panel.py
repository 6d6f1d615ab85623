"""The residence panel (verblijfspaneel): residence's triggers by kind per year, the time from a
trigger to the IND's decision on it, and the indications still open at the cut-off.

A trigger counts in the year it fired (its `occurred_on`). A trigger retracted by the cut-off
(a `TriggerRetracted` naming its `trigger_id`) no longer holds as sent: it is left out of the
counts and the times and counted among the year's retractions instead (contracts/
ind-trigger-feed.md: "a trigger already sent no longer holds as sent").

Which decision answers which trigger (`ANSWERS`): the IND's first decision of a kind that
decides what the trigger asks, for the same victim — and for the same case where both the
trigger and the decision name one —, on or after the day the trigger fired:

- TemporaryPermitApplicationIndicated (R5, R7): TemporaryPermitGranted or
  TemporaryPermitRefused, in the same case;
- TemporaryPermitWithoutCooperationIndicated (R16): TemporaryPermitGranted or
  TemporaryPermitRefused;
- ReflectionPeriodExpiryDue (R6): ReflectionPeriodEnded;
- TemporaryPermitExtensionDue (R9): TemporaryPermitExtended or TemporaryPermitEnded, in the
  same case;
- TemporaryPermitBasisEnded (R10): TemporaryPermitEnded;
- NonTemporaryPermitIndicated (R11–R13, R15), NonTemporaryAssessmentRequired (R14) and
  ReassessmentRequired (R17): NonTemporaryPermitGranted or NonTemporaryPermitRefused.

One decision may answer several triggers (a refusal answers both an assessment request and an
indication standing beside it). The triggers to the police and the OM (R1, R8) and the
informative DecisionNotAllowedFound (R4) ask no IND decision: they are counted by kind, with no
time to a decision and never open. An IND trigger without an answering decision by the cut-off
is open; its age is the days from its firing to the as-of date.

The time to a decision is the plain median of the answered triggers' days (trigger day to
decision day), the open ones beside it as a count and their median age — a figure one can check
by hand, not a survival estimate. A row (year and kind) of fewer than `min_group_size` distinct
victims publishes its counts but withholds its medians, like any small group; the same holds for
the open indications per kind.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from statistics import median

from .leadtimes import DEFAULT_MIN_GROUP_SIZE
from .projection import ChainView, FactRecord

RESIDENCE = "residence"
RETRACTED = "TriggerRetracted"

_TEMPORARY = frozenset({"TemporaryPermitGranted", "TemporaryPermitRefused"})
_NON_TEMPORARY = frozenset({"NonTemporaryPermitGranted", "NonTemporaryPermitRefused"})

ANSWERS: Mapping[str, frozenset[str]] = {
    "TemporaryPermitApplicationIndicated": _TEMPORARY,
    "TemporaryPermitWithoutCooperationIndicated": _TEMPORARY,
    "ReflectionPeriodExpiryDue": frozenset({"ReflectionPeriodEnded"}),
    "TemporaryPermitExtensionDue": frozenset({"TemporaryPermitExtended", "TemporaryPermitEnded"}),
    "TemporaryPermitBasisEnded": frozenset({"TemporaryPermitEnded"}),
    "NonTemporaryPermitIndicated": _NON_TEMPORARY,
    "NonTemporaryAssessmentRequired": _NON_TEMPORARY,
    "ReassessmentRequired": _NON_TEMPORARY,
}
"""Per IND trigger kind, the IND decisions that answer it (see the module docstring)."""

INFORMATIVE = frozenset(
    {"ReflectionPeriodOfferRequired", "DublinAssessmentOverdue", "DecisionNotAllowedFound"}
)
"""Trigger kinds that ask no IND decision: counted, never open."""

TRIGGER_KINDS = tuple(sorted(set(ANSWERS) | INFORMATIVE))
DECISIONS = frozenset().union(*ANSWERS.values())


@dataclass(frozen=True, slots=True)
class ResidenceRow:
    """One kind of trigger in one year. `answered` + `open` = `triggers` for an IND trigger that
    asks a decision; both 0 for an informative one (`asks_decision` False)."""

    year: int
    kind: str
    asks_decision: bool
    triggers: int
    retracted: int
    victims: int
    answered: int
    open: int
    median_days_to_decision: float | None
    small_group: bool


@dataclass(frozen=True, slots=True)
class OpenIndications:
    """The IND triggers of one kind still without a decision at the cut-off, whatever year."""

    kind: str
    open: int
    victims: int
    median_age_days: float | None
    oldest_year: int | None
    small_group: bool


@dataclass(frozen=True, slots=True)
class ResidencePanel:
    rows: tuple[ResidenceRow, ...]
    open_indications: tuple[OpenIndications, ...]


@dataclass(frozen=True, slots=True)
class _Trigger:
    record: FactRecord
    answered_on: int | None


def _answer(trigger: FactRecord, decisions: list[FactRecord]) -> int | None:
    wanted = ANSWERS[trigger.event_type]
    for decision in decisions:  # in date order
        if decision.occurred < trigger.occurred or decision.event_type not in wanted:
            continue
        if trigger.case_id and decision.case_id and trigger.case_id != decision.case_id:
            continue
        return decision.occurred
    return None


def residence_panel(
    view: ChainView, *, min_group_size: int = DEFAULT_MIN_GROUP_SIZE
) -> ResidencePanel:
    as_of = view.as_of.on.toordinal()
    retracted_ids: set[str] = set()
    retractions: dict[tuple[int, str], int] = defaultdict(int)
    triggers: list[FactRecord] = []
    decisions: dict[str, list[FactRecord]] = defaultdict(list)
    for r in view.records:  # sorted by date
        if r.service != RESIDENCE or r.victim_id is None:
            continue
        if r.event_type == RETRACTED:
            retracted = r.attr("retracted_trigger_id")
            if isinstance(retracted, str):
                retracted_ids.add(retracted)
        elif r.event_type in ANSWERS or r.event_type in INFORMATIVE:
            triggers.append(r)
        elif r.event_type in DECISIONS:
            decisions[r.victim_id].append(r)

    groups: dict[tuple[int, str], list[_Trigger]] = defaultdict(list)
    for t in triggers:
        key = (t.occurred_on.year, t.event_type)
        if t.attr("trigger_id") in retracted_ids:
            retractions[key] += 1
            continue
        answered = _answer(t, decisions[t.victim_id or ""]) if t.event_type in ANSWERS else None
        groups[key].append(_Trigger(t, answered))
    for key in retractions:
        groups.setdefault(key, [])

    rows = []
    for (year, kind), members in sorted(groups.items()):
        asks = kind in ANSWERS
        victims = len({m.record.victim_id for m in members})
        small = victims < min_group_size
        waits = [m.answered_on - m.record.occurred for m in members if m.answered_on is not None]
        rows.append(
            ResidenceRow(
                year=year,
                kind=kind,
                asks_decision=asks,
                triggers=len(members),
                retracted=retractions[(year, kind)],
                victims=victims,
                answered=len(waits),
                open=len(members) - len(waits) if asks else 0,
                median_days_to_decision=float(median(waits)) if waits and not small else None,
                small_group=small,
            )
        )

    open_by_kind: dict[str, list[FactRecord]] = defaultdict(list)
    for (_, kind), members in groups.items():
        if kind in ANSWERS:
            open_by_kind[kind].extend(m.record for m in members if m.answered_on is None)
    open_rows = []
    for kind in sorted(open_by_kind):
        still = open_by_kind[kind]
        if not still:
            continue
        victims = len({r.victim_id for r in still})
        small = victims < min_group_size
        open_rows.append(
            OpenIndications(
                kind=kind,
                open=len(still),
                victims=victims,
                median_age_days=None if small else float(median(as_of - r.occurred for r in still)),
                oldest_year=None if small else min(r.occurred_on.year for r in still),
                small_group=small,
            )
        )
    return ResidencePanel(tuple(rows), tuple(open_rows))
