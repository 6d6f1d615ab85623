"""R3 — a reflection period granted to a Dublin claimant.

Source and reading: docs/domain.md#r3. Tests: tests/unit/test_reflection_rules.py (in
services/residence). Versions: from 2023-05-18 — as R2 but for 30 days (granted 2023-06-01,
expired on 2023-07-01); before it R4 refuses the grant.
"""

from __future__ import annotations

from datetime import date, timedelta

from residence.domain.rulesets import RuleSet


def dublin_reflection_expiry(start: date, ruleset: RuleSet) -> date | None:
    """The day the Dublin claimant's period has expired, or None where R4 forbids the grant."""
    if ruleset.dublin_reflection_days is None:
        return None
    return start + timedelta(days=ruleset.dublin_reflection_days)
