"""R1–R6: offering, granting, refusing and ending the reflection period (bedenktijd)."""

from __future__ import annotations

import pytest
from residence_story import ASYLUM, DUBLIN, IRREGULAR, LAWFUL, K, Story, d, day_before

from residence.domain import check_reflection_grant
from residence.domain.categories import NationalityGroup, ReflectionEndReason, ResidencePosition

# --- R1 ---


def test_a_third_country_national_without_lawful_residence_must_be_offered_reflection() -> None:
    story = Story()
    signal = story.signal("2015-06-01", IRREGULAR)
    offer = story.only("2015-06-01", K.REFLECTION_PERIOD_OFFER_REQUIRED)
    assert offer.rule == "R1"
    assert offer.rule_version == "2001-04-01"
    assert offer.based_on == (signal,)
    assert story.fired("2015-05-31") == []


@pytest.mark.parametrize("position", [LAWFUL, ASYLUM, DUBLIN])
def test_before_18_may_2023_lawful_stay_means_no_offer(position: ResidencePosition) -> None:
    story = Story()
    story.signal("2023-05-17", position)
    assert story.fired("2030-01-01", K.REFLECTION_PERIOD_OFFER_REQUIRED) == []


@pytest.mark.parametrize("position", [LAWFUL, ASYLUM, DUBLIN, IRREGULAR])
def test_from_18_may_2023_every_third_country_national_is_offered(
    position: ResidencePosition,
) -> None:
    story = Story()
    story.signal("2023-05-18", position)
    offer = story.only("2023-05-18", K.REFLECTION_PERIOD_OFFER_REQUIRED)
    assert offer.rule_version == "2023-05-18"


@pytest.mark.parametrize("nationality", [NationalityGroup.DUTCH, NationalityGroup.OTHER_EU])
def test_dutch_and_eu_nationals_are_never_offered_reflection(
    nationality: NationalityGroup,
) -> None:
    story = Story()
    story.signal("2024-01-10", IRREGULAR, nationality)
    assert story.fired("2030-01-01", K.REFLECTION_PERIOD_OFFER_REQUIRED) == []


def test_a_victim_who_comes_into_view_again_is_offered_reflection_again() -> None:
    story = Story()
    story.signal("2016-03-01")
    story.signal("2021-03-01")
    assert story.fired("2030-01-01", K.REFLECTION_PERIOD_OFFER_REQUIRED) == [
        ("ReflectionPeriodOfferRequired", "2016-03-01"),
        ("ReflectionPeriodOfferRequired", "2021-03-01"),
    ]


# --- R2 and R6: expiry after three calendar months ---


@pytest.mark.parametrize(
    ("granted", "expires"),
    [
        ("2022-01-31", "2022-04-30"),
        ("2023-11-30", "2024-02-29"),
        ("2022-11-30", "2023-02-28"),
        ("2019-03-15", "2019-06-15"),
    ],
)
def test_a_reflection_period_expires_three_calendar_months_after_the_grant(
    granted: str, expires: str
) -> None:
    story = Story()
    story.signal(granted)
    story.reflection_granted(granted)
    assert story.fired(day_before(expires), K.REFLECTION_PERIOD_EXPIRY_DUE) == []
    expiry = story.only(expires, K.REFLECTION_PERIOD_EXPIRY_DUE)
    assert expiry.expired_on == d(expires)
    assert expiry.rule == "R6"
    assert story.next_deadline(day_before(expires)) == d(expires)


def test_a_report_the_day_before_expiry_ends_the_period_without_an_expiry_trigger() -> None:
    story = Story()
    story.signal("2022-01-31")
    story.reflection_granted("2022-01-31")
    story.report("2022-04-29")
    kinds = {t.kind for t in story.on("2030-01-01")}
    assert K.REFLECTION_PERIOD_EXPIRY_DUE not in kinds
    assert K.TEMPORARY_PERMIT_APPLICATION_INDICATED in kinds


def test_a_report_on_the_expiry_day_comes_after_the_period_but_is_still_an_application() -> None:
    story = Story()
    story.signal("2022-01-31")
    story.reflection_granted("2022-01-31")
    story.report("2022-04-30")
    assert story.fired("2022-04-30") == [
        ("ReflectionPeriodOfferRequired", "2022-01-31"),
        ("ReflectionPeriodExpiryDue", "2022-04-30"),
        ("TemporaryPermitApplicationIndicated", "2022-04-30"),
    ]


def test_declared_cooperation_ends_the_period_like_a_report() -> None:
    story = Story()
    story.signal("2022-01-31")
    story.reflection_granted("2022-01-31")
    story.cooperation("2022-02-15")
    assert story.fired("2030-01-01", K.REFLECTION_PERIOD_EXPIRY_DUE) == []
    assert story.only("2022-02-15", K.TEMPORARY_PERMIT_APPLICATION_INDICATED).application_date == (
        d("2022-02-15")
    )


