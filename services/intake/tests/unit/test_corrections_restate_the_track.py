"""A correction restates the victim's track (docs/adr/0031): R4 and the date checks read the
signals as they now stand; an offer that was made survives a correction of its signal."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from intake.domain.victim_track import VictimTrack
from ketenzicht_common.domain import Provenance, event_id_of
from ketenzicht_common.errors import PreconditionFailed

POLICE = Provenance(organisation="politie", system="bvh", command_id="cmd-1")
CATEGORIES = dict(source_organisation="POLICE", form="SEXUAL", minor=False, region="AMSTERDAM")


def signal(track: VictimTrack, on: date, nationality: str) -> Any:
    track.register_signal(
        POLICE,
        on,
        f"signal-{on.isoformat()}",
        nationality_group=nationality,
        residence_position="IRREGULAR",
        **CATEGORIES,
    )
    return track.pending_events[-1]


def amend_date(track: VictimTrack, fact: Any, on: date) -> None:
    event_id = str(event_id_of(fact.originator_id, fact.originator_version))
    track.record_correction(
        VictimTrack.FactAmended,
        POLICE,
        date(2023, 5, 1),
        {
            "corrected_event_id": event_id,
            "original_event_id": event_id,
            "corrected_event_type": "SignalRegistered",
            "correction_reason": "WRONG_DATE",
            "fact_occurred_on": on,
            "amended": {"form": "SEXUAL", "minor": False, "region": "AMSTERDAM"},
        },
    )


def test_the_offer_reads_the_signal_in_force_by_its_amended_date() -> None:
    track = VictimTrack.open("V-1", POLICE, date(2023, 1, 5))
    signal(track, date(2023, 1, 5), "THIRD_COUNTRY")
    dutch = signal(track, date(2023, 2, 1), "DUTCH")
    with pytest.raises(PreconditionFailed) as refusal:
        track.offer_reflection_period(POLICE, date(2023, 3, 1))
    assert refusal.value.reason == "REFLECTION_NOT_ALLOWED"
    amend_date(track, dutch, date(2023, 4, 1))
    track.offer_reflection_period(POLICE, date(2023, 3, 1))
    assert track.reflection_offered


def test_an_offer_made_survives_a_correction_after_which_r4_would_refuse_it() -> None:
    track = VictimTrack.open("V-1", POLICE, date(2023, 1, 5))
    signal(track, date(2023, 1, 5), "THIRD_COUNTRY")
    dutch = signal(track, date(2023, 4, 1), "DUTCH")
    track.offer_reflection_period(POLICE, date(2023, 3, 1))
    # The Dutch signal was in fact of February: the offer happened all the same; whether it
    # was allowed is residence's finding, not a reason to refuse the correction.
    amend_date(track, dutch, date(2023, 2, 1))
    assert track.reflection_offered
    assert [s.signalled_on for s in track.situations] == [date(2023, 1, 5), date(2023, 2, 1)]


def test_every_signal_annulled_leaves_nothing_to_date_a_fact_after() -> None:
    track = VictimTrack.open("V-1", POLICE, date(2023, 1, 5))
    only = signal(track, date(2023, 1, 5), "THIRD_COUNTRY")
    event_id = str(event_id_of(only.originator_id, only.originator_version))
    track.record_correction(
        VictimTrack.FactAnnulled,
        POLICE,
        date(2023, 5, 1),
        {
            "corrected_event_id": event_id,
            "original_event_id": event_id,
            "corrected_event_type": "SignalRegistered",
            "correction_reason": "WRONG_PERSON",
            "fact_occurred_on": only.occurred_on,
        },
    )
    with pytest.raises(PreconditionFailed) as refusal:
        track.hold_informative_interview(POLICE, date(2023, 2, 1))
    assert refusal.value.reason == "NO_SIGNAL"
    signal(track, date(2023, 1, 20), "THIRD_COUNTRY")  # a signal of this victim that stands
    track.hold_informative_interview(POLICE, date(2023, 2, 1))
