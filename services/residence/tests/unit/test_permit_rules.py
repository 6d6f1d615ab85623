"""R5, R7–R10: the application, the Dublin assessment, extension and the end of the basis."""

from __future__ import annotations

import pytest
from residence_story import DUBLIN, DUTCH, IRREGULAR, WITNESS, K, Story, d, day_after, day_before

from residence.domain.categories import (
    CooperationImpossibleReason,
    InvestigationCloseReason,
    VerdictOutcome,
)
from residence.domain.model import CaseStep

# --- R5/R7 ---


def test_a_report_is_the_application_for_the_temporary_permit_dated_the_report_day() -> None:
    story = Story()
    story.signal("2018-04-01", IRREGULAR)
    report = story.report("2018-04-20")
    application = story.only("2018-04-20", K.TEMPORARY_PERMIT_APPLICATION_INDICATED)
    assert application.application_date == d("2018-04-20")
    assert application.rule == "R7"
    assert application.case_id == "case-001"
    assert application.based_on == (report,)
    assert story.fired("2018-04-19", K.TEMPORARY_PERMIT_APPLICATION_INDICATED) == []


def test_a_second_report_in_the_same_case_is_not_a_second_application() -> None:
    story = Story()
    story.cooperation("2018-04-10")
    story.report("2018-04-20")
    assert story.fired("2030-01-01", K.TEMPORARY_PERMIT_APPLICATION_INDICATED) == [
        ("TemporaryPermitApplicationIndicated", "2018-04-10")
    ]


def test_reports_in_two_cases_are_two_applications() -> None:
    story = Story()
    story.report("2018-04-10", case="case-001")
    story.report("2019-02-01", case="case-002")
    applications = [
        t.case_id
        for t in story.on("2030-01-01")
        if t.kind is K.TEMPORARY_PERMIT_APPLICATION_INDICATED
    ]
    assert applications == ["case-001", "case-002"]


def test_a_report_in_a_case_that_had_already_ended_indicates_no_application() -> None:
    story = Story()
    story.dismissed("2018-03-01")
    story.report("2018-04-20")
    assert story.fired("2030-01-01", K.TEMPORARY_PERMIT_APPLICATION_INDICATED) == []


def test_a_decision_not_to_investigate_on_the_report_day_leaves_no_running_case() -> None:
    story = Story()
    story.report("2018-04-20")
    story.no_investigation("2018-04-20")
    assert story.fired("2030-01-01", K.TEMPORARY_PERMIT_APPLICATION_INDICATED) == []


def test_before_the_dublin_procedure_a_dublin_claimant_applies_like_anyone_else() -> None:
    story = Story()
    story.signal("2019-07-01", DUBLIN)
    story.report("2019-07-31")
    application = story.only("2019-07-31", K.TEMPORARY_PERMIT_APPLICATION_INDICATED)
    assert application.rule_version == "2001-04-01"
    assert story.fired("2030-01-01", K.DUBLIN_ASSESSMENT_OVERDUE) == []


def test_a_dublin_claimant_applies_once_the_om_finds_presence_necessary() -> None:
    story = Story()
    story.signal("2019-07-01", DUBLIN)
    report = story.report("2019-08-01")
    assessment = story.presence("2019-08-20", necessary=True)
    assert story.fired("2019-08-19", K.TEMPORARY_PERMIT_APPLICATION_INDICATED) == []
    application = story.only("2019-08-20", K.TEMPORARY_PERMIT_APPLICATION_INDICATED)
    assert application.application_date == d("2019-08-01")
    assert application.based_on == tuple(sorted((report, assessment)))
    assert application.rule_version == "2019-08-01"


def test_a_witness_report_is_no_application_without_the_oms_presence_assessment() -> None:
    story = Story()
    story.report("2022-02-01", capacity=WITNESS)
    assert story.fired("2030-01-01", K.TEMPORARY_PERMIT_APPLICATION_INDICATED) == []
    story.presence("2022-02-20", necessary=False)
    assert story.fired("2030-01-01", K.TEMPORARY_PERMIT_APPLICATION_INDICATED) == []
    story.presence("2022-02-20", necessary=True, case="case-other")
    assert story.fired("2030-01-01", K.TEMPORARY_PERMIT_APPLICATION_INDICATED) == []


