"""R11–R15: the grounds for the non-temporary permit, the individual assessment, and R15."""

from __future__ import annotations

import pytest
from residence_story import WITNESS, K, Story, d, day_before

from residence.domain import NonTemporaryGround, RuleSettings
from residence.domain.categories import CourtInstance, OtherDisposalKind, VerdictOutcome
from residence.domain.model import CaseStep

# --- R11 ---


def test_a_summons_the_day_before_route_b_is_no_ground() -> None:
    story = Story()
    story.report("2020-01-10")
    story.summoned("2021-09-13")
    assert story.fired("2022-06-01", K.NON_TEMPORARY_PERMIT_INDICATED) == []


def test_a_summons_on_the_first_day_of_route_b_is_a_ground() -> None:
    story = Story()
    story.report("2020-01-10")
    story.summoned("2021-09-14")
    indication = story.only("2021-09-14", K.NON_TEMPORARY_PERMIT_INDICATED)
    assert indication.ground is NonTemporaryGround.PROSECUTION
    assert indication.rule_version == "2021-09-14"


def test_the_start_of_route_b_is_a_setting() -> None:
    story = Story(settings=RuleSettings(prosecution_ground_from=d("2014-01-01")))
    story.report("2014-05-01")
    story.summoned("2015-02-02")
    indication = story.only("2015-02-02", K.NON_TEMPORARY_PERMIT_INDICATED)
    assert indication.ground is NonTemporaryGround.PROSECUTION
    assert indication.rule_version == "2014-01-01"


def test_reporting_in_a_case_already_prosecuted_reaches_the_ground_on_the_report_day() -> None:
    story = Story()
    story.summoned("2022-02-01")
    story.report("2022-03-15")
    indication = story.only("2022-03-15", K.NON_TEMPORARY_PERMIT_INDICATED)
    assert indication.ground is NonTemporaryGround.PROSECUTION
    assert indication.fires_on == d("2022-03-15")


def test_a_summons_after_the_victim_withdrew_is_no_ground_for_that_victim() -> None:
    story = Story()
    story.report("2022-01-10")
    story.withdrawn("2022-05-01")
    story.summoned("2022-09-01")
    assert story.fired("2030-01-01", K.NON_TEMPORARY_PERMIT_INDICATED) == []


def test_a_summons_in_someone_elses_case_is_no_ground() -> None:
    first = Story(victim="victim-001", case="case-001", prefix="a")
    first.report("2022-01-10")
    first.summoned("2022-09-01")
    second = Story(victim="victim-002", case="case-002", facts=first.facts, prefix="b")
    second.report("2022-01-11")
    decisions = second.on("2024-12-31")
    victims = {t.victim_id for t in decisions if t.kind is K.NON_TEMPORARY_PERMIT_INDICATED}
    assert victims == {"victim-001"}


def test_a_summons_in_a_shared_case_is_a_ground_for_every_victim_who_reported() -> None:
    first = Story(victim="victim-001", case="case-001", prefix="a")
    first.report("2022-01-10")
    first.summoned("2022-09-01")
    second = Story(victim="victim-002", case="case-001", facts=first.facts, prefix="b")
    second.cooperation("2022-01-11")
    decisions = second.on("2030-01-01")
    victims = {t.victim_id for t in decisions if t.kind is K.NON_TEMPORARY_PERMIT_INDICATED}
    assert victims == {"victim-001", "victim-002"}


# --- R12 ---


@pytest.mark.parametrize(
    "outcome",
    [
        VerdictOutcome.CONVICTION_TRAFFICKING,
        VerdictOutcome.CONVICTION_OTHER_OFFENCE_TRAFFICKING_CHARGED,
    ],
)
def test_a_conviction_is_a_ground_in_every_rule_version(outcome: VerdictOutcome) -> None:
    story = Story()
    story.report("2008-01-10")
    story.summoned("2008-06-01")
    story.verdict("2009-02-02", outcome)
    indication = story.only("2009-02-02", K.NON_TEMPORARY_PERMIT_INDICATED)
    assert indication.ground is NonTemporaryGround.CONVICTION
    assert indication.rule == "R12"
    assert indication.rule_version == "2001-04-01"


def test_a_conviction_on_appeal_is_a_ground_too() -> None:
    story = Story()
    story.report("2008-01-10")
    story.verdict("2009-02-02", VerdictOutcome.ACQUITTAL)
    story.appeal("2009-02-10")
    story.verdict(
        "2010-03-03", VerdictOutcome.CONVICTION_TRAFFICKING, instance=CourtInstance.APPEAL
    )
    indication = story.only("2030-01-01", K.NON_TEMPORARY_PERMIT_INDICATED)
    assert indication.ground is NonTemporaryGround.CONVICTION
    assert indication.fires_on == d("2010-03-03")


