"""The IND's view of one victim: position, grounds reached, triggers fired, deadlines pending."""

from __future__ import annotations

from residence_story import DUBLIN, WITNESS, K, Story, d

from residence.domain import NonTemporaryGround, Standing, residence_file
from residence.domain.categories import ResidencePosition


def test_an_unknown_victim_has_an_empty_file() -> None:
    file = residence_file([], "victim-404", d("2024-01-01"))
    assert file.position.standing is Standing.NONE
    assert (file.grounds, file.triggers, file.pending) == ((), (), ())


def test_during_the_reflection_period_the_file_shows_it_and_its_expiry_pending() -> None:
    story = Story()
    story.signal("2022-01-03")
    story.reflection_granted("2022-01-31")
    file = story.file("2022-02-15")
    assert file.residence_position is ResidencePosition.IRREGULAR
    assert file.position.standing is Standing.REFLECTION_PERIOD
    assert (file.position.since, file.position.until) == (d("2022-01-31"), d("2022-04-30"))
    assert [(p.kind, p.due_on) for p in file.pending] == [
        (K.REFLECTION_PERIOD_EXPIRY_DUE, d("2022-04-30"))
    ]
    assert story.file("2022-04-30").position.standing is Standing.NONE


def test_after_a_report_the_application_is_pending_with_the_ind_and_nothing_counts_yet() -> None:
    story = Story()
    story.signal("2020-02-01")
    story.reflection_granted("2020-02-03")
    story.report("2020-03-01")
    file = story.file("2021-06-01")
    assert file.position.standing is Standing.TEMPORARY_PERMIT_APPLIED
    assert file.position.since == d("2020-03-01")
    assert file.position.until is None
    assert file.position.case_id == "case-001"
    # Without the IND's permit no three years are counting: nothing is pending.
    assert file.pending == ()


def test_once_the_ind_grants_and_extends_the_file_shows_the_permit_and_three_years_ahead() -> None:
    story = Story()
    story.report("2020-03-01")
    story.permit_held("2020-03-01", through="2024-03-01")
    file = story.file("2021-06-01")
    assert file.position.standing is Standing.TEMPORARY_PERMIT
    assert (file.position.since, file.position.until) == (d("2020-03-01"), d("2024-03-01"))
    assert [(p.kind, p.due_on) for p in file.pending] == [
        (K.NON_TEMPORARY_PERMIT_INDICATED, d("2023-03-01")),
        (K.TEMPORARY_PERMIT_EXTENSION_DUE, d("2024-01-31")),
    ]


def test_an_application_is_shown_as_pending_until_the_day_the_ind_decides_on_it() -> None:
    refused = Story()
    refused.report("2020-03-01")
    refused.permit_refused("2020-05-01")
    assert refused.file("2020-04-30").position.standing is Standing.TEMPORARY_PERMIT_APPLIED
    assert refused.file("2020-05-01").position.standing is Standing.NONE
    granted = Story()
    granted.report("2020-03-01")
    granted.permit("2020-07-01", "2021-07-01")
    assert granted.file("2020-05-01").position.standing is Standing.TEMPORARY_PERMIT_APPLIED
    assert granted.file("2020-07-01").position.standing is Standing.TEMPORARY_PERMIT


def test_an_application_is_no_longer_shown_once_no_case_of_the_victim_runs() -> None:
    story = Story()
    story.report("2020-03-01")
    story.no_investigation("2020-04-15")
    assert story.file("2020-04-14").position.standing is Standing.TEMPORARY_PERMIT_APPLIED
    assert story.file("2020-04-15").position.standing is Standing.NONE


def test_a_witness_report_is_shown_as_an_application_only_once_presence_is_necessary() -> None:
    story = Story()
    story.report("2020-03-01", capacity=WITNESS)
    story.presence("2020-04-01", necessary=True)
    assert story.file("2020-03-31").position.standing is Standing.NONE
    applied = story.file("2020-04-01").position
    assert applied.standing is Standing.TEMPORARY_PERMIT_APPLIED
    assert applied.since == d("2020-03-01")


def test_with_an_ind_permit_the_file_shows_its_dates_and_the_extension_pending() -> None:
    story = Story()
    story.report("2020-03-01")
    story.permit("2020-03-01", "2021-03-01")
    file = story.file("2020-06-01")
    assert file.position.standing is Standing.TEMPORARY_PERMIT
    assert (file.position.since, file.position.until) == (d("2020-03-01"), d("2021-03-01"))
    assert (K.TEMPORARY_PERMIT_EXTENSION_DUE, d("2021-01-30")) in [
        (p.kind, p.due_on) for p in file.pending
    ]


def test_the_file_lists_every_ground_reached_not_only_the_first() -> None:
    story = Story()
    story.report("2022-01-10")
    story.permit_held("2022-01-10", through="2025-06-01")
    story.summoned("2022-09-01")
    story.non_temporary_granted("2025-01-20")
    file = story.file("2025-02-01")
    assert [(g.ground, g.reached_on) for g in file.grounds] == [
        (NonTemporaryGround.PROSECUTION, d("2022-09-01")),
        (NonTemporaryGround.THREE_YEARS, d("2025-01-10")),
    ]
    assert file.position.standing is Standing.NON_TEMPORARY_PERMIT
    assert file.position.since == d("2025-01-20")
    assert [t.ground for t in file.triggers if t.kind is K.NON_TEMPORARY_PERMIT_INDICATED] == [
        NonTemporaryGround.PROSECUTION
    ]


def test_the_file_lists_three_years_only_for_permits_the_ind_granted() -> None:
    story = Story()
    story.report("2022-01-10")
    story.summoned("2022-09-01")
    file = story.file("2025-02-01")
    assert [(g.ground, g.reached_on) for g in file.grounds] == [
        (NonTemporaryGround.PROSECUTION, d("2022-09-01")),
    ]


def test_a_dublin_claimant_waiting_for_the_om_has_the_assessment_target_pending() -> None:
    story = Story()
    story.signal("2019-10-01", DUBLIN)
    story.report("2019-10-09")
    file = story.file("2019-10-20")
    assert file.position.standing is Standing.NONE
    assert [(p.kind, p.due_on) for p in file.pending] == [
        (K.DUBLIN_ASSESSMENT_OVERDUE, d("2019-11-07"))
    ]