def test_a_witness_report_is_an_application_once_the_om_finds_presence_necessary() -> None:
    story = Story()
    report = story.report("2022-02-01", capacity=WITNESS)
    assessment = story.presence("2022-03-01", necessary=True)
    assert story.fired("2022-02-28", K.TEMPORARY_PERMIT_APPLICATION_INDICATED) == []
    application = story.only("2022-03-01", K.TEMPORARY_PERMIT_APPLICATION_INDICATED)
    assert application.application_date == d("2022-02-01")
    assert application.based_on == tuple(sorted((report, assessment)))


def test_a_witness_found_necessary_before_reporting_applies_on_the_report_day() -> None:
    story = Story()
    story.presence("2022-01-20", necessary=True)
    story.cooperation("2022-02-01", capacity=WITNESS)
    application = story.only("2022-02-01", K.TEMPORARY_PERMIT_APPLICATION_INDICATED)
    assert application.fires_on == d("2022-02-01")
    assert application.application_date == d("2022-02-01")


def test_a_witness_who_later_reports_as_a_victim_applies_on_the_victims_report() -> None:
    story = Story()
    story.report("2022-01-10", capacity=WITNESS)
    victim_report = story.report("2022-06-01")
    # Without a presence assessment the witness's report is no application; the report the
    # person makes as a victim is, dated its own day.
    assert story.fired("2022-05-31", K.TEMPORARY_PERMIT_APPLICATION_INDICATED) == []
    application = story.only("2022-06-01", K.TEMPORARY_PERMIT_APPLICATION_INDICATED)
    assert application.application_date == d("2022-06-01")
    assert victim_report in application.based_on


# --- R8 ---


def test_an_assessment_on_the_target_day_is_in_time() -> None:
    story = Story()
    story.signal("2019-10-01", DUBLIN)
    story.report("2019-10-09")
    story.presence("2019-11-06", necessary=False)
    assert story.fired("2030-01-01", K.DUBLIN_ASSESSMENT_OVERDUE) == []


def test_an_assessment_the_day_after_the_target_leaves_the_overdue_trigger_standing() -> None:
    story = Story()
    story.signal("2019-10-01", DUBLIN)
    story.report("2019-10-09")
    story.presence("2019-11-07", necessary=True)
    overdue = story.only("2030-01-01", K.DUBLIN_ASSESSMENT_OVERDUE)
    assert overdue.fires_on == d("2019-11-07")
    assert story.only("2019-11-07", K.TEMPORARY_PERMIT_APPLICATION_INDICATED).application_date == (
        d("2019-10-09")
    )


@pytest.mark.parametrize(
    ("reported", "target", "holidays"),
    [
        ("2022-04-20", "2022-05-20", "King's Day, 5 May"),
        ("2019-12-10", "2020-01-13", "Christmas, Boxing Day, 27 December by decree, New Year"),
        ("2023-04-03", "2023-05-08", "Good Friday, Easter Monday, King's Day, 28 April, 5 May"),
    ],
)
def test_the_dublin_target_skips_the_days_of_the_algemene_termijnenwet(
    reported: str, target: str, holidays: str
) -> None:
    story = Story()
    story.signal(day_before(reported), DUBLIN)
    story.report(reported)
    assert story.fired(target, K.DUBLIN_ASSESSMENT_OVERDUE) == [], holidays
    overdue = story.only(day_after(target), K.DUBLIN_ASSESSMENT_OVERDUE)
    assert overdue.target_date == d(target)
    assert story.next_deadline(day_before(target)) == d(day_after(target))


def test_a_withdrawn_report_needs_no_dublin_assessment() -> None:
    story = Story()
    story.signal("2019-10-01", DUBLIN)
    story.report("2019-10-09")
    story.withdrawn("2019-10-20")
    assert story.fired("2030-01-01", K.DUBLIN_ASSESSMENT_OVERDUE) == []


def test_a_decision_not_to_investigate_before_the_target_is_the_om_deciding() -> None:
    story = Story()
    story.signal("2019-10-01", DUBLIN)
    story.report("2019-10-09")
    story.no_investigation("2019-10-30")
    assert story.fired("2030-01-01", K.DUBLIN_ASSESSMENT_OVERDUE) == []


# --- R9 ---


def _permitted(valid_from: str = "2020-03-01", valid_until: str = "2021-03-01") -> Story:
    story = Story()
    story.report(valid_from)
    story.permit(valid_from, valid_until)
    return story


