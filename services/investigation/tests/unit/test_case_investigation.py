"""The investigation's rules for one case, without any I/O."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from investigation.domain.case_investigation import PRIVATE_TOPICS, CaseInvestigation
from ketenzicht_common.domain import Provenance, parse_event_topic
from ketenzicht_common.errors import AlreadyExists, PreconditionFailed
from ketenzicht_common.store import topics_of
from ketenzicht_contracts.events import payload_model

POLICE = Provenance(organisation="politie", system="police-registration", command_id="cmd-1")
NUMBER = "kz1.0123456789abcdef0123456789abcdef.c2VhbGVk"
"""What the domain is given for the registration number: the key store's sealed text."""


def opened(on: date = date(2022, 2, 1)) -> CaseInvestigation:
    case = CaseInvestigation.register("case-001", NUMBER, POLICE, on)
    case.open_investigation(POLICE, on)
    case.collect_events()
    return case


def refused(reason: str, case: CaseInvestigation, act: object) -> None:
    """``act`` (a zero-argument callable) is refused for ``reason`` and records nothing."""
    assert callable(act)
    with pytest.raises(PreconditionFailed) as refusal:
        act()
    assert refusal.value.reason == reason
    assert refusal.value.subject == "case-001"
    assert case.collect_events() == []


def test_registering_keeps_the_number_private_and_opening_records_the_public_fact() -> None:
    case = CaseInvestigation.register("case-001", NUMBER, POLICE, date(2022, 2, 1))
    created, number = case.collect_events()
    assert created.TOPIC in PRIVATE_TOPICS
    assert number.TOPIC in PRIVATE_TOPICS
    assert isinstance(number, CaseInvestigation.PoliceRegistrationNumberSealed)
    assert case.sealed_registration_number == NUMBER
    assert case.registered_by == "politie"
    case.open_investigation(POLICE, date(2022, 2, 1))
    (opened_event,) = case.collect_events()
    assert isinstance(opened_event, CaseInvestigation.InvestigationOpened)
    assert opened_event.case_id == "case-001"
    assert "police_registration_number" not in vars(opened_event)
    assert case.status == "OPEN"


def test_an_investigation_does_not_need_the_report_that_intake_owns() -> None:
    # The report may still be on its way over the bus: nothing about it is asked for.
    case = CaseInvestigation.register("case-new", NUMBER, POLICE, date(2020, 1, 1))
    case.open_investigation(POLICE, date(2020, 1, 1))
    assert case.status == "OPEN"


def test_facts_need_an_opened_investigation_and_cannot_precede_it() -> None:
    case = CaseInvestigation.register("case-001", NUMBER, POLICE, date(2022, 2, 1))
    case.collect_events()
    refused(
        "INVESTIGATION_NOT_OPENED",
        case,
        lambda: case.identify_suspect(POLICE, date(2022, 2, 2), "suspect-001"),
    )
    case = opened(date(2022, 2, 1))
    refused(
        "DATE_BEFORE_OPENING",
        case,
        lambda: case.hear_victim(POLICE, date(2022, 1, 31), "victim-001", False),
    )


def test_a_suspect_is_identified_once_and_a_victim_may_be_heard_twice() -> None:
    case = opened()
    case.identify_suspect(POLICE, date(2022, 2, 3), "suspect-001")
    with pytest.raises(AlreadyExists):
        case.identify_suspect(POLICE, date(2022, 2, 4), "suspect-001")
    case.hear_victim(POLICE, date(2022, 2, 5), "victim-001", with_police_psychologist=True)
    case.hear_victim(POLICE, date(2022, 3, 5), "victim-001", with_police_psychologist=False)
    heard = [e for e in case.collect_events() if isinstance(e, CaseInvestigation.VictimHeard)]
    assert [e.with_police_psychologist for e in heard] == [True, False]


def test_suspension_and_resumption() -> None:
    case = opened()
    refused("NOT_SUSPENDED", case, lambda: case.resume(POLICE, date(2022, 3, 1)))
    case.suspend(POLICE, date(2022, 3, 1))
    assert case.status == "SUSPENDED"
    with pytest.raises(AlreadyExists):
        case.suspend(POLICE, date(2022, 3, 2))
    case.collect_events()
    refused("DATE_BEFORE_SUSPENSION", case, lambda: case.resume(POLICE, date(2022, 2, 28)))
    refused(
        "INVESTIGATION_SUSPENDED",
        case,
        lambda: case.submit_to_prosecution(POLICE, date(2022, 3, 5), []),
    )
    case.resume(POLICE, date(2022, 4, 1))
    assert case.status == "OPEN"


def test_a_submission_names_identified_suspects_only() -> None:
    case = opened()
    refused("NO_SUSPECT", case, lambda: case.submit_to_prosecution(POLICE, date(2022, 5, 1), []))
    case.identify_suspect(POLICE, date(2022, 3, 1), "suspect-001")
    case.identify_suspect(POLICE, date(2022, 3, 2), "suspect-002")
    case.collect_events()
    refused(
        "SUSPECT_NOT_IDENTIFIED",
        case,
        lambda: case.submit_to_prosecution(POLICE, date(2022, 5, 1), ["suspect-009"]),
    )
    refused(
        "DATE_BEFORE_IDENTIFICATION",
        case,
        lambda: case.submit_to_prosecution(POLICE, date(2022, 3, 1), ["suspect-002"]),
    )
    case.submit_to_prosecution(POLICE, date(2022, 5, 1), [])
    (event,) = case.collect_events()
    assert isinstance(event, CaseInvestigation.CaseSubmittedToProsecution)
    assert event.suspect_ids == ["suspect-001", "suspect-002"]
    with pytest.raises(AlreadyExists):
        case.submit_to_prosecution(POLICE, date(2022, 5, 2), ["suspect-001"])


