"""R4 — no reflection period for a Dublin claimant or asylum seeker before 2023-05-18.

Source: Vc 2000 B8/3 as it read until WBV 2023/11; seed 002 note 10 (a Dublin claimant has no
right to bedenktijd, because it is only for persons without lawful residence). Versions: base
and 2019-08-01 refuse; from 2023-05-18 allowed (R3 for Dublin claimants, R2 otherwise).

The application calls `check_reflection_grant` before it accepts the IND's
`ReflectionPeriodGranted`. Where no signal tells the victim's position, the grant is allowed:
the rule can only refuse on a known position, and the IND holds the file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from residence.domain.categories import ResidencePosition
from residence.domain.history import build_histories
from residence.domain.model import Fact
from residence.domain.rulesets import DEFAULT_SETTINGS, RuleSet, RuleSettings, ruleset_for


@dataclass(frozen=True, slots=True)
class GrantCheck:
    """The answer to "may this reflection period be granted?" with the rule and its version."""

    allowed: bool
    rule: str
    rule_version: str
    reason: str


def grant_refusal(position: ResidencePosition | None, granted_on: date, ruleset: RuleSet) -> str:
    """Why R4 refuses a grant on ``granted_on`` to someone in ``position``; "" when it does not."""
    if position is ResidencePosition.DUBLIN_CLAIMANT and ruleset.dublin_reflection_days is None:
        who = "a Dublin claimant"
    elif position is ResidencePosition.ASYLUM_SEEKER and not ruleset.asylum_seeker_reflection:
        who = "an asylum seeker"
    else:
        return ""
    return (
        f"A reflection period (bedenktijd) cannot be granted to {who} on "
        f"{granted_on.isoformat()}: before 2023-05-18 it is only for a person without lawful "
        "residence (Vc B8/3; changed by WBV 2023/11)."
    )


def check_reflection_grant(
    facts: Iterable[Fact],
    victim_id: str,
    granted_on: date,
    *,
    settings: RuleSettings = DEFAULT_SETTINGS,
) -> GrantCheck:
    """R4: may the IND's reflection period for ``victim_id`` starting ``granted_on`` stand?"""
    ruleset = ruleset_for(granted_on, settings)
    history = build_histories(facts).get(victim_id)
    position = None if history is None else history.position_on(granted_on)
    refusal = grant_refusal(position, granted_on, ruleset)
    if refusal:
        return GrantCheck(False, "R4", ruleset.version, refusal)
    return GrantCheck(
        True,
        "R4",
        ruleset.version,
        f"A reflection period may be granted on {granted_on.isoformat()}.",
    )
