"""R1–R6: offering, granting, refusing and ending the reflection period (bedenktijd)."""

from __future__ import annotations

import pytest
from residence_story import (
    ASYLUM,
    DUBLIN,
    IRREGULAR,
    LAWFUL,
    OTHER_EU,
    WITNESS,
    K,
    Story,
    d,
    day_before,
)

from residence.domain import RuleSettings, check_reflection_grant
from residence.domain.categories import NationalityGroup, ReflectionEndReason, ResidencePosition
from residence.domain.triggers import Addressee

# Who may have a reflection period, on either side of WBV 2023/11 (in force 2023-05-18): before
# it only a third-country national without lawful residence; from it every third-country
# national (lawful residents from a setting whose default is the same day).
ON_EITHER_SIDE_OF_THE_CHANGE = [
    (IRREGULAR, "2023-05-17", True),
    (LAWFUL, "2023-05-17", False),
    (ASYLUM, "2023-05-17", False),
    (DUBLIN, "2023-05-17", False),
    (IRREGULAR, "2023-05-18", True),
    (LAWFUL, "2023-05-18", True),
    (ASYLUM, "2023-05-18", True),
    (DUBLIN, "2023-05-18", True),
]

# --- R1 ---


def test_a_third_country_national_without_lawful_residence_must_be_offered_reflection() -> None:
    story = Story()
    signal = story.signal("2015-06-01", IRREGULAR)
    offer = story.only("2015-06-01", K.REFLECTION_PERIOD_OFFER_REQUIRED)
    assert offer.rule == "R1"
    assert offer.rule_version == "2001-04-01"
    assert offer.based_on == (signal,)
    assert story.fired("2015-05-31") == []


@pytest.mark.parametrize(("position", "signalled", "offered"), ON_EITHER_SIDE_OF_THE_CHANGE)
def test_the_offer_on_either_side_of_18_may_2023_follows_the_residence_position(
    position: ResidencePosition, signalled: str, offered: bool
) -> None:
    story = Story()
    story.signal(signalled, position)
    offers = [t for t in story.on("2030-01-01") if t.kind is K.REFLECTION_PERIOD_OFFER_REQUIRED]
    assert [t.fires_on for t in offers] == ([d(signalled)] if offered else [])
    expected_version = "2021-09-14" if signalled == "2023-05-17" else "2023-05-18"
    assert all(t.rule_version == expected_version for t in offers)
    assert all(t.addressee is Addressee.POLICE for t in offers)


@pytest.mark.parametrize("nationality", [NationalityGroup.DUTCH, NationalityGroup.OTHER_EU])
def test_dutch_and_eu_nationals_without_the_inds_finding_are_not_offered_reflection(
    nationality: NationalityGroup,
) -> None:
    story = Story()
    story.signal("2024-01-10", IRREGULAR, nationality)
    assert story.fired("2030-01-01", K.REFLECTION_PERIOD_OFFER_REQUIRED) == []


def test_an_eu_national_the_ind_found_without_an_eu_right_of_residence_is_offered() -> None:
    story = Story()
    story.no_eu_right("2024-01-05")
    signal = story.signal("2024-01-10", IRREGULAR, OTHER_EU)
    assert story.only("2024-01-10", K.REFLECTION_PERIOD_OFFER_REQUIRED).based_on == (signal,)


def test_the_date_from_which_lawful_residents_are_offered_is_a_setting() -> None:
    judgment = RuleSettings(lawful_residents_reflection_from=d("2022-10-20"))
    story = Story(settings=judgment)
    story.signal("2022-11-01", LAWFUL)
    offer = story.only("2022-11-01", K.REFLECTION_PERIOD_OFFER_REQUIRED)
    assert offer.rule_version == "2022-10-20"
    by_default = Story()
    by_default.signal("2022-11-01", LAWFUL)
    assert by_default.fired("2030-01-01", K.REFLECTION_PERIOD_OFFER_REQUIRED) == []


@pytest.mark.parametrize("position", [ASYLUM, DUBLIN])
def test_moving_the_lawful_residents_date_leaves_asylum_and_dublin_at_18_may_2023(
    position: ResidencePosition,
) -> None:
    story = Story(settings=RuleSettings(lawful_residents_reflection_from=d("2022-10-20")))
    story.signal("2022-11-01", position)
    assert story.fired("2030-01-01", K.REFLECTION_PERIOD_OFFER_REQUIRED) == []


def test_a_lawful_resident_signalled_the_day_before_the_set_date_is_not_offered() -> None:
    story = Story(settings=RuleSettings(lawful_residents_reflection_from=d("2022-10-20")))
    story.signal("2022-10-19", LAWFUL)
    story.signal("2022-10-20", LAWFUL)
    assert story.fired("2030-01-01", K.REFLECTION_PERIOD_OFFER_REQUIRED) == [
        ("ReflectionPeriodOfferRequired", "2022-10-20")
    ]


