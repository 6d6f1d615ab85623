"""The OM's rules for the proceedings against one suspect, and for a case's victims, without
any I/O."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date

import pytest

from ketenzicht_common.domain import Provenance, parse_event_topic
from ketenzicht_common.errors import AlreadyExists, PreconditionFailed
from ketenzicht_common.store import topics_of
from ketenzicht_common.subject_keys import Controller, MemoryKeys, SubjectKeys
from ketenzicht_contracts.events import payload_model
from prosecution.application.prosecution import PRIVATE_TOPICS
from prosecution.domain.prosecution_case import ProsecutionCase
from prosecution.domain.suspect_proceedings import Parketnummer, SuspectProceedings

OM = Provenance(organisation="om", system="om-case-registration", command_id="cmd-1")
FIRST, APPEAL = "FIRST_INSTANCE", "APPEAL"


def registered(on: date = date(2022, 6, 1), parketnummer: str = "") -> SuspectProceedings:
    proceedings = SuspectProceedings.register("case-001", "suspect-001", OM, on, parketnummer)
    proceedings.collect_events()
    return proceedings


def summoned(on: date = date(2022, 9, 1)) -> SuspectProceedings:
    proceedings = registered()
    proceedings.summon(OM, on)
    proceedings.collect_events()
    return proceedings


def refused(reason: str, proceedings: SuspectProceedings, act: Callable[[], None]) -> None:
    """``act`` is refused for ``reason`` and records nothing."""
    with pytest.raises(PreconditionFailed) as refusal:
        act()
    assert refusal.value.reason == reason
    assert refusal.value.subject == "case-001/suspect-001"
    assert proceedings.collect_events() == []


def test_a_registration_keeps_the_parketnummer_private_and_sealed() -> None:
    keys = SubjectKeys(Controller.OM, bytes(32), MemoryKeys())
    sealed = keys.seal("case-001/suspect-001", "parketnummer", "08/123456-22")
    proceedings = SuspectProceedings.register(
        "case-001", "suspect-001", OM, date(2022, 6, 1), sealed
    )
    registered_event, number = proceedings.collect_events()
    assert isinstance(registered_event, SuspectProceedings.CaseRegistered)
    assert (registered_event.case_id, registered_event.suspect_id) == ("case-001", "suspect-001")
    assert registered_event.TOPIC not in PRIVATE_TOPICS
    assert number.TOPIC in PRIVATE_TOPICS
    assert "08/123456-22" not in repr(number.__dict__)
    assert proceedings.sealed_parketnummer == sealed
    assert keys.open("case-001/suspect-001", "parketnummer", sealed) == "08/123456-22"


def test_a_verdict_needs_a_summons_and_cannot_precede_it() -> None:
    proceedings = registered()
    refused(
        "NOT_SUMMONED",
        proceedings,
        lambda: proceedings.deliver_verdict(OM, date(2023, 1, 1), FIRST, "ACQUITTAL"),
    )
    proceedings = summoned(date(2022, 9, 1))
    refused(
        "DATE_BEFORE_SUMMONS",
        proceedings,
        lambda: proceedings.deliver_verdict(OM, date(2022, 8, 31), FIRST, "ACQUITTAL"),
    )
    refused(
        "DATE_BEFORE_SUMMONS",
        proceedings,
        lambda: proceedings.hold_court_hearing(OM, date(2022, 8, 1), FIRST),
    )
    proceedings.deliver_verdict(OM, date(2023, 3, 1), FIRST, "CONVICTION_TRAFFICKING")
    with pytest.raises(AlreadyExists):
        proceedings.deliver_verdict(OM, date(2023, 3, 2), FIRST, "ACQUITTAL")


def test_an_appeal_needs_a_first_instance_verdict() -> None:
    proceedings = summoned()
    refused(
        "NO_FIRST_INSTANCE_VERDICT",
        proceedings,
        lambda: proceedings.lodge_appeal(OM, date(2023, 3, 10)),
    )
    refused(
        "NO_FIRST_INSTANCE_VERDICT",
        proceedings,
        lambda: proceedings.deliver_verdict(OM, date(2024, 1, 1), APPEAL, "ACQUITTAL"),
    )
    proceedings.deliver_verdict(OM, date(2023, 3, 1), FIRST, "CONVICTION_TRAFFICKING")
    proceedings.collect_events()
    refused(
        "APPEAL_NOT_LODGED",
        proceedings,
        lambda: proceedings.deliver_verdict(OM, date(2024, 1, 1), APPEAL, "ACQUITTAL"),
    )
    refused(
        "APPEAL_NOT_LODGED",
        proceedings,
        lambda: proceedings.hold_court_hearing(OM, date(2023, 11, 1), APPEAL),
    )
    refused(
        "DATE_BEFORE_VERDICT", proceedings, lambda: proceedings.lodge_appeal(OM, date(2023, 2, 28))
    )
    proceedings.lodge_appeal(OM, date(2023, 3, 10))
    proceedings.collect_events()
    refused("APPEAL_PENDING", proceedings, lambda: proceedings.mark_final(OM, date(2023, 6, 1)))
    refused(
        "DATE_BEFORE_APPEAL",
        proceedings,
        lambda: proceedings.deliver_verdict(OM, date(2023, 3, 9), APPEAL, "ACQUITTAL"),
    )
    proceedings.hold_court_hearing(OM, date(2023, 11, 1), APPEAL)
    proceedings.deliver_verdict(
        OM, date(2024, 1, 15), APPEAL, "CONVICTION_OTHER_OFFENCE_TRAFFICKING_CHARGED"
    )
    proceedings.mark_final(OM, date(2024, 1, 29))
    assert proceedings.final_on == date(2024, 1, 29)


def test_nothing_after_the_case_is_final() -> None:
    proceedings = summoned()
    refused("NO_VERDICT", proceedings, lambda: proceedings.mark_final(OM, date(2023, 1, 1)))
    proceedings.deliver_verdict(OM, date(2023, 3, 1), FIRST, "ACQUITTAL")
    proceedings.collect_events()
    refused(
        "DATE_BEFORE_LAST_FACT", proceedings, lambda: proceedings.mark_final(OM, date(2023, 2, 1))
    )
    proceedings.mark_final(OM, date(2023, 3, 15))
    proceedings.collect_events()
    refused("CASE_FINAL", proceedings, lambda: proceedings.lodge_appeal(OM, date(2023, 3, 16)))
    refused("CASE_FINAL", proceedings, lambda: proceedings.summon(OM, date(2023, 4, 1)))
    refused(
        "CASE_FINAL", proceedings, lambda: proceedings.dismiss(OM, date(2023, 4, 1), "POLICY", "50")
    )
    refused(
        "CASE_FINAL",
        proceedings,
        lambda: proceedings.hold_court_hearing(OM, date(2023, 4, 1), FIRST),
    )
    with pytest.raises(AlreadyExists):
        proceedings.mark_final(OM, date(2023, 4, 1))


def test_a_hearing_held_before_the_case_became_final_may_be_registered_late() -> None:
    proceedings = summoned()
    proceedings.deliver_verdict(OM, date(2023, 3, 1), FIRST, "ACQUITTAL")
    proceedings.mark_final(OM, date(2023, 3, 15))
    proceedings.hold_court_hearing(OM, date(2023, 2, 1), FIRST)
    assert proceedings.hearings == [(FIRST, date(2023, 2, 1))]


def test_a_summons_and_a_dismissal_exclude_each_other_unless_the_case_is_reopened() -> None:
    proceedings = summoned()
    refused(
        "SUSPECT_SUMMONED",
        proceedings,
        lambda: proceedings.dismiss(OM, date(2022, 10, 1), "TECHNICAL", "02"),
    )
    refused(
        "SUSPECT_SUMMONED",
        proceedings,
        lambda: proceedings.dispose_otherwise(OM, date(2022, 10, 1), "TRANSACTION"),
    )
    refused("NOT_DISPOSED_OF", proceedings, lambda: proceedings.reopen(OM, date(2022, 10, 1)))

    proceedings = registered()
    proceedings.dismiss(OM, date(2022, 8, 1), "POLICY", "50")
    proceedings.collect_events()
    refused("CASE_DISMISSED", proceedings, lambda: proceedings.summon(OM, date(2022, 9, 1)))
    with pytest.raises(AlreadyExists):
        proceedings.dismiss(OM, date(2022, 8, 2), "POLICY", "50")
    refused("DATE_BEFORE_DECISION", proceedings, lambda: proceedings.reopen(OM, date(2022, 7, 1)))
    proceedings.reopen(OM, date(2023, 1, 5))
    proceedings.collect_events()
    refused("DATE_BEFORE_REOPENING", proceedings, lambda: proceedings.summon(OM, date(2023, 1, 4)))
    proceedings.summon(OM, date(2023, 2, 1))
    assert proceedings.decision == "SUMMONED"


def test_another_disposal_also_excludes_a_summons_until_reopened() -> None:
    proceedings = registered()
    proceedings.dispose_otherwise(OM, date(2022, 7, 1), "JOINDER")
    proceedings.collect_events()
    refused("CASE_DISPOSED_OF", proceedings, lambda: proceedings.summon(OM, date(2022, 8, 1)))
    refused(
        "CASE_DISPOSED_OF",
        proceedings,
        lambda: proceedings.dismiss(OM, date(2022, 8, 1), "TECHNICAL", "01"),
    )
    proceedings.reopen(OM, date(2022, 9, 1))
    proceedings.summon(OM, date(2022, 9, 2))


def test_no_fact_is_dated_before_the_registration() -> None:
    proceedings = registered(date(2022, 6, 1))
    refused(
        "DATE_BEFORE_REGISTRATION", proceedings, lambda: proceedings.summon(OM, date(2022, 5, 31))
    )


def test_facts_about_the_victims_of_a_case() -> None:
    case = ProsecutionCase.create("case-001", OM, date(2022, 7, 1))
    case.hold_examining_magistrate_hearing(OM, date(2022, 7, 1), "victim-001")
    case.hold_examining_magistrate_hearing(OM, date(2022, 8, 1), "victim-001")
    case.assess_presence(OM, date(2022, 7, 2), "victim-002", necessary=False)
    with pytest.raises(AlreadyExists):
        case.assess_presence(OM, date(2022, 7, 3), "victim-002", necessary=True)
    assert case.hearings == {"victim-001": [date(2022, 7, 1), date(2022, 8, 1)]}
    assert case.presence == {"victim-002": (False, date(2022, 7, 2))}


def test_every_public_event_matches_its_contract_field_for_field() -> None:
    skip = {"originator_id", "originator_version", "timestamp", "originator_topic", "provenance"}
    public = topics_of(SuspectProceedings, ProsecutionCase, Parketnummer) - PRIVATE_TOPICS
    assert len(public) == 13  # eleven facts and their two corrections
    for aggregate in (SuspectProceedings, ProsecutionCase):
        for name, value in vars(aggregate).items():
            topic = getattr(value, "TOPIC", None) if isinstance(value, type) else None
            if topic not in public:
                continue
            model = payload_model(*parse_event_topic(topic))
            assert model.__name__ == name
            assert {f.name for f in dataclasses.fields(value)} - skip == set(model.model_fields)