def test_declining_the_period_tells_the_ind_on_the_day_it_was_declined() -> None:
    story = Story()
    story.signal("2022-01-31")
    grant = story.reflection_granted("2022-01-31")
    decline = story.declined("2022-02-10")
    expiry = story.only("2030-01-01", K.REFLECTION_PERIOD_EXPIRY_DUE)
    assert expiry.expired_on == d("2022-02-10")
    assert expiry.fires_on == d("2022-02-10")
    assert expiry.based_on == tuple(sorted((grant, decline)))


def test_declining_the_offer_before_any_grant_tells_the_ind_too() -> None:
    story = Story()
    story.signal("2022-01-31")
    story.declined("2022-02-02")
    assert story.fired("2030-01-01", K.REFLECTION_PERIOD_EXPIRY_DUE) == [
        ("ReflectionPeriodExpiryDue", "2022-02-02")
    ]


def test_declining_after_having_reported_is_no_news_for_the_ind() -> None:
    story = Story()
    story.signal("2022-01-31")
    story.report("2022-02-01")
    story.declined("2022-02-02")
    assert story.fired("2030-01-01", K.REFLECTION_PERIOD_EXPIRY_DUE) == []


def test_an_end_the_ind_reports_itself_raises_nothing() -> None:
    story = Story()
    story.signal("2022-01-31")
    story.reflection_granted("2022-01-31")
    story.reflection_ended("2022-03-01", ReflectionEndReason.ENDED_EARLY)
    assert story.fired("2030-01-01", K.REFLECTION_PERIOD_EXPIRY_DUE) == []


# --- R3: Dublin claimants from 18 May 2023 ---


def test_a_dublin_claimant_granted_reflection_on_the_first_day_has_thirty_days() -> None:
    story = Story()
    story.signal("2023-05-01", DUBLIN)
    story.reflection_granted("2023-05-18")
    assert story.fired("2023-06-16", K.REFLECTION_PERIOD_EXPIRY_DUE) == []
    assert story.only("2023-06-17", K.REFLECTION_PERIOD_EXPIRY_DUE).expired_on == d("2023-06-17")


def test_an_asylum_seeker_granted_reflection_after_the_change_has_three_months() -> None:
    story = Story()
    story.signal("2023-05-01", ASYLUM)
    story.reflection_granted("2023-06-01")
    assert story.only("2023-09-01", K.REFLECTION_PERIOD_EXPIRY_DUE).expired_on == d("2023-09-01")


# --- R4 ---


@pytest.mark.parametrize(("position", "who"), [(DUBLIN, "Dublin claimant"), (ASYLUM, "asylum")])
def test_reflection_for_a_dublin_claimant_or_asylum_seeker_before_the_change_is_refused(
    position: ResidencePosition, who: str
) -> None:
    story = Story()
    story.signal("2023-01-10", position)
    check = check_reflection_grant(story.facts, story.victim, d("2023-05-17"))
    assert not check.allowed
    assert check.rule == "R4"
    assert check.rule_version == "2021-09-14"
    assert who in check.reason
    assert "2023-05-18" in check.reason
    assert story.victim not in check.reason


@pytest.mark.parametrize("position", [DUBLIN, ASYLUM])
def test_reflection_for_them_from_18_may_2023_is_allowed(position: ResidencePosition) -> None:
    story = Story()
    story.signal("2023-01-10", position)
    check = check_reflection_grant(story.facts, story.victim, d("2023-05-18"))
    assert check.allowed
    assert check.rule_version == "2023-05-18"


def test_reflection_for_someone_without_lawful_residence_is_always_allowed() -> None:
    story = Story()
    story.signal("2012-01-10", IRREGULAR)
    assert check_reflection_grant(story.facts, story.victim, d("2012-01-11")).allowed


def test_reflection_for_a_victim_of_unknown_position_is_allowed() -> None:
    assert check_reflection_grant([], "victim-404", d("2020-01-01")).allowed


def test_the_position_on_the_grant_day_counts_not_a_later_one() -> None:
    story = Story()
    story.signal("2020-01-10", IRREGULAR)
    story.signal("2020-06-01", DUBLIN)
    assert check_reflection_grant(story.facts, story.victim, d("2020-02-01")).allowed
    assert not check_reflection_grant(story.facts, story.victim, d("2020-06-02")).allowed


def test_a_grant_refused_under_r4_that_slipped_in_has_no_expiry() -> None:
    story = Story()
    story.reflection_granted("2020-02-01")
    story.signal("2020-01-10", DUBLIN)
    assert story.fired("2030-01-01", K.REFLECTION_PERIOD_EXPIRY_DUE) == []
