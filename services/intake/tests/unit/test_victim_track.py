"""Intake's rules for one victim, without any I/O."""

from __future__ import annotations

from datetime import date

import pytest

from intake.domain.reflection_offer import ReflectionOfferSettings
from intake.domain.victim_track import VictimTrack
from ketenzicht_common.domain import Provenance
from ketenzicht_common.errors import AlreadyExists, PreconditionFailed

POLICE = Provenance(organisation="politie", system="police-registration", command_id="cmd-1")


def signalled(on: date = date(2022, 1, 3)) -> VictimTrack:
    track = VictimTrack.open("victim-001", POLICE, on)
    track.register_signal(
        POLICE,
        on,
        "signal-001",
        source_organisation="POLICE",
        form="SEXUAL",
        minor=False,
        nationality_group="THIRD_COUNTRY",
        residence_position="IRREGULAR",
        region="AMSTERDAM",
    )
    track.collect_events()
    return track


def test_a_report_is_recorded_once_per_case() -> None:
    track = signalled()
    track.file_report(POLICE, date(2022, 1, 10), "case-007", under_number=True)
    (event,) = track.collect_events()
    assert isinstance(event, VictimTrack.ReportFiled)
    assert (event.case_id, event.under_number, event.occurred_on) == (
        "case-007",
        True,
        date(2022, 1, 10),
    )
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
    track.register_signal(
        POLICE,
        date(2024, 6, 1),
        "signal-002",
        source_organisation="KMAR",
        form="LABOUR",
        minor=False,
        nationality_group="THIRD_COUNTRY",
        residence_position="IRREGULAR",
        region="ROTTERDAM",
    )
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
    track.complete_individual_assessment(
        POLICE, date(2022, 2, 1), ["SHIELDED_HEARING", "SAFETY_MEASURES", "SHIELDED_HEARING"]
    )
    (event,) = track.collect_events()
    assert event.measures == ["SAFETY_MEASURES", "SHIELDED_HEARING"]


def signalled_as(nationality: str, position: str, on: date = date(2022, 1, 3)) -> VictimTrack:
    track = VictimTrack.open("victim-002", POLICE, on)
    track.register_signal(
        POLICE,
        on,
        "signal-101",
        source_organisation="POLICE",
        form="LABOUR",
        minor=False,
        nationality_group=nationality,
        residence_position=position,
        region="ROTTERDAM",
    )
    track.collect_events()
    return track


def test_an_offer_the_signal_does_not_allow_is_refused_and_records_nothing() -> None:
    track = signalled_as("THIRD_COUNTRY", "DUBLIN_CLAIMANT")
    with pytest.raises(PreconditionFailed) as refused:
        track.offer_reflection_period(POLICE, date(2023, 5, 17))
    assert refused.value.reason == "REFLECTION_NOT_ALLOWED"
    assert refused.value.subject == "victim-002"
    assert "Dublin claimant" in refused.value.message
    assert track.collect_events() == []
    assert not track.reflection_offered
    track.offer_reflection_period(POLICE, date(2023, 5, 18))
    (event,) = track.collect_events()
    assert isinstance(event, VictimTrack.ReflectionPeriodOffered)


def test_the_offer_is_judged_by_the_signal_in_force_on_its_date() -> None:
    track = signalled_as("THIRD_COUNTRY", "IRREGULAR", date(2021, 1, 4))
    # A later signal (a permit since: lawful stay), registered before a backdated offer.
    track.register_signal(
        POLICE,
        date(2022, 6, 1),
        "signal-102",
        source_organisation="POLICE",
        form="LABOUR",
        minor=False,
        nationality_group="THIRD_COUNTRY",
        residence_position="LAWFUL",
        region="ROTTERDAM",
    )
    with pytest.raises(PreconditionFailed):
        track.offer_reflection_period(POLICE, date(2022, 6, 2))
    track.offer_reflection_period(POLICE, date(2022, 5, 31))


def test_the_lawful_residents_date_reaches_the_aggregate_as_a_setting() -> None:
    track = signalled_as("THIRD_COUNTRY", "LAWFUL")
    with pytest.raises(PreconditionFailed):
        track.offer_reflection_period(POLICE, date(2022, 10, 20))
    track.offer_reflection_period(
        POLICE,
        date(2022, 10, 20),
        ReflectionOfferSettings(lawful_residents_from=date(2022, 10, 20)),
    )


def test_a_witness_who_reported_is_refused_an_offer_and_a_victims_report_undoes_that() -> None:
    track = signalled_as("THIRD_COUNTRY", "IRREGULAR")
    track.file_report(POLICE, date(2022, 1, 10), "case-w1", under_number=False, capacity="WITNESS")
    (report,) = track.collect_events()
    assert report.capacity == "WITNESS"
    with pytest.raises(PreconditionFailed) as refused:
        track.offer_reflection_period(POLICE, date(2022, 1, 11))
    assert "witness" in refused.value.message
    # A report dated after the offer does not count for it; a victim's cooperation does.
    track.declare_cooperation(POLICE, date(2022, 1, 20), "case-w2")
    with pytest.raises(PreconditionFailed):
        track.offer_reflection_period(POLICE, date(2022, 1, 19))
    track.offer_reflection_period(POLICE, date(2022, 1, 20))


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
        ("CooperationImpossibleRecorded", "PSYCHOLOGICAL"),
    ]
    # A new signal is a new episode: the same reason may be recorded again.
    track.register_signal(
        POLICE,
        date(2024, 6, 1),
        "signal-002",
        source_organisation="POLICE",
        form="SEXUAL",
        minor=False,
        nationality_group="THIRD_COUNTRY",
        residence_position="IRREGULAR",
        region="AMSTERDAM",
    )
    track.record_cooperation_impossible(POLICE, date(2024, 6, 2), "SERIOUS_THREAT")
