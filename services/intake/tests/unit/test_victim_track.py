"""Intake's rules for one victim, without any I/O."""

from __future__ import annotations

from datetime import date

import pytest

from intake.domain.victim_track import VictimTrack
from ketenzicht_common.domain import Provenance
from ketenzicht_common.errors import AlreadyExists, PreconditionFailed

POLICE = Provenance(organisation="politie", system="police-registration", command_id="cmd-1")


def signalled(on: date = date(2022, 1, 3)) -> VictimTrack:
    track = VictimTrack.open("victim-001", POLICE, on)
    track.register_signal(POLICE, on, "signal-001", source_organisation="POLICE",
                          form="SEXUAL", minor=False, nationality_group="THIRD_COUNTRY",
                          residence_position="IRREGULAR", region="AMSTERDAM")
    track.collect_events()
    return track


def test_a_report_is_recorded_once_per_case() -> None:
    track = signalled()
    track.file_report(POLICE, date(2022, 1, 10), "case-007", under_number=True)
    (event,) = track.collect_events()
    assert isinstance(event, VictimTrack.ReportFiled)
    assert (event.case_id, event.under_number, event.occurred_on) == (
        "case-007", True, date(2022, 1, 10))
    assert event.provenance["organisation"] == "politie"

    with pytest.raises(AlreadyExists):
        track.file_report(POLICE, date(2022, 1, 11), "case-007", under_number=False)
    assert track.collect_events() == []


def test_the_same_victim_may_report_in_a_second_case() -> None:
    track = signalled()
    track.file_report(POLICE, date(2022, 1, 10), "case-007", under_number=False)
    track.file_report(POLICE, date(2023, 5, 1), "case-008", under_number=False)
    assert sorted(track.reports) == ["case-007", "case-008"]


def test_no_fact_can_be_dated_before_the_first_signal() -> None:
    track = signalled(date(2022, 1, 3))
    with pytest.raises(PreconditionFailed) as refused:
        track.file_report(POLICE, date(2022, 1, 2), "case-007", under_number=False)
    assert refused.value.reason == "DATE_BEFORE_SIGNAL"
    assert track.collect_events() == []


def test_a_withdrawal_needs_a_report_in_that_case_and_cannot_precede_it() -> None:
    track = signalled()
    with pytest.raises(PreconditionFailed) as no_report:
        track.withdraw_report(POLICE, date(2022, 2, 1), "case-007")
    assert no_report.value.reason == "NO_REPORT"
    track.file_report(POLICE, date(2022, 1, 10), "case-007", under_number=False)
    with pytest.raises(PreconditionFailed) as too_early:
        track.withdraw_report(POLICE, date(2022, 1, 9), "case-007")
    assert too_early.value.reason == "DATE_BEFORE_REPORT"
    track.withdraw_report(POLICE, date(2022, 1, 10), "case-007")
    with pytest.raises(AlreadyExists):
        track.withdraw_report(POLICE, date(2022, 1, 11), "case-007")


def test_declining_the_reflection_period_needs_an_offer() -> None:
    track = signalled()
    with pytest.raises(PreconditionFailed) as refused:
        track.decline_reflection_period(POLICE, date(2022, 1, 5))
    assert refused.value.reason == "REFLECTION_PERIOD_NOT_OFFERED"
    track.offer_reflection_period(POLICE, date(2022, 1, 4))
    track.decline_reflection_period(POLICE, date(2022, 1, 5))
    with pytest.raises(AlreadyExists):
        track.offer_reflection_period(POLICE, date(2022, 1, 6))


def test_a_new_signal_brings_a_victim_back_in_sight() -> None:
    track = signalled()
    track.mark_out_of_sight(POLICE, date(2022, 3, 1))
    with pytest.raises(AlreadyExists):
        track.mark_out_of_sight(POLICE, date(2022, 3, 2))
    track.register_signal(POLICE, date(2024, 6, 1), "signal-002", source_organisation="KMAR",
                          form="LABOUR", minor=False, nationality_group="THIRD_COUNTRY",
                          residence_position="IRREGULAR", region="ROTTERDAM")
    assert not track.out_of_sight
    assert track.first_signal_on == date(2022, 1, 3)


def test_pilot_interventions_need_enrolment_and_name_their_own_event() -> None:
    track = signalled()
    with pytest.raises(PreconditionFailed) as refused:
        track.record_pilot_intervention(POLICE, date(2022, 2, 1), "PEER_SUPPORT")
    assert refused.value.reason == "NOT_IN_PILOT"
    track.enrol_in_pilot(POLICE, date(2022, 2, 1), "pilot-2022")
    track.record_pilot_intervention(POLICE, date(2022, 2, 2), "POLICE_PSYCHOLOGIST")
    events = track.collect_events()
    assert [type(e).__name__ for e in events] == ["PilotEnrolled", "PolicePsychologistDeployed"]


def test_the_assessment_keeps_categories_only_once_each() -> None:
    track = signalled()
    track.complete_individual_assessment(POLICE, date(2022, 2, 1),
                                         ["SHIELDED_HEARING", "SAFETY_MEASURES",
                                          "SHIELDED_HEARING"])
    (event,) = track.collect_events()
    assert event.measures == ["SAFETY_MEASURES", "SHIELDED_HEARING"]


def test_reports_and_cooperation_are_a_victims_unless_marked_otherwise() -> None:
    track = signalled()
    track.file_report(POLICE, date(2022, 1, 10), "case-1", under_number=False)
    track.declare_cooperation(POLICE, date(2022, 1, 11), "case-2", capacity="WITNESS")
    report, cooperation = track.collect_events()
    assert (report.capacity, cooperation.capacity) == ("VICTIM", "WITNESS")


def test_cooperation_impossible_is_recorded_once_per_reason_after_a_signal() -> None:
    track = signalled()
    with pytest.raises(PreconditionFailed):
        track.record_cooperation_impossible(POLICE, date(2022, 1, 2), "SERIOUS_THREAT")
    track.record_cooperation_impossible(POLICE, date(2022, 1, 20), "SERIOUS_THREAT")
    track.record_cooperation_impossible(POLICE, date(2022, 2, 1), "PSYCHOLOGICAL")
    with pytest.raises(AlreadyExists):
        track.record_cooperation_impossible(POLICE, date(2022, 2, 2), "SERIOUS_THREAT")
    events = track.collect_events()
    assert [(type(e).__name__, e.reason) for e in events] == [
        ("CooperationImpossibleRecorded", "SERIOUS_THREAT"),
        ("CooperationImpossibleRecorded", "PSYCHOLOGICAL")]
    # A new signal is a new episode: the same reason may be recorded again.
    track.register_signal(POLICE, date(2024, 6, 1), "signal-002", source_organisation="POLICE",
                          form="SEXUAL", minor=False, nationality_group="THIRD_COUNTRY",
                          residence_position="IRREGULAR", region="AMSTERDAM")
    track.record_cooperation_impossible(POLICE, date(2024, 6, 2), "SERIOUS_THREAT")