def test_the_extension_is_due_thirty_days_before_the_permit_ends() -> None:
    story = _permitted()
    assert story.fired("2021-01-29", K.TEMPORARY_PERMIT_EXTENSION_DUE) == []
    due = story.only("2021-01-30", K.TEMPORARY_PERMIT_EXTENSION_DUE)
    assert due.permit_valid_until == d("2021-03-01")
    assert due.rule == "R9"
    assert story.next_deadline("2021-01-29") == d("2021-01-30")


def test_thirty_days_before_1_march_of_a_leap_year_is_31_january() -> None:
    story = _permitted("2023-03-01", "2024-03-01")
    assert story.only("2024-01-31", K.TEMPORARY_PERMIT_EXTENSION_DUE).fires_on == d("2024-01-31")


def test_an_extension_before_the_due_day_moves_the_trigger_to_the_new_end() -> None:
    story = _permitted()
    story.extended("2021-01-29", "2022-03-01")
    assert story.fired("2030-01-01", K.TEMPORARY_PERMIT_EXTENSION_DUE) == [
        ("TemporaryPermitExtensionDue", "2022-01-30")
    ]


def test_an_extension_after_the_due_day_leaves_the_first_trigger_standing() -> None:
    story = _permitted()
    story.extended("2021-01-31", "2022-03-01")
    assert story.fired("2030-01-01", K.TEMPORARY_PERMIT_EXTENSION_DUE) == [
        ("TemporaryPermitExtensionDue", "2021-01-30"),
        ("TemporaryPermitExtensionDue", "2022-01-30"),
    ]


def test_no_extension_is_due_when_the_case_ended_before() -> None:
    story = _permitted()
    story.dismissed("2021-01-29")
    assert story.fired("2030-01-01", K.TEMPORARY_PERMIT_EXTENSION_DUE) == []


def test_a_permit_reported_late_is_due_for_extension_on_the_day_it_was_reported() -> None:
    story = Story()
    story.report("2020-03-01")
    story.permit("2020-03-01", "2021-03-01", on="2021-02-15")
    assert story.only("2021-02-15", K.TEMPORARY_PERMIT_EXTENSION_DUE).fires_on == d("2021-02-15")


def test_an_application_the_ind_has_not_decided_has_nothing_to_extend() -> None:
    story = Story()
    story.report("2020-03-01")
    assert story.fired("2022-01-01", K.TEMPORARY_PERMIT_EXTENSION_DUE) == []


# --- R10 ---


def test_a_dismissal_ends_the_basis_of_the_permit_on_its_date() -> None:
    story = _permitted()
    dismissal = story.dismissed("2020-11-02")
    ended = story.only("2020-11-02", K.TEMPORARY_PERMIT_BASIS_ENDED)
    assert ended.basis_ended_on == d("2020-11-02")
    assert dismissal in ended.based_on
    assert story.fired("2020-11-01", K.TEMPORARY_PERMIT_BASIS_ENDED) == []


def test_dismissing_one_of_two_suspects_leaves_the_basis_in_place() -> None:
    story = _permitted()
    story.registered("2020-06-01", "suspect-001")
    story.registered("2020-06-01", "suspect-002")
    story.dismissed("2020-09-01", "suspect-001")
    assert story.fired("2020-12-31", K.TEMPORARY_PERMIT_BASIS_ENDED) == []
    story.dismissed("2020-10-01", "suspect-002")
    assert story.fired("2020-12-31", K.TEMPORARY_PERMIT_BASIS_ENDED) == [
        ("TemporaryPermitBasisEnded", "2020-10-01")
    ]


def test_a_verdict_under_appeal_keeps_the_basis_until_the_case_is_final() -> None:
    story = _permitted("2020-03-01", "2023-03-01")
    story.summoned("2020-05-01")
    story.verdict("2020-09-01", VerdictOutcome.ACQUITTAL)
    story.appeal("2020-09-10")
    assert story.fired("2021-06-30", K.TEMPORARY_PERMIT_BASIS_ENDED) == []
    story.final("2021-07-01")
    assert story.only("2021-07-01", K.TEMPORARY_PERMIT_BASIS_ENDED).basis_ended_on == d(
        "2021-07-01"
    )


@pytest.mark.parametrize(
    "reason", [InvestigationCloseReason.NO_LEADS, InvestigationCloseReason.NO_JURISDICTION]
)
def test_an_investigation_closed_without_submission_ends_the_basis(
    reason: InvestigationCloseReason,
) -> None:
    story = _permitted()
    story.investigation_opened("2020-03-02")
    story.investigation_closed("2020-08-03", reason)
    assert story.only("2020-08-03", K.TEMPORARY_PERMIT_BASIS_ENDED).fires_on == d("2020-08-03")


