"""R4 — who may not have a reflection period; a grant against it is a finding for the IND.

Source and reading: docs/domain.md#r4. Tests: tests/unit/test_reflection_rules.py,
tests/unit/test_personal_scope.py (in services/residence). Applies to: every grant of a
reflection period the IND reports. Versions: until 2023-05-17 only a third-country national
without lawful residence; from 2023-05-18 every third-country national (30 days for a Dublin
claimant, R3), lawful residents from the setting's date (see `scope`). Never a Dutch national,
an EU national with a right of residence under EU law, or a witness who reports.

Where the facts are owned, R4 is enforced: intake refuses a police offer the signal does not
allow. The IND's grant, though, is the IND's own decision and is recorded as the fact it is;
when the rules say it was not allowed (judged by the facts as a whole, with the position on the
grant's day), residence raises `DecisionNotAllowedFound` for the IND, and the grant is no
reflection period for the other rules (no expiry, R6). Whatever order the facts arrive in, the
finding follows from the full set: a signal that arrives after the grant still raises it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from residence.domain.history import VictimHistory, build_histories
from residence.domain.model import Fact
from residence.domain.rulesets import DEFAULT_SETTINGS, RuleSettings, ruleset_for
from residence.domain.scope import reflection_exclusion_on
from residence.domain.triggers import TriggerDecision, TriggerKind, decide


@dataclass(frozen=True, slots=True)
class GrantCheck:
    """The answer to "may this reflection period be granted?" with the rule and its version."""

    allowed: bool
    rule: str
    rule_version: str
    reason: str


def grant_refusal(history: VictimHistory, granted_on: date, settings: RuleSettings) -> str:
    """Why R4 does not allow a grant on ``granted_on``; "" when it does."""
    excluded = reflection_exclusion_on(history, granted_on, ruleset_for(granted_on, settings))
    if not excluded:
        return ""
    return (
        f"A reflection period (bedenktijd) cannot be granted to {excluded} on "
        f"{granted_on.isoformat()} (Vc B8/3; WBV 2023/11)."
    )


def check_reflection_grant(
    facts: Iterable[Fact],
    victim_id: str,
    granted_on: date,
    *,
    settings: RuleSettings = DEFAULT_SETTINGS,
) -> GrantCheck:
    """R4: may a reflection period for ``victim_id`` starting ``granted_on`` stand?"""
    ruleset = ruleset_for(granted_on, settings)
    history = build_histories(facts).get(victim_id)
    refusal = "" if history is None else grant_refusal(history, granted_on, settings)
    if refusal:
        return GrantCheck(False, "R4", ruleset.version, refusal)
    return GrantCheck(
        True,
        "R4",
        ruleset.version,
        f"A reflection period may be granted on {granted_on.isoformat()}.",
    )


def grant_findings(history: VictimHistory, settings: RuleSettings) -> list[TriggerDecision]:
    """One `DecisionNotAllowedFound` per reflection grant that R4 does not allow."""
    decisions = []
    for grant in history.reflection_grants:
        refusal = grant_refusal(history, grant.occurred_on, settings)
        if not refusal:
            continue
        decisions.append(
            decide(
                TriggerKind.DECISION_NOT_ALLOWED_FOUND,
                victim_id=history.victim_id,
                case_id=None,
                # The grant's date, not its id: residence numbers the IND's decisions as they
                # arrive, and a key must not depend on the order of arrival.
                discriminator=grant.occurred_on.isoformat(),
                rule="R4",
                rule_version=ruleset_for(grant.occurred_on, settings).version,
                based_on=[grant.event_id, *(s.event_id for s in history.signals)],
                reason=refusal,
                fires_on=grant.occurred_on,
                decision_event_id=grant.event_id,
            )
        )
    return decisions
