"""The simulated IND follows the residence rules as residence.domain.rulesets states them: the
dates the rules change on, and the lengths they count."""

from __future__ import annotations

from datetime import date, timedelta

from chainsim import DEFAULT
from chainsim.calibration import (
    DUBLIN_PRESENCE_ASSESSMENT_FROM,
    DUBLIN_REFLECTION_DAYS,
    EXTENSION_NOTICE_DAYS,
    PROSECUTION_GROUND_FROM,
    REFLECTION_MONTHS,
    REFLECTION_RULES_CHANGED_ON,
    THREE_YEARS_MONTHS,
)
from residence.domain.rulesets import DEFAULT_SETTINGS, ruleset_for

DAY = timedelta(days=1)


def test_the_reflection_rules_change_on_the_day_the_rulesets_do() -> None:
    before, on = (
        ruleset_for(REFLECTION_RULES_CHANGED_ON - DAY),
        ruleset_for(REFLECTION_RULES_CHANGED_ON),
    )
    assert (before.dublin_reflection_days, before.asylum_seeker_reflection) == (None, False)
    assert (on.dublin_reflection_days, on.asylum_seeker_reflection) == (
        DUBLIN_REFLECTION_DAYS,
        True,
    )
    assert DEFAULT_SETTINGS.lawful_residents_reflection_from == REFLECTION_RULES_CHANGED_ON


def test_the_dublin_presence_assessment_starts_on_the_day_the_rulesets_do() -> None:
    assert not ruleset_for(DUBLIN_PRESENCE_ASSESSMENT_FROM - DAY).dublin_presence_assessment
    assert ruleset_for(DUBLIN_PRESENCE_ASSESSMENT_FROM).dublin_presence_assessment


def test_route_b_starts_on_the_residence_default() -> None:
    assert DEFAULT.prosecution_ground_from == PROSECUTION_GROUND_FROM
    assert DEFAULT_SETTINGS.prosecution_ground_from == PROSECUTION_GROUND_FROM
    assert not ruleset_for(PROSECUTION_GROUND_FROM - DAY).prosecution_ground
    assert ruleset_for(PROSECUTION_GROUND_FROM).prosecution_ground


def test_the_lengths_the_generator_counts_are_the_rulesets() -> None:
    for day in (date(2015, 1, 1), date(2020, 1, 1), date(2022, 1, 1), date(2024, 1, 1)):
        rules = ruleset_for(day)
        assert rules.reflection_months == REFLECTION_MONTHS
        assert rules.extension_notice_days == EXTENSION_NOTICE_DAYS
        assert 12 * rules.three_year_years == THREE_YEARS_MONTHS
