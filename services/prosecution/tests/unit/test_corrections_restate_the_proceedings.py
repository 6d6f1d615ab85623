"""A correction restates the proceedings (docs/adr/0031): the checks read the facts as they now
stand, and a correction after which a later fact could not stand is refused."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from ketenzicht_common.domain import Provenance, event_id_of
from ketenzicht_common.errors import PreconditionFailed
from prosecution.domain.suspect_proceedings import SuspectProceedings

OM = Provenance(organisation="om", system="compas", command_id="cmd-1")
SUSPECT = "S-0123456789abcdef0123"


def annul(proceedings: SuspectProceedings, fact: Any) -> None:
    event_id = str(event_id_of(fact.originator_id, fact.originator_version))
    proceedings.record_correction(
        SuspectProceedings.FactAnnulled,
        OM,
        date(2022, 9, 1),
        {
            "corrected_event_id": event_id,
            "original_event_id": event_id,
            "corrected_event_type": type(fact).__name__,
            "correction_reason": "REGISTERED_IN_ERROR",
            "fact_occurred_on": fact.occurred_on,
        },
    )


def refused(act: Any) -> PreconditionFailed:
    with pytest.raises(PreconditionFailed) as refusal:
        act()
    return refusal.value


def registered() -> SuspectProceedings:
    return SuspectProceedings.register("case-1", SUSPECT, OM, date(2022, 2, 1), "kz1.sealed")


def test_an_annulled_dismissal_lets_the_suspect_be_summoned() -> None:
    proceedings = registered()
    proceedings.dismiss(OM, date(2022, 3, 1), "POLICY", "02")
    dismissal = proceedings.pending_events[-1]
    assert refused(lambda: proceedings.summon(OM, date(2022, 3, 5))).reason == "CASE_DISMISSED"
    annul(proceedings, dismissal)
    proceedings.summon(OM, date(2022, 3, 5))
    assert proceedings.decision == "SUMMONED"


def test_a_summons_a_hearing_rests_on_is_annulled_only_after_the_hearing() -> None:
    proceedings = registered()
    proceedings.summon(OM, date(2022, 3, 1))
    summons = proceedings.pending_events[-1]
    proceedings.hold_court_hearing(OM, date(2022, 4, 1), "FIRST_INSTANCE")
    hearing = proceedings.pending_events[-1]
    refusal = refused(lambda: annul(proceedings, summons))
    assert refusal.reason == "CORRECTION_CONFLICTS_WITH_LATER_FACTS"
    assert "CourtHearingHeld" in refusal.message
    assert "NOT_SUMMONED" in refusal.message
    annul(proceedings, hearing)
    annul(proceedings, summons)
    assert (proceedings.decision, proceedings.summoned_on, proceedings.hearings) == ("", None, [])


def test_an_annulled_registration_takes_no_more_facts_and_keeps_its_identity() -> None:
    proceedings = registered()
    registration = proceedings.pending_events[0]
    annul(proceedings, registration)
    assert (proceedings.case_id, proceedings.suspect_id) == ("case-1", SUSPECT)
    assert proceedings.sealed_parketnummer == "kz1.sealed"
    refusal = refused(lambda: proceedings.summon(OM, date(2022, 3, 1)))
    assert refusal.reason == "REGISTRATION_ANNULLED"