def test_an_investigation_submitted_to_the_om_keeps_the_basis() -> None:
    story = _permitted()
    story.investigation_closed("2020-08-03", InvestigationCloseReason.SUBMITTED)
    story.submitted("2020-08-03", "suspect-001")
    assert story.fired("2021-02-28", K.TEMPORARY_PERMIT_BASIS_ENDED) == []


def test_no_basis_ends_while_the_application_is_pending_with_the_ind() -> None:
    story = Story()
    story.report("2020-03-01")
    story.no_investigation("2020-04-15")
    assert story.fired("2030-01-01", K.TEMPORARY_PERMIT_BASIS_ENDED) == []


def test_the_basis_of_a_permit_the_ind_granted_ends_when_the_case_stops() -> None:
    story = Story()
    story.report("2020-03-01")
    grant = story.permit("2020-03-01", "2021-03-01", on="2020-04-01")
    stop = story.no_investigation("2020-04-15")
    ended = story.only("2030-01-01", K.TEMPORARY_PERMIT_BASIS_ENDED)
    assert ended.basis_ended_on == d("2020-04-15")
    assert {grant, stop} <= set(ended.based_on)


def test_a_withdrawn_report_ends_the_basis() -> None:
    story = _permitted()
    withdrawal = story.withdrawn("2020-07-07")
    ended = story.only("2020-07-07", K.TEMPORARY_PERMIT_BASIS_ENDED)
    assert withdrawal in ended.based_on


def test_no_basis_ends_for_a_permit_that_had_already_lapsed() -> None:
    story = _permitted()
    story.dismissed("2021-03-02")
    assert story.fired("2030-01-01", K.TEMPORARY_PERMIT_BASIS_ENDED) == []


def test_a_refused_application_has_no_basis_to_end() -> None:
    story = Story()
    story.report("2020-03-01")
    story.permit_refused("2020-05-01")
    story.dismissed("2020-11-02")
    assert story.fired("2030-01-01", K.TEMPORARY_PERMIT_BASIS_ENDED) == []


# --- one permit rests on every case the victim takes part in (R9, R10) ---


def _in_two_cases() -> Story:
    story = Story()
    story.report("2020-03-01", case="case-001")
    story.report("2020-04-01", case="case-002")
    story.permit("2020-03-01", "2021-03-01", case="case-001")
    return story


def test_a_dismissal_in_one_case_while_another_is_prosecuted_leaves_the_basis_standing() -> None:
    story = _in_two_cases()
    story.dismissed("2020-09-01")
    story.step("2020-08-01", CaseStep.SUSPECT_SUMMONED, case="case-002", suspect_id="suspect-2")
    assert story.fired("2030-01-01", K.TEMPORARY_PERMIT_BASIS_ENDED) == []
    due = story.only("2021-01-30", K.TEMPORARY_PERMIT_EXTENSION_DUE)
    assert due.permit_valid_until == d("2021-03-01")
    assert due.case_id == "case-001"


def test_the_basis_ends_when_the_last_case_of_the_victim_stops() -> None:
    story = _in_two_cases()
    story.dismissed("2020-09-01")
    story.step("2020-08-01", CaseStep.SUSPECT_SUMMONED, case="case-002", suspect_id="suspect-2")
    last = story.step(
        "2020-11-02", CaseStep.CASE_DISMISSED, case="case-002", suspect_id="suspect-2"
    )
    ended = story.only("2030-01-01", K.TEMPORARY_PERMIT_BASIS_ENDED)
    assert ended.basis_ended_on == d("2020-11-02")
    assert ended.case_id == "case-002"
    assert last in ended.based_on
    assert story.fired("2030-01-01", K.TEMPORARY_PERMIT_EXTENSION_DUE) == []


def test_withdrawing_from_one_case_while_another_runs_leaves_the_basis_standing() -> None:
    story = _in_two_cases()
    story.withdrawn("2020-07-07", case="case-001")
    assert story.fired("2030-01-01", K.TEMPORARY_PERMIT_BASIS_ENDED) == []
    assert story.only("2021-01-30", K.TEMPORARY_PERMIT_EXTENSION_DUE).fires_on == d("2021-01-30")


