"""R2 — a reflection period granted to someone who is not a Dublin claimant.

Source and reading: docs/domain.md#r2. Tests: tests/unit/test_reflection_rules.py (in
services/residence). All versions: lawful stay and departure suspended from the grant until
start + 3 calendar months (clipped to the month's end: 30 Nov + 3 months = 28 Feb or 29 Feb).
"""

from __future__ import annotations

from datetime import date

from ketenzicht_common.months import add_months
from residence.domain.rulesets import RuleSet


def ordinary_reflection_expiry(start: date, ruleset: RuleSet) -> date:
    """The day the reflection period has expired (start + the rule set's months)."""
    return add_months(start, ruleset.reflection_months)