def test_a_verdict_of_another_kind_is_no_ground() -> None:
    story = Story()
    story.report("2008-01-10")
    story.verdict("2009-02-02", VerdictOutcome.OTHER)
    assert story.fired("2010-01-01", K.NON_TEMPORARY_PERMIT_INDICATED) == []


# --- R13 ---


def test_three_years_count_only_permits_the_ind_granted() -> None:
    story = Story()
    story.report("2020-03-01")
    story.investigation_opened("2020-03-02")
    # The application alone, undecided by the IND, is no permit held.
    assert story.fired("2030-01-01", K.NON_TEMPORARY_PERMIT_INDICATED) == []
    grant, *extensions = story.permit_held("2020-03-01", through="2023-03-01")
    indication = story.only("2023-03-01", K.NON_TEMPORARY_PERMIT_INDICATED)
    assert indication.ground is NonTemporaryGround.THREE_YEARS
    assert indication.fires_on == d("2023-03-01")
    assert {grant, *extensions} <= set(indication.based_on)


def test_a_permit_the_ind_did_not_extend_to_the_mark_reaches_no_three_years() -> None:
    story = Story()
    story.report("2020-03-01")
    story.permit("2020-03-01", "2021-03-01")
    story.extended("2021-01-30", "2023-02-28")
    assert story.fired("2030-01-01", K.NON_TEMPORARY_PERMIT_INDICATED) == []
    story.extended("2023-01-29", "2024-02-28")
    assert story.only("2023-03-01", K.NON_TEMPORARY_PERMIT_INDICATED).fires_on == d("2023-03-01")


def test_three_years_from_29_february_end_on_28_february() -> None:
    story = Story()
    story.report("2020-02-29")
    story.permit_held("2020-02-29", through="2023-02-28")
    assert story.fired("2023-02-27", K.NON_TEMPORARY_PERMIT_INDICATED) == []
    assert story.only("2023-02-28", K.NON_TEMPORARY_PERMIT_INDICATED).fires_on == d("2023-02-28")


def test_three_years_from_a_month_end_keep_the_month_end() -> None:
    story = Story()
    story.report("2019-08-31")
    story.permit_held("2019-08-31", through="2022-08-31")
    assert story.fired("2022-08-30", K.NON_TEMPORARY_PERMIT_INDICATED) == []
    assert story.only("2022-08-31", K.NON_TEMPORARY_PERMIT_INDICATED).fires_on == d("2022-08-31")


@pytest.mark.parametrize(
    ("dismissed", "fired"),
    [
        ("2023-02-28", []),
        # A step on the mark itself counts: the case must still run after that day's steps.
        ("2023-03-01", []),
        ("2023-03-02", [("NonTemporaryPermitIndicated", "2023-03-01")]),
    ],
)
def test_the_case_must_still_run_on_the_three_year_mark(
    dismissed: str, fired: list[tuple[str, str]]
) -> None:
    story = Story()
    story.report("2020-03-01")
    story.permit_held("2020-03-01", through="2024-03-01")
    story.dismissed(dismissed)
    assert story.fired("2030-01-01", K.NON_TEMPORARY_PERMIT_INDICATED) == fired


def test_three_years_are_reached_while_another_case_of_the_victim_still_runs() -> None:
    story = Story()
    story.report("2020-03-01", case="case-001")
    second = story.report("2021-05-01", case="case-002")
    story.permit_held("2020-03-01", through="2023-03-01", case="case-001")
    story.dismissed("2022-06-01")  # case-001 stops; case-002 still runs on the mark
    indication = story.only("2023-03-01", K.NON_TEMPORARY_PERMIT_INDICATED)
    assert indication.ground is NonTemporaryGround.THREE_YEARS
    assert indication.case_id == "case-001"  # the case the permit was granted in
    assert second in indication.based_on


def test_three_years_are_not_reached_once_every_case_of_the_victim_stopped() -> None:
    story = Story()
    story.report("2020-03-01", case="case-001")
    story.report("2021-05-01", case="case-002")
    story.permit_held("2020-03-01", through="2023-03-01", case="case-001")
    story.dismissed("2022-06-01")
    story.withdrawn("2023-01-10", case="case-002")
    assert story.fired("2030-01-01", K.NON_TEMPORARY_PERMIT_INDICATED) == []


