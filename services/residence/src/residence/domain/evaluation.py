"""Evaluate the residence rules: which triggers hold on a day, and when the next may fire.

`evaluate` is the reference evaluation: one pass of the rules over a whole set of facts. The
service must end, whatever order and timing the facts arrived in, with exactly the triggers it
gives standing on its feed (the property tests hold the service to it). It is a pure function
of the facts and a date: no clock is read. Every rule judges the
facts by their business dates, so the full list of decisions does not depend on the day of
evaluation; the day only says which of them have fired by then. Hence:

* the same set of facts gives the same decisions whatever order they arrived in (the facts
  are sorted by business date and event id before anything is read);
* a deadline fires when the clock passes it, with no new event (`next_deadline` tells a
  scheduler when to evaluate again);
* facts that arrive late take effect as if they had arrived on time — a backdated report whose
  three years already passed fires at once, because its mark is on or before the day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date

from residence.domain.corrections import CorrectedFacts, apply_corrections, without_corrections
from residence.domain.grounds import GroundReached
from residence.domain.history import VictimHistory, build_histories
from residence.domain.holding import holdings
from residence.domain.model import Fact
from residence.domain.rules.r01_reflection_offer import reflection_offer_triggers
from residence.domain.rules.r04_reflection_refused import grant_findings
from residence.domain.rules.r06_reflection_expiry import reflection_expiry_triggers
from residence.domain.rules.r07_temporary_permit_application import application_triggers
from residence.domain.rules.r08_dublin_assessment import dublin_assessment_triggers
from residence.domain.rules.r09_permit_extension import extension_triggers
from residence.domain.rules.r10_permit_basis_ended import basis_ended_triggers
from residence.domain.rules.r11_prosecution_ground import prosecution_grounds
from residence.domain.rules.r12_conviction_ground import conviction_grounds
from residence.domain.rules.r13_three_years import three_year_grounds
from residence.domain.rules.r14_individual_assessment import assessment_triggers
from residence.domain.rules.r15_ground_stays_reached import non_temporary_triggers
from residence.domain.rules.r16_cooperation_impossible import cooperation_impossible_triggers
from residence.domain.rules.r17_reassessment import reassessment_triggers
from residence.domain.rulesets import DEFAULT_SETTINGS, RuleSettings
from residence.domain.scope import in_residence_track
from residence.domain.triggers import TriggerDecision, TriggerKind

_ALWAYS_IN_SCOPE = frozenset(
    {TriggerKind.DECISION_NOT_ALLOWED_FOUND, TriggerKind.REASSESSMENT_REQUIRED}
)
"""A finding on an IND decision concerns anyone the IND decided on, Dutch nationals too."""


def decision_order(decision: TriggerDecision) -> tuple[date, str, str]:
    return (decision.fires_on, decision.kind.value, decision.key)


def grounds_of(history: VictimHistory, settings: RuleSettings) -> list[GroundReached]:
    """Every ground R11–R13 find for the victim (all of them, not only the first)."""
    held = holdings(history)
    found = [
        *prosecution_grounds(history, settings),
        *conviction_grounds(history, settings),
        *three_year_grounds(history, held, settings),
    ]
    return sorted(found, key=lambda g: g.order)


def victim_decisions(
    history: VictimHistory,
    settings: RuleSettings,
    *,
    as_stated: VictimHistory | None = None,
    corrected: CorrectedFacts | None = None,
) -> list[TriggerDecision]:
    """Every trigger the rules raise for one victim, past and future, in firing order.

    Each rule names whom it applies to (see `scope`); a trigger for a victim outside the
    residence track on its day (a Dutch national, an EU national without the IND's finding) is
    not raised, whichever rule would raise it.

    ``history`` is built from the corrected facts; ``as_stated`` (the same victim on the facts
    as first stated) and ``corrected`` let R17 see what the corrections removed, and name the
    amendments of a fact among the facts a trigger rests on.
    """
    held = holdings(history)
    grounds = grounds_of(history, settings)
    decisions = [
        *reflection_offer_triggers(history, settings),
        *grant_findings(history, settings),
        *cooperation_impossible_triggers(history, settings),
        *reflection_expiry_triggers(history, settings),
        *application_triggers(history, settings),
        *dublin_assessment_triggers(history, settings),
        *extension_triggers(history, settings),
        *basis_ended_triggers(history, held, settings),
        *non_temporary_triggers(history, grounds),
        *assessment_triggers(history, grounds, settings),
    ]
    if as_stated is not None and corrected is not None:
        stated = grounds_of(as_stated, settings)
        decisions += reassessment_triggers(history, stated, grounds, corrected, settings)
    in_scope = [
        d
        for d in decisions
        if d.kind in _ALWAYS_IN_SCOPE or in_residence_track(history, d.fires_on)
    ]
    if corrected is not None:
        in_scope = [naming_amendments(d, corrected) for d in in_scope]
    unique = {decision.key: decision for decision in sorted(in_scope, key=decision_order)}
    return sorted(unique.values(), key=decision_order)


def naming_amendments(decision: TriggerDecision, corrected: CorrectedFacts) -> TriggerDecision:
    """``decision`` with the amendments of the facts it rests on among its ``based_on``."""
    amendments = {c.event_id for i in decision.based_on for c in corrected.amended.get(i, ())}
    if not amendments:
        return decision
    return replace(decision, based_on=tuple(sorted(set(decision.based_on) | amendments)))


def all_decisions(
    facts: Iterable[Fact], *, settings: RuleSettings = DEFAULT_SETTINGS
) -> list[TriggerDecision]:
    """Every decision the facts lead to, whatever day it fires on: the rules on the corrected
    facts (annulled facts absent, amended ones in their newest form)."""
    noted = list(facts)
    corrected = apply_corrections(noted)
    as_stated = (
        build_histories(without_corrections(noted))
        if corrected.annulled or corrected.amended
        else {}
    )
    decisions: list[TriggerDecision] = []
    for victim_id, history in build_histories(corrected.facts).items():
        decisions += victim_decisions(
            history, settings, as_stated=as_stated.get(victim_id), corrected=corrected
        )
    return sorted(decisions, key=decision_order)


def evaluate(
    facts: Iterable[Fact], as_of: date, *, settings: RuleSettings = DEFAULT_SETTINGS
) -> list[TriggerDecision]:
    """The triggers that hold on the facts and have fired by ``as_of`` (fires_on <= as_of).

    ``facts`` may hold the facts of several victims, with the steps of their cases; a case
    step names no victim and is read for every victim who reported or cooperated in its case.
    """
    return [d for d in all_decisions(facts, settings=settings) if d.fires_on <= as_of]


def next_deadline(
    facts: Iterable[Fact], as_of: date, *, settings: RuleSettings = DEFAULT_SETTINGS
) -> date | None:
    """The first day after ``as_of`` on which `evaluate` gives more without a new fact."""
    return first_after(all_decisions(facts, settings=settings), as_of)


def first_after(decisions: Iterable[TriggerDecision], as_of: date) -> date | None:
    """The first day after ``as_of`` on which one of ``decisions`` fires (None for none)."""
    return min((d.fires_on for d in decisions if d.fires_on > as_of), default=None)
