"""R4 where intake owns the facts: which reflection offers the police may make, by the offer's
date, on the boundary days of WBV 2023/11 and of the lawful-residents setting (C-66/21)."""

from __future__ import annotations

from datetime import date

import pytest

from intake.domain.reflection_offer import (
    ReflectionOfferSettings,
    SignalSituation,
    reflection_offer_refusal,
)

BEFORE = date(2023, 5, 17)
FROM = date(2023, 5, 18)


def situation(nationality: str, position: str) -> SignalSituation:
    return SignalSituation(date(2022, 1, 3), nationality, position)


@pytest.mark.parametrize("position", ["LAWFUL", "IRREGULAR", "ASYLUM_SEEKER", "DUBLIN_CLAIMANT"])
@pytest.mark.parametrize("offered_on", [BEFORE, FROM])
def test_a_dutch_national_is_never_offered_the_reflection_period(
    position: str, offered_on: date
) -> None:
    refusal = reflection_offer_refusal(situation("DUTCH", position), offered_on)
    assert "Dutch" in refusal


@pytest.mark.parametrize("position", ["LAWFUL", "IRREGULAR", "ASYLUM_SEEKER", "DUBLIN_CLAIMANT"])
@pytest.mark.parametrize("offered_on", [BEFORE, FROM])
def test_the_police_offer_no_eu_national_the_period_because_the_ind_finding_decides(
    position: str, offered_on: date
) -> None:
    refusal = reflection_offer_refusal(situation("OTHER_EU", position), offered_on)
    assert "IND" in refusal
    assert "EU law" in refusal


@pytest.mark.parametrize("offered_on", [date(2010, 1, 1), BEFORE, FROM])
def test_a_third_country_national_without_lawful_residence_may_always_be_offered_it(
    offered_on: date,
) -> None:
    assert reflection_offer_refusal(situation("THIRD_COUNTRY", "IRREGULAR"), offered_on) == ""


@pytest.mark.parametrize(
    ("position", "who"),
    [("ASYLUM_SEEKER", "an asylum seeker"), ("DUBLIN_CLAIMANT", "a Dublin claimant")],
)
def test_asylum_seekers_and_dublin_claimants_are_refused_until_2023_05_17(
    position: str, who: str
) -> None:
    refusal = reflection_offer_refusal(situation("THIRD_COUNTRY", position), BEFORE)
    assert who in refusal
    assert "2023-05-18" in refusal
    assert "R4" in refusal
    assert reflection_offer_refusal(situation("THIRD_COUNTRY", position), FROM) == ""


def test_a_lawful_resident_is_refused_until_the_day_before_the_lawful_residents_date() -> None:
    lawful = situation("THIRD_COUNTRY", "LAWFUL")
    refusal = reflection_offer_refusal(lawful, BEFORE)
    assert "lawful residence" in refusal
    assert "C-66/21" in refusal
    assert reflection_offer_refusal(lawful, FROM) == ""


def test_the_lawful_residents_date_is_a_setting_and_moves_only_that_boundary() -> None:
    judgment = ReflectionOfferSettings(lawful_residents_from=date(2022, 10, 20))
    lawful = situation("THIRD_COUNTRY", "LAWFUL")
    assert reflection_offer_refusal(lawful, date(2022, 10, 19), settings=judgment)
    assert reflection_offer_refusal(lawful, date(2022, 10, 20), settings=judgment) == ""
    # Asylum seekers and Dublin claimants keep WBV 2023/11's date.
    asylum = situation("THIRD_COUNTRY", "ASYLUM_SEEKER")
    assert reflection_offer_refusal(asylum, date(2022, 10, 20), settings=judgment)
    later = ReflectionOfferSettings(lawful_residents_from=date(2024, 1, 1))
    assert reflection_offer_refusal(lawful, FROM, settings=later)
    assert reflection_offer_refusal(asylum, FROM, settings=later) == ""


@pytest.mark.parametrize("offered_on", [BEFORE, FROM])
def test_a_witness_whose_reports_are_all_a_witnesss_is_refused(offered_on: date) -> None:
    irregular = situation("THIRD_COUNTRY", "IRREGULAR")
    refusal = reflection_offer_refusal(irregular, offered_on, ["WITNESS", "WITNESS"])
    assert "witness" in refusal
    assert "R1" in refusal
    # One report as the victim is enough; no report at all is no witness.
    assert reflection_offer_refusal(irregular, offered_on, ["WITNESS", "VICTIM"]) == ""
    assert reflection_offer_refusal(irregular, offered_on, []) == ""