def test_withdrawing_from_the_last_case_ends_the_basis() -> None:
    story = _in_two_cases()
    story.dismissed("2020-06-01")
    withdrawal = story.withdrawn("2020-07-07", case="case-002")
    ended = story.only("2030-01-01", K.TEMPORARY_PERMIT_BASIS_ENDED)
    assert ended.basis_ended_on == d("2020-07-07")
    assert withdrawal in ended.based_on


def test_both_cases_stopping_on_one_day_end_the_basis_once() -> None:
    story = _in_two_cases()
    story.dismissed("2020-09-01")
    story.step("2020-09-01", CaseStep.NO_INVESTIGATION, case="case-002")
    assert story.fired("2030-01-01", K.TEMPORARY_PERMIT_BASIS_ENDED) == [
        ("TemporaryPermitBasisEnded", "2020-09-01")
    ]


# --- R16 ---


def test_a_victim_who_cannot_cooperate_may_have_the_permit_without_a_report() -> None:
    story = Story()
    story.signal("2022-01-10")
    record = story.cooperation_impossible("2022-02-01", CooperationImpossibleReason.MEDICAL)
    assert story.fired("2022-01-31", K.TEMPORARY_PERMIT_WITHOUT_COOPERATION_INDICATED) == []
    indication = story.only("2022-02-01", K.TEMPORARY_PERMIT_WITHOUT_COOPERATION_INDICATED)
    assert indication.rule == "R16"
    assert indication.based_on == (record,)
    assert indication.cooperation_impossible_reason == "MEDICAL"
    assert indication.payload()["cooperation_impossible_reason"] == "MEDICAL"
    assert indication.addressee.value == "ind"


@pytest.mark.parametrize("reported", ["2022-01-20", "2022-02-01"])
def test_no_permit_without_cooperation_is_indicated_after_a_victims_report(reported: str) -> None:
    story = Story()
    story.signal("2022-01-10")
    story.report(reported)
    story.cooperation_impossible("2022-02-01")
    assert story.fired("2030-01-01", K.TEMPORARY_PERMIT_WITHOUT_COOPERATION_INDICATED) == []


def test_a_report_after_the_record_changes_nothing_about_the_indication() -> None:
    story = Story()
    story.signal("2022-01-10")
    story.cooperation_impossible("2022-02-01")
    story.report("2022-05-01")
    assert story.fired("2030-01-01", K.TEMPORARY_PERMIT_WITHOUT_COOPERATION_INDICATED) == [
        ("TemporaryPermitWithoutCooperationIndicated", "2022-02-01")
    ]


def test_a_witness_report_before_the_record_does_not_prevent_the_indication() -> None:
    story = Story()
    story.signal("2022-01-10")
    story.report("2022-01-20", capacity=WITNESS)
    story.cooperation_impossible("2022-02-01")
    assert story.fired("2030-01-01", K.TEMPORARY_PERMIT_WITHOUT_COOPERATION_INDICATED) == [
        ("TemporaryPermitWithoutCooperationIndicated", "2022-02-01")
    ]


def test_reporting_as_a_victim_only_after_the_record_does_not_prevent_the_indication() -> None:
    story = Story()
    story.signal("2022-01-10")
    story.report("2022-01-20", capacity=WITNESS)
    story.cooperation_impossible("2022-02-01")
    story.report("2022-06-01")  # the same case, now as a victim: after the record
    assert story.fired("2030-01-01", K.TEMPORARY_PERMIT_WITHOUT_COOPERATION_INDICATED) == [
        ("TemporaryPermitWithoutCooperationIndicated", "2022-02-01")
    ]


def test_a_dutch_national_who_cannot_cooperate_gets_no_indication() -> None:
    story = Story()
    story.signal("2022-01-10", IRREGULAR, DUTCH)
    story.cooperation_impossible("2022-02-01")
    assert story.fired("2030-01-01") == []


def test_an_extension_decided_on_the_due_day_answers_the_trigger_and_leaves_it_standing() -> None:
    # The IND extends on the day the trigger asks it to: the trigger stood, and still stands.
    story = _permitted()
    story.extended("2021-01-30", "2022-03-01")
    assert story.fired("2030-01-01", K.TEMPORARY_PERMIT_EXTENSION_DUE) == [
        ("TemporaryPermitExtensionDue", "2021-01-30"),
        ("TemporaryPermitExtensionDue", "2022-01-30"),
    ]