def test_closing_as_submitted_needs_a_submission_and_follows_every_fact() -> None:
    case = opened()
    case.identify_suspect(POLICE, date(2022, 3, 1), "suspect-001")
    case.collect_events()
    refused("NOT_SUBMITTED", case, lambda: case.close(POLICE, date(2022, 6, 1), "SUBMITTED"))
    case.submit_to_prosecution(POLICE, date(2022, 5, 1), [])
    case.collect_events()
    refused(
        "DATE_BEFORE_LAST_FACT", case, lambda: case.close(POLICE, date(2022, 4, 1), "SUBMITTED")
    )
    case.close(POLICE, date(2022, 6, 1), "SUBMITTED")
    assert case.status == "CLOSED"


def test_nothing_dated_after_the_close_until_the_investigation_is_reopened() -> None:
    case = opened(date(2022, 2, 1))
    case.close(POLICE, date(2022, 6, 1), "NO_LEADS")
    case.collect_events()
    refused(
        "INVESTIGATION_CLOSED",
        case,
        lambda: case.identify_suspect(POLICE, date(2022, 7, 1), "suspect-001"),
    )
    refused("INVESTIGATION_CLOSED", case, lambda: case.close(POLICE, date(2022, 7, 1), "NO_LEADS"))
    refused("DATE_BEFORE_CLOSE", case, lambda: case.open_investigation(POLICE, date(2022, 5, 1)))
    case.open_investigation(POLICE, date(2023, 1, 10))
    case.identify_suspect(POLICE, date(2023, 2, 1), "suspect-001")
    assert case.status == "OPEN"


def test_a_late_fact_dated_while_the_investigation_ran_is_accepted_after_the_close() -> None:
    # Arrival order is not fact order: the interview of March arrives after June's close.
    case = opened(date(2022, 2, 1))
    case.close(POLICE, date(2022, 6, 1), "NO_LEADS")
    case.hear_victim(POLICE, date(2022, 3, 1), "victim-001", False)
    assert "victim-001" in case.heard_victims


def test_a_decision_not_to_investigate() -> None:
    case = opened()
    refused(
        "INVESTIGATION_OPEN", case, lambda: case.decide_no_investigation(POLICE, date(2022, 3, 1))
    )

    case = CaseInvestigation.register("case-001", NUMBER, POLICE, date(2022, 2, 1))
    case.decide_no_investigation(POLICE, date(2022, 2, 1))
    assert case.status == "NOT_INVESTIGATED"
    with pytest.raises(AlreadyExists):
        case.decide_no_investigation(POLICE, date(2022, 2, 2))
    case.collect_events()
    refused(
        "NO_INVESTIGATION_DECIDED", case, lambda: case.open_investigation(POLICE, date(2022, 1, 15))
    )
    case.open_investigation(POLICE, date(2022, 9, 1))
    assert case.status == "OPEN"


def test_every_public_event_matches_its_contract_field_for_field() -> None:
    skip = {"originator_id", "originator_version", "timestamp", "originator_topic", "provenance"}
    public = topics_of(CaseInvestigation) - PRIVATE_TOPICS
    assert len(public) == 10  # eight facts and their two corrections
    for name, value in vars(CaseInvestigation).items():
        topic = getattr(value, "TOPIC", None) if isinstance(value, type) else None
        if topic not in public:
            continue
        model = payload_model(*parse_event_topic(topic))
        assert model.__name__ == name
        assert {f.name for f in dataclasses.fields(value)} - skip == set(model.model_fields)


def test_a_late_suspension_within_a_closed_period_ends_with_that_period() -> None:
    case = opened(date(2022, 2, 1))
    case.close(POLICE, date(2022, 6, 1), "NO_LEADS")
    case.suspend(POLICE, date(2022, 4, 1))
    assert case.suspended_on(date(2022, 5, 31))
    case.open_investigation(POLICE, date(2022, 9, 1))
    assert case.status == "OPEN"
    assert not case.suspended_on(date(2022, 9, 2))


def test_forgetting_the_number_is_recorded_once_naming_its_basis_and_never_the_number() -> None:
    case = opened()
    case.forget_registration_number(POLICE, date(2023, 1, 1), "ERASURE_ORDER", "", "order-1")
    (forgotten,) = case.collect_events()
    assert isinstance(forgotten, CaseInvestigation.PoliceRegistrationNumberForgotten)
    assert forgotten.TOPIC in PRIVATE_TOPICS
    assert (forgotten.basis, forgotten.term_code, forgotten.order_id) == (
        "ERASURE_ORDER",
        "",
        "order-1",
    )
    assert NUMBER not in repr(vars(forgotten))
    assert case.registration_number_forgotten_on == date(2023, 1, 1)
    with pytest.raises(AlreadyExists):
        case.forget_registration_number(POLICE, date(2023, 1, 2), "ERASURE_ORDER", "", "order-2")


def test_the_investigation_ended_on_its_last_close_or_decision_and_not_while_open() -> None:
    case = opened(date(2022, 2, 1))
    assert case.ended_on is None
    case.close(POLICE, date(2022, 5, 1), "NO_LEADS")
    assert case.ended_on == date(2022, 5, 1)
    case.decide_no_investigation(POLICE, date(2022, 6, 1))
    assert case.ended_on == date(2022, 6, 1)
    case.open_investigation(POLICE, date(2022, 7, 1))
    assert case.ended_on is None  # reopened: the case keeps its key
    never = CaseInvestigation.register("case-002", NUMBER, POLICE, date(2022, 2, 1))
    assert never.ended_on is None  # registered, nothing decided yet
