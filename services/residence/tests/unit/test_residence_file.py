"""The IND's view of one victim: position, grounds reached, triggers fired, deadlines pending."""

from __future__ import annotations

from residence_story import DUBLIN, K, Story, d

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


def test_after_a_report_the_application_is_pending_with_the_IND_and_three_years_ahead() -> None:
    story = Story()
    story.signal("2020-02-01")
    story.reflection_granted("2020-02-03")
    story.report("2020-03-01")
    file = story.file("2021-06-01")
    assert file.position.standing is Standing.TEMPORARY_PERMIT_APPLIED
    assert file.position.since == d("2020-03-01")
    assert file.position.case_id == "case-001"
    assert [(p.kind, p.due_on) for p in file.pending] == [
        (K.NON_TEMPORARY_PERMIT_INDICATED, d("2023-03-01"))
    ]


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
    story.summoned("2022-09-01")
    story.non_temporary_granted("2023-01-15")
    file = story.file("2025-02-01")
    assert [(g.ground, g.reached_on) for g in file.grounds] == [
        (NonTemporaryGround.PROSECUTION, d("2022-09-01")),
        (NonTemporaryGround.THREE_YEARS, d("2025-01-10")),
    ]
    assert file.position.standing is Standing.NON_TEMPORARY_PERMIT
    assert file.position.since == d("2023-01-15")
    assert [t.kind for t in file.triggers if t.kind is K.NON_TEMPORARY_PERMIT_INDICATED] == [
        K.NON_TEMPORARY_PERMIT_INDICATED
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