def test_permits_that_follow_without_a_gap_count_as_one_holding() -> None:
    story = Story()
    story.report("2020-03-01")
    story.permit("2020-03-01", "2021-02-28")
    story.permit("2021-03-01", "2023-06-01")
    assert story.only("2023-03-01", K.NON_TEMPORARY_PERMIT_INDICATED).fires_on == d("2023-03-01")


def test_a_gap_of_one_day_between_permits_restarts_the_count() -> None:
    story = Story()
    story.report("2020-03-01")
    story.permit("2020-03-01", "2021-02-27")
    story.permit("2021-03-01", "2024-06-01")
    assert story.fired("2024-02-29", K.NON_TEMPORARY_PERMIT_INDICATED) == []
    assert story.only("2024-03-01", K.NON_TEMPORARY_PERMIT_INDICATED).fires_on == d("2024-03-01")


def test_a_permit_withdrawn_retroactively_before_the_mark_reaches_no_ground() -> None:
    story = Story()
    story.report("2020-03-01")
    story.permit("2020-03-01", "2024-03-01")
    story.permit_ended("2023-05-01", "2023-01-15")
    assert story.fired("2030-01-01", K.NON_TEMPORARY_PERMIT_INDICATED) == []


def test_a_refused_application_starts_no_count() -> None:
    story = Story()
    story.report("2020-03-01")
    story.permit_refused("2020-04-01")
    assert story.fired("2030-01-01", K.NON_TEMPORARY_PERMIT_INDICATED) == []


def test_a_grant_reported_late_and_backdated_fires_at_once_when_its_three_years_passed() -> None:
    story = Story()
    story.report("2019-01-10")
    assert story.fired("2023-06-01", K.NON_TEMPORARY_PERMIT_INDICATED) == []
    # The IND reports on 2023-06-01 the permit it granted from the report day, and its
    # extensions: the three years passed on 2022-01-10, so the ground is reached at once.
    story.permit("2019-01-10", "2020-01-10", on="2023-06-01")
    story.extended("2023-06-01", "2021-01-10")
    story.extended("2023-06-01", "2022-01-10")
    story.extended("2023-06-01", "2024-01-10")
    indication = story.only("2023-06-01", K.NON_TEMPORARY_PERMIT_INDICATED)
    assert indication.fires_on == d("2022-01-10")
    assert indication.ground is NonTemporaryGround.THREE_YEARS


# --- R14 ---


def test_a_dismissal_before_any_ground_requires_an_individual_assessment() -> None:
    story = Story()
    story.report("2016-01-10")
    story.dismissed("2017-05-05")
    assessment = story.only("2017-05-05", K.NON_TEMPORARY_ASSESSMENT_REQUIRED)
    assert assessment.rule == "R14"
    assert story.fired("2017-05-04", K.NON_TEMPORARY_ASSESSMENT_REQUIRED) == []


def test_an_acquittal_before_any_ground_requires_it_at_once_even_before_it_is_final() -> None:
    story = Story()
    story.report("2016-01-10")
    story.summoned("2016-06-01")
    story.verdict("2017-05-05", VerdictOutcome.ACQUITTAL)
    assert story.only("2017-05-05", K.NON_TEMPORARY_ASSESSMENT_REQUIRED).fires_on == d("2017-05-05")


def test_a_decision_not_to_investigate_requires_it_too() -> None:
    story = Story()
    story.report("2016-01-10")
    story.no_investigation("2016-02-01")
    assert story.only("2016-02-01", K.NON_TEMPORARY_ASSESSMENT_REQUIRED).fires_on == d("2016-02-01")


def test_a_dismissal_on_the_day_a_ground_is_reached_requires_no_assessment() -> None:
    story = Story()
    story.report("2020-03-01")
    story.permit_held("2020-03-01", through="2024-03-01")
    story.dismissed("2023-03-01")
    assert story.fired("2030-01-01", K.NON_TEMPORARY_ASSESSMENT_REQUIRED) == [
        ("NonTemporaryAssessmentRequired", "2023-03-01")
    ]
    # The case stops on the mark, so the three years were not reached either (R13 needs the
    # case to run on the mark); the assessment is what the IND gets.
    assert story.fired("2030-01-01", K.NON_TEMPORARY_PERMIT_INDICATED) == []


def test_a_dismissal_after_a_ground_requires_no_assessment() -> None:
    story = Story()
    story.report("2022-01-10")
    story.summoned("2022-09-01")
    story.dismissed("2022-10-01", "suspect-002")
    assert story.fired("2030-01-01", K.NON_TEMPORARY_ASSESSMENT_REQUIRED) == []


