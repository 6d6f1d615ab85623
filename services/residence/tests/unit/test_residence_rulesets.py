"""The rule sets are data with effective dates; every fact is judged by the version of its day."""

from __future__ import annotations

from residence_story import d

from residence.domain import RuleSettings, rulebook, ruleset_for


def test_the_default_rulebook_has_four_versions_in_date_order() -> None:
    assert [r.version for r in rulebook()] == [
        "2001-04-01",
        "2019-08-01",
        "2021-09-14",
        "2023-05-18",
    ]


def test_the_dublin_procedure_starts_on_1_august_2019() -> None:
    assert not ruleset_for(d("2019-07-31")).dublin_presence_assessment
    assert ruleset_for(d("2019-08-01")).dublin_presence_assessment
    assert ruleset_for(d("2019-08-01")).version == "2019-08-01"


def test_route_b_starts_on_its_configured_day() -> None:
    assert not ruleset_for(d("2021-09-13")).prosecution_ground
    assert ruleset_for(d("2021-09-14")).prosecution_ground
    earlier = RuleSettings(prosecution_ground_from=d("2013-07-01"))
    assert ruleset_for(d("2013-07-01"), earlier).prosecution_ground
    assert ruleset_for(d("2013-07-01"), earlier).version == "2013-07-01"
    assert not ruleset_for(d("2013-06-30"), earlier).prosecution_ground


def test_changes_on_the_same_day_make_one_version() -> None:
    same_day = RuleSettings(prosecution_ground_from=d("2019-08-01"))
    versions = rulebook(same_day)
    assert [r.version for r in versions] == ["2001-04-01", "2019-08-01", "2023-05-18"]
    assert versions[1].prosecution_ground
    assert versions[1].dublin_presence_assessment


def test_the_2023_change_opens_reflection_to_every_third_country_national() -> None:
    before, after = ruleset_for(d("2023-05-17")), ruleset_for(d("2023-05-18"))
    assert not before.asylum_seeker_reflection
    assert not before.lawful_resident_reflection
    assert before.dublin_reflection_days is None
    assert after.asylum_seeker_reflection
    assert after.lawful_resident_reflection
    assert after.dublin_reflection_days == 30
    assert "WBV 2023/11" in after.sources


def test_the_lawful_residents_date_is_a_setting_that_changes_nothing_else() -> None:
    judgment = RuleSettings(lawful_residents_reflection_from=d("2022-10-20"))
    assert [r.version for r in rulebook(judgment)] == [
        "2001-04-01",
        "2019-08-01",
        "2021-09-14",
        "2022-10-20",
        "2023-05-18",
    ]
    before, on = ruleset_for(d("2022-10-19"), judgment), ruleset_for(d("2022-10-20"), judgment)
    assert not before.lawful_resident_reflection
    assert on.lawful_resident_reflection
    assert not on.asylum_seeker_reflection
    assert on.dublin_reflection_days is None
    assert any("C-66/21" in source for source in on.sources)
    assert ruleset_for(d("2023-05-18"), judgment).asylum_seeker_reflection


def test_facts_older_than_the_aliens_act_are_judged_by_the_base_rules() -> None:
    assert ruleset_for(d("1999-01-01")).version == "2001-04-01"
