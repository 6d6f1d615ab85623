"""The examples of docs/domain.md#examples, each to the day."""

from __future__ import annotations

from residence_story import DUBLIN, K, Story, d

from residence.domain import NonTemporaryGround
from residence.domain.categories import VerdictOutcome


def test_report_with_investigation_still_open_indicates_three_years_on_the_anniversary() -> None:
    story = Story()
    story.signal("2020-02-20")
    report = story.report("2020-03-01")
    story.investigation_opened("2020-03-02")
    # The IND grants the temporary permit from the report day for a year, and extends it.
    grant = story.permit("2020-03-01", "2021-03-01")
    story.extended("2021-01-30", "2022-03-01")
    story.extended("2022-01-30", "2023-03-01")
    story.extended("2023-01-30", "2024-03-01")

    assert story.fired("2023-02-28", K.NON_TEMPORARY_PERMIT_INDICATED) == []
    indication = story.only("2023-03-01", K.NON_TEMPORARY_PERMIT_INDICATED)
    assert indication.ground is NonTemporaryGround.THREE_YEARS
    assert indication.fires_on == d("2023-03-01")
    assert indication.rule == "R13"
    assert {report, grant} <= set(indication.based_on)
    assert story.next_deadline("2023-02-28") == d("2023-03-01")


def test_summons_indicates_prosecution_and_a_later_acquittal_changes_nothing() -> None:
    story = Story()
    story.report("2022-01-10")
    summons = story.summoned("2022-09-01")

    assert story.fired("2022-08-31", K.NON_TEMPORARY_PERMIT_INDICATED) == []
    indication = story.only("2022-09-01", K.NON_TEMPORARY_PERMIT_INDICATED)
    assert indication.ground is NonTemporaryGround.PROSECUTION
    assert indication.rule == "R11"
    assert summons in indication.based_on
    before_acquittal = story.on("2030-01-01")

    story.verdict("2023-04-12", VerdictOutcome.ACQUITTAL)
    story.final("2023-05-01")

    after = story.on("2030-01-01")
    assert [t for t in after if t.kind is K.NON_TEMPORARY_PERMIT_INDICATED] == [indication]
    assert [t for t in after if t.kind is K.NON_TEMPORARY_ASSESSMENT_REQUIRED] == []
    assert {t.trigger_id for t in before_acquittal} <= {t.trigger_id for t in after}


def test_a_gap_between_permits_restarts_the_count_and_a_dismissal_asks_for_assessment() -> None:
    story = Story()
    story.signal("2011-10-01")
    story.report("2011-10-28")
    story.permit("2011-10-28", "2012-10-28")
    story.extended("2012-10-01", "2013-10-28")
    story.permit("2013-12-03", "2014-12-03")
    story.extended("2014-11-15", "2015-12-03")
    story.extended("2015-11-10", "2016-12-03")
    dismissal = story.dismissed("2016-01-26")

    everything = story.on("2030-01-01")
    assert [t for t in everything if t.kind is K.NON_TEMPORARY_PERMIT_INDICATED] == []
    assessment = story.only("2016-01-26", K.NON_TEMPORARY_ASSESSMENT_REQUIRED)
    assert assessment.fires_on == d("2016-01-26")
    assert dismissal in assessment.based_on
    assert story.fired("2016-01-25", K.NON_TEMPORARY_ASSESSMENT_REQUIRED) == []
    assert story.only("2016-01-26", K.TEMPORARY_PERMIT_BASIS_ENDED).basis_ended_on == d(
        "2016-01-26"
    )


def test_without_the_gap_the_same_permits_reach_three_years_before_the_dismissal() -> None:
    story = Story()
    story.report("2011-10-28")
    story.permit("2011-10-28", "2012-10-28")
    story.extended("2012-10-01", "2013-10-28")
    story.permit("2013-10-29", "2014-10-29")
    story.dismissed("2016-01-26")

    indication = story.only("2030-01-01", K.NON_TEMPORARY_PERMIT_INDICATED)
    assert indication.ground is NonTemporaryGround.THREE_YEARS
    assert indication.fires_on == d("2014-10-28")


def test_dublin_claimant_report_has_an_assessment_due_four_work_weeks_later() -> None:
    story = Story()
    story.signal("2019-10-01", DUBLIN)
    story.report("2019-10-09")

    assert story.fired("2019-11-06", K.DUBLIN_ASSESSMENT_OVERDUE) == []
    overdue = story.only("2019-11-07", K.DUBLIN_ASSESSMENT_OVERDUE)
    assert overdue.target_date == d("2019-11-06")
    assert story.fired("2030-01-01", K.TEMPORARY_PERMIT_APPLICATION_INDICATED) == []


def test_dublin_claimant_whose_presence_is_not_necessary_gets_no_permit() -> None:
    story = Story()
    story.signal("2019-10-01", DUBLIN)
    story.report("2019-10-09")
    story.presence("2019-10-11", necessary=False)

    kinds = {t.kind for t in story.on("2030-01-01")}
    assert K.TEMPORARY_PERMIT_APPLICATION_INDICATED not in kinds
    assert K.DUBLIN_ASSESSMENT_OVERDUE not in kinds
    assert K.NON_TEMPORARY_PERMIT_INDICATED not in kinds
    assert story.file("2019-12-01").position.standing.value == "NONE"


def test_dublin_claimant_reflection_granted_in_june_2023_expires_thirty_days_later() -> None:
    story = Story()
    story.signal("2023-05-25", DUBLIN)
    story.reflection_granted("2023-06-01")

    assert story.fired("2023-06-30", K.REFLECTION_PERIOD_EXPIRY_DUE) == []
    expiry = story.only("2023-07-01", K.REFLECTION_PERIOD_EXPIRY_DUE)
    assert expiry.expired_on == d("2023-07-01")
    assert expiry.rule_version == "2023-05-18"
