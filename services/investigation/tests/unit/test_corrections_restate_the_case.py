"""A correction restates the case (docs/adr/0031): the checks read the facts as they now stand,
and a correction after which a later fact could not stand is refused, naming that fact."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from investigation.domain.case_investigation import CaseInvestigation
from ketenzicht_common.domain import Provenance, event_id_of
from ketenzicht_common.errors import PreconditionFailed

POLICE = Provenance(organisation="politie", system="police-registration", command_id="cmd-1")


def event_of(case: CaseInvestigation) -> Any:
    return case.pending_events[-1]


def annul(case: CaseInvestigation, fact: Any) -> None:
    event_id = str(event_id_of(fact.originator_id, fact.originator_version))
    case.record_correction(
        CaseInvestigation.FactAnnulled,
        POLICE,
        date(2022, 6, 1),
        {
            "corrected_event_id": event_id,
            "original_event_id": event_id,
            "corrected_event_type": type(fact).__name__,
            "correction_reason": "REGISTERED_IN_ERROR",
            "fact_occurred_on": fact.occurred_on,
        },
    )


def amend(case: CaseInvestigation, fact: Any, on: date, **amended: Any) -> None:
    event_id = str(event_id_of(fact.originator_id, fact.originator_version))
    case.record_correction(
        CaseInvestigation.FactAmended,
        POLICE,
        date(2022, 6, 1),
        {
            "corrected_event_id": event_id,
            "original_event_id": event_id,
            "corrected_event_type": type(fact).__name__,
            "correction_reason": "WRONG_DATE",
            "fact_occurred_on": on,
            "amended": amended,
        },
    )


def conflict(act: Any) -> str:
    with pytest.raises(PreconditionFailed) as refusal:
        act()
    assert refusal.value.reason == "CORRECTION_CONFLICTS_WITH_LATER_FACTS"
    assert refusal.value.subject == "case-9"
    return refusal.value.message


def closed_and_reopened() -> tuple[CaseInvestigation, Any, Any]:
    case = CaseInvestigation.register("case-9", "kz1.sealed", POLICE, date(2022, 1, 2))
    case.open_investigation(POLICE, date(2022, 2, 1))
    case.close(POLICE, date(2022, 3, 1), "NO_LEADS")
    close = event_of(case)
    case.open_investigation(POLICE, date(2022, 4, 1))
    reopening = event_of(case)
    return case, close, reopening


def test_a_close_followed_by_a_reopening_is_annulled_only_after_the_reopening() -> None:
    case, close, reopening = closed_and_reopened()
    message = conflict(lambda: annul(case, close))
    assert "InvestigationOpened" in message
    recorded = len(case.pending_events)
    annul(case, reopening)
    annul(case, close)
    assert len(case.pending_events) == recorded + 2
    # One stretch of investigation, open since February, as if never closed.
    assert [(p.opened_on, p.closed_on) for p in case.periods] == [(date(2022, 2, 1), None)]
    case.identify_suspect(POLICE, date(2022, 3, 15), "S-0123456789abcdef0123")


def test_a_close_amended_past_its_reopening_is_refused_and_before_it_accepted() -> None:
    case, close, _ = closed_and_reopened()
    assert "InvestigationOpened" in conflict(lambda: amend(case, close, date(2022, 4, 5)))
    assert "DATE_BEFORE_CLOSE" in conflict(lambda: amend(case, close, date(2022, 4, 5)))
    amend(case, close, date(2022, 3, 20), reason="NO_JURISDICTION")
    assert (case.periods[0].closed_on, case.periods[0].close_reason) == (
        date(2022, 3, 20),
        "NO_JURISDICTION",
    )


def test_a_close_amended_to_before_a_step_of_its_period_is_refused() -> None:
    case = CaseInvestigation.register("case-9", "kz1.sealed", POLICE, date(2022, 1, 2))
    case.open_investigation(POLICE, date(2022, 2, 1))
    case.hear_victim(POLICE, date(2022, 2, 20), "victim-a", False)
    case.close(POLICE, date(2022, 3, 1), "NO_LEADS")
    close = event_of(case)
    message = conflict(lambda: amend(case, close, date(2022, 2, 10)))
    assert "InvestigationClosed" in message
    assert "DATE_BEFORE_LAST_FACT" in message
    assert case.periods[0].closed_on == date(2022, 3, 1)  # unchanged


def test_restating_twice_gives_the_same_state_and_keeps_the_private_facts() -> None:
    case, _, reopening = closed_and_reopened()
    annul(case, reopening)
    before = {k: v for k, v in vars(case).items() if not k.startswith("_")}
    case.follow_corrections(event_of(case))
    assert {k: v for k, v in vars(case).items() if not k.startswith("_")} == before
    assert case.sealed_registration_number == "kz1.sealed"
    assert case.case_id == "case-9"
    assert case.status == "CLOSED"