def test_dismissing_one_suspect_while_another_is_prosecuted_requires_no_assessment() -> None:
    story = Story()
    story.report("2016-01-10")
    story.summoned("2016-06-01", "suspect-001")
    story.dismissed("2016-06-01", "suspect-002")
    assert story.fired("2017-12-31", K.NON_TEMPORARY_ASSESSMENT_REQUIRED) == []


def test_a_transaction_is_no_dismissal_and_requires_no_assessment() -> None:
    story = Story()
    story.report("2016-01-10")
    story.disposed("2016-06-01", OtherDisposalKind.TRANSACTION)
    assert story.fired("2030-01-01", K.NON_TEMPORARY_ASSESSMENT_REQUIRED) == []


def test_a_dismissal_after_the_victim_withdrew_requires_no_assessment() -> None:
    story = Story()
    story.report("2016-01-10")
    story.withdrawn("2016-03-01")
    story.dismissed("2016-05-05")
    assert story.fired("2030-01-01", K.NON_TEMPORARY_ASSESSMENT_REQUIRED) == []


def test_the_assessment_is_required_once_per_case_even_after_a_reopened_case_ends_again() -> None:
    story = Story()
    story.report("2016-01-10")
    story.dismissed("2016-05-05")
    story.reopened("2016-09-01")
    story.dismissed("2017-02-02")
    assert story.fired("2030-01-01", K.NON_TEMPORARY_ASSESSMENT_REQUIRED) == [
        ("NonTemporaryAssessmentRequired", "2016-05-05")
    ]


# --- R15 ---


def test_a_conviction_after_the_prosecution_ground_sends_no_second_indication() -> None:
    story = Story()
    story.report("2022-01-10")
    story.summoned("2022-09-01")
    story.verdict("2023-03-03", VerdictOutcome.CONVICTION_TRAFFICKING)
    indication = story.only("2030-01-01", K.NON_TEMPORARY_PERMIT_INDICATED)
    assert indication.ground is NonTemporaryGround.PROSECUTION


def test_grounds_in_two_cases_send_one_indication_for_the_earliest() -> None:
    story = Story()
    story.report("2022-01-10", case="case-001")
    story.report("2022-02-10", case="case-002")
    story.summoned("2022-11-01")
    story.step("2022-10-01", CaseStep.SUSPECT_SUMMONED, case="case-002", suspect_id="suspect-2")
    indication = story.only("2030-01-01", K.NON_TEMPORARY_PERMIT_INDICATED)
    assert indication.case_id == "case-002"
    assert indication.fires_on == d("2022-10-01")


def test_on_one_day_prosecution_is_read_before_conviction() -> None:
    story = Story()
    story.report("2022-01-10")
    story.summoned("2022-09-01", "suspect-001")
    story.verdict("2022-09-01", VerdictOutcome.CONVICTION_TRAFFICKING, "suspect-002")
    indication = story.only("2030-01-01", K.NON_TEMPORARY_PERMIT_INDICATED)
    assert indication.ground is NonTemporaryGround.PROSECUTION


def test_a_non_temporary_permit_granted_before_any_ground_needs_no_indication() -> None:
    story = Story()
    story.report("2016-01-10")
    story.non_temporary_granted("2017-01-01")
    story.verdict("2018-02-02", VerdictOutcome.CONVICTION_TRAFFICKING)
    assert story.fired("2030-01-01", K.NON_TEMPORARY_PERMIT_INDICATED) == []


def test_the_day_before_any_ground_the_next_deadline_is_the_three_year_mark() -> None:
    story = Story()
    story.report("2020-03-01")
    story.permit_held("2020-03-01", through="2024-03-01")
    assert story.next_deadline(day_before("2023-03-01")) == d("2023-03-01")
    # After the mark only the permit's last valid-until is ahead (R9, 30 days before it).
    assert story.next_deadline("2023-03-01") == d("2024-01-31")


def test_without_an_ind_permit_no_three_year_mark_is_pending() -> None:
    story = Story()
    story.report("2020-03-01")
    assert story.next_deadline("2020-03-01") is None


def test_the_indication_key_names_the_victim_the_case_and_the_ground() -> None:
    story = Story()
    story.report("2022-01-10")
    story.summoned("2022-09-01")
    indication = story.only("2022-09-01", K.NON_TEMPORARY_PERMIT_INDICATED)
    assert indication.key == "NonTemporaryPermitIndicated|victim-001|case-001|PROSECUTION"


# --- R15 after a refusal of the non-temporary permit ---