def test_a_person_who_reports_only_as_a_witness_is_not_offered_reflection() -> None:
    story = Story()
    story.signal("2022-01-10")
    story.report("2022-01-20", capacity=WITNESS)
    story.cooperation("2022-03-01", case="case-002", capacity=WITNESS)
    assert story.fired("2030-01-01", K.REFLECTION_PERIOD_OFFER_REQUIRED) == []


def test_a_witness_in_one_case_who_reports_as_a_victim_in_another_is_offered_reflection() -> None:
    story = Story()
    story.signal("2022-01-10")
    story.report("2022-01-20", capacity=WITNESS)
    story.report("2022-03-01", case="case-002")
    assert story.fired("2030-01-01", K.REFLECTION_PERIOD_OFFER_REQUIRED) == [
        ("ReflectionPeriodOfferRequired", "2022-01-10")
    ]


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


@pytest.mark.parametrize(
    ("position", "who"),
    [(DUBLIN, "Dublin claimant"), (ASYLUM, "asylum"), (LAWFUL, "lawful resident")],
)
def test_reflection_for_lawful_stay_before_the_change_is_not_allowed(
    position: ResidencePosition, who: str
) -> None:
    story = Story()
    story.signal("2023-01-10", position)
    check = check_reflection_grant(story.facts, story.victim, d("2023-05-17"))
    assert not check.allowed
    assert check.rule == "R4"
    assert check.rule_version == "2021-09-14"
    assert who in check.reason
    assert "2023-05-17" in check.reason
    assert "WBV 2023/11" in check.reason
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


def test_a_grant_the_rules_do_not_allow_has_no_expiry_and_is_a_finding_for_the_ind() -> None:
    story = Story()
    grant = story.reflection_granted("2020-02-01")
    signal = story.signal("2020-01-10", DUBLIN)  # known after the grant; order does not matter
    assert story.fired("2030-01-01", K.REFLECTION_PERIOD_EXPIRY_DUE) == []
    finding = story.only("2020-02-01", K.DECISION_NOT_ALLOWED_FOUND)
    assert finding.fires_on == d("2020-02-01")
    assert finding.rule == "R4"
    assert finding.decision_event_id == grant
    assert finding.payload()["decision_event_id"] == grant
    assert {grant, signal} <= set(finding.based_on)
    assert finding.addressee is Addressee.IND
    assert "Dublin claimant" in finding.reason
    assert story.fired("2020-01-31", K.DECISION_NOT_ALLOWED_FOUND) == []


@pytest.mark.parametrize(("position", "granted", "allowed"), ON_EITHER_SIDE_OF_THE_CHANGE)
def test_an_ind_grant_on_either_side_of_18_may_2023_expires_or_is_a_finding(
    position: ResidencePosition, granted: str, allowed: bool
) -> None:
    story = Story()
    story.signal("2023-05-01", position)
    story.reflection_granted(granted)
    offer = K.REFLECTION_PERIOD_OFFER_REQUIRED
    kinds = [t.kind for t in story.on("2030-01-01") if t.kind is not offer]
    if allowed:
        assert kinds == [K.REFLECTION_PERIOD_EXPIRY_DUE]
    else:
        assert kinds == [K.DECISION_NOT_ALLOWED_FOUND]
    assert check_reflection_grant(story.facts, story.victim, d(granted)).allowed is allowed


def test_an_ind_grant_to_a_lawful_resident_is_allowed_from_the_set_date() -> None:
    settings = RuleSettings(lawful_residents_reflection_from=d("2022-10-20"))
    story = Story(settings=settings)
    story.signal("2022-10-01", LAWFUL)
    story.reflection_granted("2022-11-01")
    assert story.fired("2030-01-01", K.DECISION_NOT_ALLOWED_FOUND) == []
    assert story.only("2023-02-01", K.REFLECTION_PERIOD_EXPIRY_DUE).expired_on == d("2023-02-01")
    assert check_reflection_grant(story.facts, story.victim, d("2022-11-01"), settings=settings)
    assert not check_reflection_grant(story.facts, story.victim, d("2022-11-01")).allowed


def test_an_ind_grant_to_a_person_who_reports_only_as_a_witness_is_a_finding() -> None:
    story = Story()
    story.signal("2022-01-10")
    story.report("2022-01-20", capacity=WITNESS)
    grant = story.reflection_granted("2022-02-01")
    finding = story.only("2030-01-01", K.DECISION_NOT_ALLOWED_FOUND)
    assert finding.decision_event_id == grant
    assert "witness" in finding.reason
    assert story.fired("2030-01-01", K.REFLECTION_PERIOD_EXPIRY_DUE) == []


def test_an_ind_grant_to_an_eu_national_with_an_eu_right_of_residence_is_a_finding() -> None:
    story = Story()
    story.signal("2024-01-10", IRREGULAR, OTHER_EU)
    grant = story.reflection_granted("2024-01-20")
    assert story.only("2030-01-01", K.DECISION_NOT_ALLOWED_FOUND).decision_event_id == grant
    assert story.fired("2030-01-01", K.REFLECTION_PERIOD_EXPIRY_DUE) == []
