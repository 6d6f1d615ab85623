"""The IND's question about one victim: where does the residence track stand on a day?

The answer (verblijfsdossier) holds the current position — reflection period, temporary permit
(reported by the IND, or applied for and not yet decided), non-temporary permit or none — the
grounds reached with their dates, the triggers fired, and the deadlines still pending (the
triggers that will fire by themselves if no new fact changes them).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from residence.domain.categories import ResidencePosition
from residence.domain.evaluation import grounds_of, victim_decisions
from residence.domain.grounds import GroundReached
from residence.domain.history import VictimHistory, build_histories
from residence.domain.holding import holdings
from residence.domain.model import Fact
from residence.domain.rules.r06_reflection_expiry import reflection_episodes
from residence.domain.rules.r07_temporary_permit_application import applications
from residence.domain.rulesets import DEFAULT_SETTINGS, RuleSettings
from residence.domain.triggers import TriggerDecision, TriggerKind


class Standing(StrEnum):
    NONE = "NONE"
    REFLECTION_PERIOD = "REFLECTION_PERIOD"
    TEMPORARY_PERMIT_APPLIED = "TEMPORARY_PERMIT_APPLIED"
    TEMPORARY_PERMIT = "TEMPORARY_PERMIT"
    NON_TEMPORARY_PERMIT = "NON_TEMPORARY_PERMIT"


@dataclass(frozen=True, slots=True)
class CurrentPosition:
    """``since`` the first day; ``until`` the last day held or the expiry day, None if open."""

    standing: Standing
    since: date | None = None
    until: date | None = None
    case_id: str | None = None


@dataclass(frozen=True, slots=True)
class PendingDeadline:
    kind: TriggerKind
    due_on: date
    rule: str
    case_id: str | None


@dataclass(frozen=True, slots=True)
class ResidenceFile:
    victim_id: str
    as_of: date
    residence_position: ResidencePosition | None
    position: CurrentPosition
    grounds: tuple[GroundReached, ...]
    triggers: tuple[TriggerDecision, ...]
    pending: tuple[PendingDeadline, ...]


def _position(history: VictimHistory, as_of: date, settings: RuleSettings) -> CurrentPosition:
    granted = [g for g in history.non_temporary_grants if g.occurred_on <= as_of]
    if granted:
        return CurrentPosition(Standing.NON_TEMPORARY_PERMIT, since=granted[0].occurred_on)
    # The file as the IND knew it on as_of: its decisions of later days are not known yet.
    for holding in holdings(history):
        if holding.granted_on <= as_of and holding.covers(as_of):
            return CurrentPosition(
                Standing.TEMPORARY_PERMIT, holding.start, holding.last_day, holding.case_id
            )
    decided = {p.case_id for p in history.permits if p.granted_on <= as_of} | {
        r.case_id for r in history.refusals if r.occurred_on <= as_of
    }
    running = {c.case_id for c in history.cases_running_on(as_of)}
    for application in applications(history, settings):
        if application.indicated_on <= as_of and application.case_id not in decided and running:
            return CurrentPosition(
                Standing.TEMPORARY_PERMIT_APPLIED,
                application.application_date,
                None,
                application.case_id,
            )
    for episode in reflection_episodes(history, settings):
        if episode.start <= as_of < episode.ends_on:
            return CurrentPosition(Standing.REFLECTION_PERIOD, episode.start, episode.expires_on)
    return CurrentPosition(Standing.NONE)


def residence_file(
    facts: Iterable[Fact],
    victim_id: str,
    as_of: date,
    *,
    settings: RuleSettings = DEFAULT_SETTINGS,
) -> ResidenceFile:
    """The victim's residence file on ``as_of``; an unknown victim has an empty one."""
    history = build_histories(facts).get(victim_id)
    if history is None:
        return ResidenceFile(victim_id, as_of, None, CurrentPosition(Standing.NONE), (), (), ())
    decisions = victim_decisions(history, settings)
    return ResidenceFile(
        victim_id=victim_id,
        as_of=as_of,
        residence_position=history.position_on(as_of),
        position=_position(history, as_of, settings),
        grounds=tuple(g for g in grounds_of(history, settings) if g.reached_on <= as_of),
        triggers=tuple(d for d in decisions if d.fires_on <= as_of),
        pending=tuple(
            PendingDeadline(d.kind, d.fires_on, d.rule, d.case_id)
            for d in decisions
            if d.fires_on > as_of
        ),
    )