def test_after_a_refusal_a_ground_reached_later_raises_a_new_indication() -> None:
    story = Story()
    story.report("2022-01-10")
    story.summoned("2022-09-01")
    story.non_temporary_refused("2022-12-01")
    story.verdict("2023-03-03", VerdictOutcome.CONVICTION_TRAFFICKING)
    assert story.fired("2023-03-02", K.NON_TEMPORARY_PERMIT_INDICATED) == [
        ("NonTemporaryPermitIndicated", "2022-09-01")
    ]
    grounds = [
        (t.ground, t.fires_on)
        for t in story.on("2030-01-01")
        if t.kind is K.NON_TEMPORARY_PERMIT_INDICATED
    ]
    assert grounds == [
        (NonTemporaryGround.PROSECUTION, d("2022-09-01")),
        (NonTemporaryGround.CONVICTION, d("2023-03-03")),
    ]


@pytest.mark.parametrize("convicted", ["2022-11-15", "2022-12-01"])
def test_a_ground_reached_on_or_before_the_refusal_was_judged_by_it(convicted: str) -> None:
    story = Story()
    story.report("2022-01-10")
    story.summoned("2022-09-01")
    story.verdict(convicted, VerdictOutcome.CONVICTION_TRAFFICKING)
    story.non_temporary_refused("2022-12-01")
    indication = story.only("2030-01-01", K.NON_TEMPORARY_PERMIT_INDICATED)
    assert indication.ground is NonTemporaryGround.PROSECUTION


def test_after_a_refusal_the_same_ground_in_another_case_raises_a_new_indication() -> None:
    story = Story()
    story.report("2022-01-10", case="case-001")
    story.report("2022-02-10", case="case-002")
    story.summoned("2022-09-01")
    story.non_temporary_refused("2022-12-01")
    story.step("2023-02-01", CaseStep.SUSPECT_SUMMONED, case="case-002", suspect_id="suspect-2")
    indications = [
        (t.case_id, t.ground, t.fires_on)
        for t in story.on("2030-01-01")
        if t.kind is K.NON_TEMPORARY_PERMIT_INDICATED
    ]
    assert indications == [
        ("case-001", NonTemporaryGround.PROSECUTION, d("2022-09-01")),
        ("case-002", NonTemporaryGround.PROSECUTION, d("2023-02-01")),
    ]


def test_after_a_refusal_the_judged_ground_reached_again_in_its_case_raises_nothing() -> None:
    story = Story()
    story.report("2022-01-10")
    story.summoned("2022-09-01", "suspect-001")
    story.non_temporary_refused("2022-12-01")
    story.summoned("2023-02-01", "suspect-002")
    indication = story.only("2030-01-01", K.NON_TEMPORARY_PERMIT_INDICATED)
    assert indication.fires_on == d("2022-09-01")


def test_a_refusal_before_any_ground_judges_nothing_that_comes_after_it() -> None:
    story = Story()
    story.report("2022-01-10")
    story.non_temporary_refused("2022-03-01")
    story.summoned("2022-09-01")
    assert story.only("2030-01-01", K.NON_TEMPORARY_PERMIT_INDICATED).fires_on == d("2022-09-01")


# --- witnesses who report (getuige-aangever) ---


def test_a_summons_is_a_ground_for_a_witness_only_where_the_om_found_presence_necessary() -> None:
    story = Story()
    story.report("2022-01-10", capacity=WITNESS)
    story.summoned("2022-09-01")
    assert story.fired("2030-01-01", K.NON_TEMPORARY_PERMIT_INDICATED) == []
    story.presence("2022-02-01", necessary=False)
    assert story.fired("2030-01-01", K.NON_TEMPORARY_PERMIT_INDICATED) == []
    story.presence("2022-02-01", necessary=True, case="case-other")
    assert story.fired("2030-01-01", K.NON_TEMPORARY_PERMIT_INDICATED) == []
    story.presence("2022-03-01", necessary=True)
    indication = story.only("2022-09-01", K.NON_TEMPORARY_PERMIT_INDICATED)
    assert indication.ground is NonTemporaryGround.PROSECUTION


def test_a_conviction_is_a_ground_for_a_witness_only_where_presence_was_found_necessary() -> None:
    story = Story()
    story.cooperation("2016-01-10", capacity=WITNESS)
    story.verdict("2017-02-02", VerdictOutcome.CONVICTION_TRAFFICKING)
    assert story.fired("2030-01-01", K.NON_TEMPORARY_PERMIT_INDICATED) == []
    story.presence("2016-02-01", necessary=True)
    indication = story.only("2017-02-02", K.NON_TEMPORARY_PERMIT_INDICATED)
    assert indication.ground is NonTemporaryGround.CONVICTION
