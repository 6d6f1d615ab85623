"""Late and out-of-order facts: corrections are events of their own, never silent rewrites."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from residence_story import DUBLIN, K, Story, d

from residence.domain import (
    EmittedTrigger,
    NonTemporaryGround,
    Retraction,
    TriggerDecision,
    apply_outcome,
    reconcile,
)
from residence.domain.categories import VerdictOutcome
from residence.domain.triggers import Addressee, trigger_id_for


def _send(
    story: Story, day: str, emitted: list[EmittedTrigger]
) -> tuple[list[Retraction | TriggerDecision], list[EmittedTrigger]]:
    outcome = reconcile(emitted, story.on(day))
    return outcome, apply_outcome(emitted, outcome)


def _three_years_from_2020_03_01() -> Story:
    """Report 2020-03-01; the IND grants the permit from that day and extends it past the mark."""
    story = Story()
    story.report("2020-03-01")
    story.permit_held("2020-03-01", through="2024-03-01")
    return story


def _standing(emitted: list[EmittedTrigger], kind: K) -> list[TriggerDecision]:
    return [e.decision for e in emitted if not e.retracted and e.decision.kind is kind]


def test_nothing_is_sent_twice_when_nothing_changed() -> None:
    story = _three_years_from_2020_03_01()
    first, emitted = _send(story, "2023-03-01", [])
    assert [item.event_type for item in first] == [
        "TemporaryPermitApplicationIndicated",
        "NonTemporaryPermitIndicated",
    ]
    again, _ = _send(story, "2024-01-01", emitted)
    assert again == []


def test_a_late_dismissal_dated_before_the_mark_retracts_three_years_and_asks_assessment() -> None:
    story = _three_years_from_2020_03_01()
    sent, emitted = _send(story, "2023-03-01", [])
    three_years = next(t for t in sent if isinstance(t, TriggerDecision) and t.ground)
    assert three_years.ground is NonTemporaryGround.THREE_YEARS

    dismissal = story.dismissed("2023-02-15")
    correction, emitted = _send(story, "2023-03-10", emitted)

    retraction = correction[0]
    assert isinstance(retraction, Retraction)
    assert retraction.retracted_trigger_id == three_years.trigger_id
    assert retraction.retracted_kind is K.NON_TEMPORARY_PERMIT_INDICATED
    assert retraction.payload()["retracted_trigger_id"] == three_years.trigger_id
    assert retraction.rule == "R13"
    assert retraction.replaced_by_trigger_id is None
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
    story.permit_held("2022-01-10", through="2024-01-10")
    story.summoned("2022-09-01")
    _, emitted = _send(story, "2022-09-01", [])
    story.verdict("2023-04-01", VerdictOutcome.ACQUITTAL)
    story.final("2023-05-01")
    later, _ = _send(story, "2023-06-01", emitted)
    assert not any(isinstance(item, Retraction) for item in later)
    assert [t.event_type for t in later] == ["TemporaryPermitBasisEnded"]


def test_a_ground_reached_later_by_business_date_adds_nothing_to_the_feed() -> None:
    story = Story()
    story.report("2022-01-10")
    story.summoned("2022-09-01")
    _, emitted = _send(story, "2022-09-01", [])
    story.verdict("2023-03-03", VerdictOutcome.CONVICTION_TRAFFICKING)
    later, emitted = _send(story, "2023-04-01", emitted)
    assert later == []
    [indication] = _standing(emitted, K.NON_TEMPORARY_PERMIT_INDICATED)
    assert indication.ground is NonTemporaryGround.PROSECUTION


def _three_years_then_an_earlier_summons() -> tuple[
    TriggerDecision, list[Retraction | TriggerDecision], list[EmittedTrigger]
]:
    story = Story()
    story.report("2021-10-01")
    story.permit_held("2021-10-01", through="2025-10-01")
    _, emitted = _send(story, "2024-10-01", [])
    [three_years] = _standing(emitted, K.NON_TEMPORARY_PERMIT_INDICATED)
    assert three_years.ground is NonTemporaryGround.THREE_YEARS
    story.summoned("2022-02-01")  # known only now, dated before the three-year mark
    later, emitted = _send(story, "2024-10-02", emitted)
    return three_years, later, emitted


def test_an_earlier_ground_found_late_retracts_the_indication_and_sends_the_earlier_one() -> None:
    three_years, later, emitted = _three_years_then_an_earlier_summons()
    assert [item.event_type for item in later] == [
        "TriggerRetracted",
        "NonTemporaryPermitIndicated",
    ]
    retraction, indication = later
    assert isinstance(retraction, Retraction)
    assert isinstance(indication, TriggerDecision)
    assert retraction.retracted_trigger_id == three_years.trigger_id
    assert indication.ground is NonTemporaryGround.PROSECUTION
    assert indication.fires_on == d("2022-02-01")
    assert _standing(emitted, K.NON_TEMPORARY_PERMIT_INDICATED) == [indication]


def test_the_retraction_for_an_earlier_ground_names_the_indication_replacing_it() -> None:
    _, later, _ = _three_years_then_an_earlier_summons()
    retraction, indication = later
    assert isinstance(retraction, Retraction)
    assert isinstance(indication, TriggerDecision)
    assert retraction.replaced_by_trigger_id == indication.trigger_id
    assert retraction.payload()["replaced_by_trigger_id"] == indication.trigger_id


def test_a_key_that_holds_again_after_its_retraction_is_sent_under_a_new_id() -> None:
    story = _three_years_from_2020_03_01()
    _, emitted = _send(story, "2023-03-01", [])
    story.dismissed("2023-02-15")
    _, emitted = _send(story, "2023-03-10", emitted)
    retracted = {e.decision.key for e in emitted if e.retracted}
    story.reopened("2023-02-20")
    again, emitted = _send(story, "2023-03-20", emitted)

    # The reopening makes the case run on the mark again: the three years hold again under
    # the key retracted before — sent with a fresh id.
    assert [item.event_type for item in again] == ["NonTemporaryPermitIndicated"]
    indication = again[0]
    assert isinstance(indication, TriggerDecision)
    assert indication.key in retracted
    assert indication.ground is NonTemporaryGround.THREE_YEARS
    assert indication.trigger_id == trigger_id_for(indication.key, 1)
    ids = [e.decision.trigger_id for e in emitted]
    assert len(ids) == len(set(ids))


def test_retraction_ids_are_stable_and_differ_from_the_trigger_they_retract() -> None:
    story = _three_years_from_2020_03_01()
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


# --- substance: what a trigger says ---


def test_a_trigger_whose_date_changed_is_retracted_and_sent_again_as_it_now_reads() -> None:
    story = Story()
    story.report("2016-01-10")
    story.dismissed("2017-05-05")
    _, emitted = _send(story, "2017-06-01", [])
    [assessment] = _standing(emitted, K.NON_TEMPORARY_ASSESSMENT_REQUIRED)
    assert assessment.fires_on == d("2017-05-05")

    story.no_investigation("2016-02-01")  # known late: the case ended without result earlier
    later, emitted = _send(story, "2017-06-02", emitted)

    assert [item.event_type for item in later] == [
        "TriggerRetracted",
        "NonTemporaryAssessmentRequired",
    ]
    retraction, replacement = later
    assert isinstance(retraction, Retraction)
    assert isinstance(replacement, TriggerDecision)
    assert retraction.retracted_trigger_id == assessment.trigger_id
    assert retraction.replaced_by_trigger_id == replacement.trigger_id
    assert replacement.key == assessment.key
    assert replacement.trigger_id == trigger_id_for(assessment.key, 1)
    assert replacement.fires_on == d("2016-02-01")
    assert _standing(emitted, K.NON_TEMPORARY_ASSESSMENT_REQUIRED) == [replacement]


def test_a_dublin_application_indicated_earlier_than_sent_is_sent_again_with_its_date() -> None:
    story = Story()
    story.signal("2019-07-01", DUBLIN)
    story.report("2019-08-01")
    story.presence("2019-08-20", necessary=True)
    _, emitted = _send(story, "2019-08-20", [])
    story.presence("2019-08-10", necessary=True)
    later, emitted = _send(story, "2019-08-21", emitted)
    assert [item.event_type for item in later] == [
        "TriggerRetracted",
        "TemporaryPermitApplicationIndicated",
    ]
    [application] = _standing(emitted, K.TEMPORARY_PERMIT_APPLICATION_INDICATED)
    assert application.fires_on == d("2019-08-10")
    assert application.application_date == d("2019-08-01")


def test_a_trigger_whose_basis_or_reason_alone_grew_is_not_sent_again() -> None:
    story = Story()
    story.report("2020-03-01")
    story.permit("2020-03-01", "2021-03-01")
    _, emitted = _send(story, "2021-02-01", [])
    [due] = _standing(emitted, K.TEMPORARY_PERMIT_EXTENSION_DUE)

    second_case = story.report("2020-06-01", case="case-002")  # known late
    later, _ = _send(story, "2021-02-02", emitted)

    [now] = [t for t in story.on("2021-02-02") if t.key == due.key]
    assert second_case in now.based_on
    assert second_case not in due.based_on
    assert [(item.event_type, item.case_id) for item in later] == [
        ("TemporaryPermitApplicationIndicated", "case-002")
    ]


def test_substance_ignores_basis_and_reason_but_not_what_the_trigger_says() -> None:
    story = Story()
    story.report("2020-03-01")
    [decision] = story.on("2020-03-01")
    sent = [EmittedTrigger(decision)]
    explained = replace(decision, based_on=("ev-other",), reason="Read differently.")
    assert reconcile(sent, [explained]) == []
    for changed in (
        replace(decision, fires_on=decision.fires_on + timedelta(days=1)),
        replace(decision, application_date=d("2020-02-01")),
        replace(decision, rule="R5"),
        replace(decision, case_id="case-002"),
    ):
        outcome = reconcile(sent, [changed])
        assert [item.event_type for item in outcome] == [
            "TriggerRetracted",
            "TemporaryPermitApplicationIndicated",
        ], changed


# --- the retraction as the addressee sees it ---


def test_a_retraction_names_the_facts_that_caused_it_when_the_caller_knows_them() -> None:
    story = _three_years_from_2020_03_01()
    _, emitted = _send(story, "2023-03-01", [])
    dismissal = story.dismissed("2023-02-15")
    outcome = reconcile(emitted, story.on("2023-03-10"), causes=lambda sent: (dismissal,))
    retraction = outcome[0]
    assert isinstance(retraction, Retraction)
    assert retraction.caused_by == (dismissal,)
    assert retraction.payload()["caused_by"] == [dismissal]
    assert reconcile(emitted, story.on("2023-03-10"))[0] == replace(retraction, caused_by=())


def test_a_retraction_goes_to_the_addressee_of_the_trigger_it_retracts() -> None:
    story = Story()
    story.signal("2022-01-10")
    [offer] = story.on("2022-01-10")
    [retraction] = reconcile([EmittedTrigger(offer)], [])
    assert isinstance(retraction, Retraction)
    assert retraction.retracted_kind is K.REFLECTION_PERIOD_OFFER_REQUIRED
    assert retraction.addressee is Addressee.POLICE
    assert retraction.event_type == "TriggerRetracted"


def test_recording_a_retraction_keeps_when_the_trigger_was_sent() -> None:
    story = Story()
    story.report("2020-03-01")
    [decision] = story.on("2020-03-01")
    sent_at = datetime(2020, 3, 1, 9, 30, tzinfo=UTC)
    emitted = [EmittedTrigger(decision, sent_at=sent_at)]
    assert EmittedTrigger(decision).sent_at is None
    outcome = reconcile(emitted, [])
    [record] = apply_outcome(emitted, outcome)
    assert record.retracted
    assert record.sent_at == sent_at
