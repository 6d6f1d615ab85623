"""Corrections in the domain: the rules judge the corrected fact set (docs/domain.md#corrections),
and R17 asks the IND to reassess a permit whose basis a correction removed."""

from __future__ import annotations

import itertools

from residence_story import IRREGULAR, K, Story, d

from residence.domain import all_decisions, fact_from_event
from residence.domain.categories import NonTemporaryGround, VerdictOutcome
from residence.domain.corrections import apply_corrections
from residence.domain.facts import POSITION_FIELD
from residence.domain.model import CaseFact, Correction

ORIGINAL = "0c5ad3f1-8d0b-4e1c-9a7e-1f2a3b4c5d6e"
FIRST = "1c5ad3f1-8d0b-4e1c-9a7e-1f2a3b4c5d6e"


def _reporting_victim() -> Story:
    story = Story()
    story.signal("2021-01-01", IRREGULAR)
    story.report("2021-01-10")
    return story


def test_an_annulled_fact_is_absent_and_an_amended_one_in_its_newest_form() -> None:
    story = _reporting_victim()
    summons = story.summoned("2022-01-01")
    verdict = story.verdict("2022-05-01", VerdictOutcome.CONVICTION_TRAFFICKING)
    first = story.amended("2022-06-01", summons, "2022-02-01")
    latest = story.amended("2022-07-01", first, "2022-03-15")  # a correction of a correction
    annulment = story.annulled("2022-08-01", verdict)
    corrected = apply_corrections(story.facts)
    by_id = {f.event_id: f for f in corrected.facts}
    assert verdict not in by_id
    assert corrected.annulled[verdict].event_id == annulment
    assert by_id[summons].occurred_on == d("2022-03-15")
    assert [c.event_id for c in corrected.amended[summons]] == [first, latest]
    assert not any(isinstance(f, Correction) for f in corrected.facts)


def test_the_latest_amendment_wins_by_position_not_by_the_order_noted() -> None:
    story = _reporting_victim()
    summons = story.summoned("2022-01-01")
    story.amended("2022-06-01", summons, "2022-02-01")
    story.amended("2022-07-01", summons, "2022-03-15")
    for order in itertools.permutations(story.facts):
        facts = {f.event_id: f for f in apply_corrections(order).facts}
        assert facts[summons].occurred_on == d("2022-03-15")


def test_a_correction_of_a_fact_not_noted_yet_waits_and_applies_once_it_comes() -> None:
    story = _reporting_victim()
    summons = story.summoned("2022-01-01")
    story.amended("2022-06-01", summons, "2022-04-01")
    without = [f for f in story.facts if f.event_id != summons]
    waiting = apply_corrections(without)
    assert [c.original_event_id for c in waiting.pending] == [summons]
    assert all_decisions(reversed(story.facts)) == all_decisions(story.facts)


def test_a_summons_amended_to_a_later_date_moves_the_ground_and_names_the_amendment() -> None:
    story = _reporting_victim()
    summons = story.summoned("2022-01-01")
    assert story.only("2022-01-01", K.NON_TEMPORARY_PERMIT_INDICATED).fires_on == d("2022-01-01")
    amendment = story.amended("2022-02-01", summons, "2022-05-01")
    assert story.fired("2022-04-30", K.NON_TEMPORARY_PERMIT_INDICATED) == []
    moved = story.only("2022-05-01", K.NON_TEMPORARY_PERMIT_INDICATED)
    assert moved.fires_on == d("2022-05-01")
    assert moved.ground is NonTemporaryGround.PROSECUTION
    assert {summons, amendment} <= set(moved.based_on)


def test_an_amended_verdict_outcome_is_read_in_its_new_form() -> None:
    story = _reporting_victim()
    verdict = story.verdict("2021-06-01", VerdictOutcome.ACQUITTAL)
    assert story.fired("2021-06-01", K.NON_TEMPORARY_PERMIT_INDICATED) == []
    story.amended("2021-07-01", verdict, outcome=VerdictOutcome.CONVICTION_TRAFFICKING)
    assert story.only("2021-07-01", K.NON_TEMPORARY_PERMIT_INDICATED).ground is (
        NonTemporaryGround.CONVICTION
    )


def test_an_annulled_conviction_after_the_grant_asks_the_ind_to_reassess() -> None:
    story = _reporting_victim()
    verdict = story.verdict("2021-06-01", VerdictOutcome.CONVICTION_TRAFFICKING)
    grant = story.non_temporary_granted("2021-09-01")
    assert story.fired("2022-01-01", K.REASSESSMENT_REQUIRED) == []
    annulment = story.annulled("2022-02-01", verdict)
    assert story.fired("2022-02-01", K.NON_TEMPORARY_PERMIT_INDICATED) == []
    reassess = story.only("2022-02-01", K.REASSESSMENT_REQUIRED)
    assert reassess.fires_on == d("2022-02-01")
    assert reassess.decision_event_id == grant
    assert {grant, annulment} <= set(reassess.based_on)
    assert reassess.rule == "R17"
    assert reassess.case_id is None


def test_no_reassessment_while_another_ground_was_reached_by_the_grant() -> None:
    story = _reporting_victim()
    story.summoned("2021-10-01")
    verdict = story.verdict("2021-11-01", VerdictOutcome.CONVICTION_TRAFFICKING)
    story.non_temporary_granted("2021-12-01")
    story.annulled("2022-02-01", verdict)
    assert story.fired("2022-03-01", K.REASSESSMENT_REQUIRED) == []


def test_a_correction_off_the_bus_is_a_correction_fact_with_its_position() -> None:
    payload = {
        "case_id": "case-001",
        "suspect_id": "suspect-001",
        "corrected_event_id": FIRST,
        "original_event_id": ORIGINAL,
        "corrected_event_type": "VerdictDelivered",
        "correction_reason": "WRONG_CATEGORY",
        "fact_occurred_on": "2022-01-01",
        "amended": {"kind": None, "code": None, "outcome": "ACQUITTAL", "presence_necessary": None},
        POSITION_FIELD: 7,
    }
    fact = fact_from_event("ev-9", "prosecution", "FactAmended", d("2022-02-01"), payload)
    assert isinstance(fact, Correction)
    assert (fact.case_id, fact.victim_id, fact.position) == ("case-001", None, 7)
    assert fact.amended == (("outcome", VerdictOutcome.ACQUITTAL),)
    assert fact.original_event_id == ORIGINAL
    assert not fact.annulled
    # A correction of a fact the rules do not read is no fact for them.
    other = payload | {"corrected_event_type": "CourtHearingHeld"}
    assert fact_from_event("ev-9", "prosecution", "FactAmended", d("2022-02-01"), other) is None
    annul = {"victim_id": "victim-001", **{k: payload[k] for k in list(payload)[2:7]}}
    annul["corrected_event_type"] = "ReportFiled"
    fact = fact_from_event("ev-8", "intake", "FactAnnulled", d("2022-02-01"), annul)
    assert isinstance(fact, Correction)
    assert fact.annulled
    assert fact.victim_id == "victim-001"


def test_amending_keeps_the_fact_s_identity() -> None:
    story = _reporting_victim()
    summons = story.summoned("2022-01-01")
    story.amended("2022-02-01", summons, "2022-03-01")
    fact = next(f for f in apply_corrections(story.facts).facts if f.event_id == summons)
    assert isinstance(fact, CaseFact)
    assert fact.suspect_id == "suspect-001"
