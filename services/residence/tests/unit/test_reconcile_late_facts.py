"""Late and out-of-order facts: corrections are events of their own, never silent rewrites."""

from __future__ import annotations

from residence_story import K, Story

from residence.domain import (
    EmittedTrigger,
    NonTemporaryGround,
    Retraction,
    TriggerDecision,
    apply_outcome,
    reconcile,
)
from residence.domain.categories import VerdictOutcome
from residence.domain.triggers import trigger_id_for


def _send(
    story: Story, day: str, emitted: list[EmittedTrigger]
) -> tuple[list[Retraction | TriggerDecision], list[EmittedTrigger]]:
    outcome = reconcile(emitted, story.on(day))
    return outcome, apply_outcome(emitted, outcome)


def test_nothing_is_sent_twice_when_nothing_changed() -> None:
    story = Story()
    story.report("2020-03-01")
    first, emitted = _send(story, "2023-03-01", [])
    assert [item.event_type for item in first] == [
        "TemporaryPermitApplicationIndicated",
        "NonTemporaryPermitIndicated",
    ]
    again, _ = _send(story, "2024-01-01", emitted)
    assert again == []


def test_a_late_dismissal_dated_before_the_mark_retracts_three_years_and_asks_assessment() -> None:
    story = Story()
    story.report("2020-03-01")
    sent, emitted = _send(story, "2023-03-01", [])
    three_years = next(t for t in sent if isinstance(t, TriggerDecision) and t.ground)
    assert three_years.ground is NonTemporaryGround.THREE_YEARS

    dismissal = story.dismissed("2023-02-15")
    correction, emitted = _send(story, "2023-03-10", emitted)

    retraction = correction[0]
    assert isinstance(retraction, Retraction)
    assert retraction.retracted_trigger_id == three_years.trigger_id
    assert retraction.payload()["retracted_trigger_id"] == three_years.trigger_id
    assert retraction.rule == "R13"
    new = [
        (t.event_type, t.fires_on.isoformat())
        for t in correction[1:]
        if isinstance(t, TriggerDecision)
    ]
    assert new == [
        ("NonTemporaryAssessmentRequired", "2023-02-15"),
        ("TemporaryPermitBasisEnded", "2023-02-15"),
    ]
    assessment = correction[1]
    assert isinstance(assessment, TriggerDecision)
    assert dismissal in assessment.based_on


def test_a_ground_truly_reached_is_not_retracted_by_a_later_acquittal() -> None:
    story = Story()
    story.report("2022-01-10")
    story.summoned("2022-09-01")
    _, emitted = _send(story, "2022-09-01", [])
    story.verdict("2023-04-01", VerdictOutcome.ACQUITTAL)
    story.final("2023-05-01")
    later, _ = _send(story, "2023-06-01", emitted)
    assert not any(isinstance(item, Retraction) for item in later)
    assert [t.event_type for t in later] == ["TemporaryPermitBasisEnded"]


def test_an_earlier_ground_found_late_does_not_send_a_second_indication() -> None:
    story = Story()
    story.report("2021-10-01")
    _, emitted = _send(story, "2024-10-01", [])
    assert [e.decision.ground for e in emitted if e.decision.ground] == [
        NonTemporaryGround.THREE_YEARS
    ]
    story.summoned("2022-02-01")
    later, _ = _send(story, "2024-10-02", emitted)
    assert later == []


def test_a_key_that_holds_again_after_its_retraction_is_sent_under_a_new_id() -> None:
    story = Story()
    story.report("2020-03-01")
    _, emitted = _send(story, "2023-03-01", [])
    story.dismissed("2023-02-15")
    _, emitted = _send(story, "2023-03-10", emitted)
    retracted = {e.decision.key for e in emitted if e.retracted}
    story.summoned("2022-05-02")
    again, emitted = _send(story, "2023-03-20", emitted)

    # The summons makes PROSECUTION the first ground: the assessment no longer holds, and the
    # indication holds again under the victim's key — sent with a fresh id.
    assert [item.event_type for item in again] == [
        "TriggerRetracted",
        "NonTemporaryPermitIndicated",
    ]
    indication = again[1]
    assert isinstance(indication, TriggerDecision)
    assert indication.key in retracted
    assert indication.ground is NonTemporaryGround.PROSECUTION
    assert indication.trigger_id == trigger_id_for(indication.key, 1)
    ids = [e.decision.trigger_id for e in emitted]
    assert len(ids) == len(set(ids))


def test_retraction_ids_are_stable_and_differ_from_the_trigger_they_retract() -> None:
    story = Story()
    story.report("2020-03-01")
    _, emitted = _send(story, "2023-03-01", [])
    story.dismissed("2023-02-15")
    first = reconcile(emitted, story.on("2023-03-10"))
    second = reconcile(emitted, story.on("2023-03-10"))
    assert first == second
    retraction = first[0]
    assert isinstance(retraction, Retraction)
    assert retraction.trigger_id != retraction.retracted_trigger_id


def test_case_facts_known_before_the_report_are_read_once_the_report_arrives() -> None:
    story = Story()
    story.summoned("2022-02-01")
    assert story.on("2030-01-01") == []
    story.report("2022-01-10")
    assert story.only("2022-02-01", K.NON_TEMPORARY_PERMIT_INDICATED).ground is (
        NonTemporaryGround.PROSECUTION
    )
