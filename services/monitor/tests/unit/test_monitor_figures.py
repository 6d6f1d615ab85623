"""Chain figures per year (ketencijfers) on the fixed chain, counted by hand."""

from __future__ import annotations

from datetime import date

import pytest
from monitor_chain_builders import fixed_chain

from monitor.domain import ChainProjection, YearFigures, chain_figures


def figures(as_of: date, min_group_size: int = 1) -> dict[int, YearFigures]:
    projection = ChainProjection()
    projection.apply_all(fixed_chain().facts)
    return {f.year: f for f in chain_figures(projection.view(as_of), min_group_size=min_group_size)}


def test_victims_in_view_per_year_by_form_minor_and_nationality() -> None:
    year = figures(date(2021, 12, 31))[2020]
    # victim-001 sexual/Dutch, 002 labour/third country, 003 sexual/EU minor, 004 sexual/third
    assert year.victims_in_view == 4
    assert year.victims_by_form == {"LABOUR": 1, "SEXUAL": 3}
    assert year.victims_minor == 1
    assert year.victims_by_nationality_group == {"DUTCH": 1, "OTHER_EU": 1, "THIRD_COUNTRY": 2}
    assert figures(date(2021, 12, 31))[2021].victims_in_view == 4  # 005, 006, 007, 008


def test_reports_inflow_decisions_and_summons_share() -> None:
    by_year = figures(date(2021, 12, 31))
    assert (by_year[2020].reports, by_year[2021].reports) == (4, 3)
    # Registrations per suspect: suspect-001, 002, 003 and 004 all in 2020.
    assert (by_year[2020].om_inflow, by_year[2021].om_inflow) == (4, 0)
    assert by_year[2020].om_decisions == {"SUMMONS": 1}
    assert by_year[2021].om_decisions == {
        "DISMISSAL_POLICY": 1,
        "DISMISSAL_TECHNICAL": 1,
        "SUMMONS": 1,
    }
    share = by_year[2021].summons_share
    assert (share.numerator, share.denominator) == (1, 3)
    assert share.value == pytest.approx(1 / 3)


def test_first_instance_verdicts_and_conviction_share() -> None:
    year = figures(date(2021, 12, 31))[2021]
    assert year.first_instance_verdicts == 2
    assert year.verdicts_by_outcome == {"ACQUITTAL": 1, "CONVICTION_TRAFFICKING": 1}
    assert year.conviction_share.value == pytest.approx(0.5)


def test_reflection_periods_and_permits() -> None:
    year = figures(date(2021, 12, 31))[2020]
    assert (year.reflection_periods_offered, year.reflection_periods_granted) == (1, 1)
    assert year.temporary_permits_granted == 1
    assert year.non_temporary_permits_granted == 0


def test_non_temporary_triggers_by_ground_leave_out_retracted_ones() -> None:
    # trigger-3 (PROSECUTION, 2021-01-04) was retracted on 2021-02-01.
    assert figures(date(2021, 12, 31))[2021].non_temporary_triggers == {"CONVICTION": 1}
    assert figures(date(2021, 1, 31))[2021].non_temporary_triggers == {"PROSECUTION": 1}
    assert figures(date(2021, 12, 31))[2020].non_temporary_triggers == {"PROSECUTION": 1}


def test_repeat_victimisation_counts_a_new_signal_within_five_years() -> None:
    # victim-001 (signal 2020-01-10) is in view again on 2023-02-01: 1 of the 4 of 2020.
    before = figures(date(2021, 12, 31))[2020].repeat_victimisation
    assert (before.numerator, before.denominator) == (0, 4)
    after = figures(date(2025, 12, 30))
    assert after[2020].repeat_victimisation.value == pytest.approx(0.25)
    assert not after[2020].repeat_follow_up_complete
    assert after[2023].victims_in_view == 1
    # The last victim of 2020 could be in view again up to 2025-12-31.
    assert figures(date(2025, 12, 31))[2020].repeat_follow_up_complete


def test_shares_of_small_groups_are_withheld() -> None:
    year = figures(date(2021, 12, 31), min_group_size=10)[2021]
    assert year.summons_share.small_group
    assert year.summons_share.value is None
    assert year.summons_share.denominator == 3  # the count itself is still shown
    assert year.conviction_share.value is None
    assert year.repeat_victimisation.value is None
