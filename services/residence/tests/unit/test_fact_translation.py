"""The translator turns decoded bus events into domain facts; decisions fit the wire contract.

These tests use the contract models to build real payloads (the domain itself never imports
them): what a consumer decodes is ``model.model_dump(mode="json")``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from residence_story import DUBLIN, IRREGULAR, Story

from ketenzicht_contracts.events import categories as cat
from ketenzicht_contracts.events import intake, investigation, prosecution, residence
from ketenzicht_contracts.events.base import EventPayload
from residence.domain import (
    EmittedTrigger,
    FactError,
    Retraction,
    TriggerDecision,
    TriggerKind,
    all_decisions,
    fact_from_event,
    reconcile,
)
from residence.domain.categories import (
    CooperationImpossibleReason,
    InvestigationCloseReason,
    NationalityGroup,
    ReportingCapacity,
    ResidencePosition,
    VerdictOutcome,
)
from residence.domain.facts import RELEVANT_EVENTS
from residence.domain.model import (
    CaseFact,
    CaseStep,
    CooperationDeclared,
    CooperationImpossibleRecorded,
    NoEuResidenceRightFound,
    NonTemporaryPermitRefused,
    PresenceAssessed,
    ReportFiled,
    SignalRegistered,
    TemporaryPermitEnded,
    TemporaryPermitGranted,
)

DAY = date(2022, 3, 4)


def _decoded(model: EventPayload) -> tuple[str, str, date, dict[str, Any]]:
    return model.SERVICE, model.event_type(), model.occurred_on, model.model_dump(mode="json")


def _translate(model: EventPayload, event_id: str = "ev-001") -> object:
    service, event_type, occurred_on, payload = _decoded(model)
    return fact_from_event(event_id, service, event_type, occurred_on, payload)


def test_a_signal_keeps_nationality_and_position_and_nothing_else() -> None:
    fact = _translate(
        intake.SignalRegistered(
            occurred_on=DAY,
            victim_id="victim-001",
            signal_id="signal-001",
            source_organisation=cat.SourceOrganisation.KMAR,
            form=cat.ExploitationForm.LABOUR,
            minor=False,
            nationality_group=cat.NationalityGroup.THIRD_COUNTRY,
            residence_position=cat.ResidencePosition.DUBLIN_CLAIMANT,
            region=cat.PoliceRegion.ROTTERDAM,
        )
    )
    assert fact == SignalRegistered(
        event_id="ev-001",
        occurred_on=DAY,
        victim_id="victim-001",
        nationality_group=NationalityGroup.THIRD_COUNTRY,
        residence_position=ResidencePosition.DUBLIN_CLAIMANT,
    )


def test_a_report_under_number_is_a_report_in_its_case() -> None:
    fact = _translate(
        intake.ReportFiled(
            occurred_on=DAY, victim_id="victim-001", case_id="case-007", under_number=True
        )
    )
    assert fact == ReportFiled(
        event_id="ev-001", occurred_on=DAY, victim_id="victim-001", case_id="case-007"
    )


def test_permit_dates_are_read_from_the_payload_and_the_business_date_from_the_envelope() -> None:
    fact = _translate(
        residence.TemporaryPermitGranted(
            occurred_on=DAY,
            victim_id="victim-001",
            case_id="case-007",
            valid_from=date(2022, 1, 10),
            valid_until=date(2023, 1, 10),
        )
    )
    assert isinstance(fact, TemporaryPermitGranted)
    assert (fact.occurred_on, fact.valid_from, fact.valid_until) == (
        DAY,
        date(2022, 1, 10),
        date(2023, 1, 10),
    )
    ended = _translate(
        residence.TemporaryPermitEnded(
            occurred_on=DAY, victim_id="victim-001", case_id="case-007", end_date=date(2021, 12, 1)
        )
    )
    assert isinstance(ended, TemporaryPermitEnded)
    assert ended.end_date == date(2021, 12, 1)


def test_case_steps_carry_suspect_outcome_and_close_reason() -> None:
    verdict = _translate(
        prosecution.VerdictDelivered(
            occurred_on=DAY,
            case_id="case-007",
            suspect_id="suspect-001",
            instance=cat.CourtInstance.APPEAL,
            outcome=cat.VerdictOutcome.CONVICTION_TRAFFICKING,
        )
    )
    assert isinstance(verdict, CaseFact)
    assert verdict.step is CaseStep.VERDICT_DELIVERED
    assert verdict.outcome is VerdictOutcome.CONVICTION_TRAFFICKING
    assert verdict.suspect_id == "suspect-001"
    closed = _translate(
        investigation.InvestigationClosed(
            occurred_on=DAY, case_id="case-007", reason=cat.InvestigationCloseReason.NO_LEADS
        )
    )
    assert isinstance(closed, CaseFact)
    assert closed.close_reason is InvestigationCloseReason.NO_LEADS
    submitted = _translate(
        investigation.CaseSubmittedToProsecution(
            occurred_on=DAY, case_id="case-007", suspect_ids=["suspect-001", "suspect-002"]
        )
    )
    assert isinstance(submitted, CaseFact)
    assert submitted.suspect_ids == ("suspect-001", "suspect-002")


@pytest.mark.parametrize("event_type", ["ReportFiled", "CooperationDeclared"])
def test_a_report_or_cooperation_keeps_its_capacity_and_is_the_victims_without_one(
    event_type: str,
) -> None:
    payload = {"victim_id": "victim-001", "case_id": "case-007"}
    witness = {**payload, "capacity": "WITNESS"}
    as_witness = fact_from_event("ev-1", "intake", event_type, DAY, witness)
    assert isinstance(as_witness, ReportFiled | CooperationDeclared)
    assert as_witness.capacity is ReportingCapacity.WITNESS
    before_the_field = fact_from_event("ev-1", "intake", event_type, DAY, payload)
    assert isinstance(before_the_field, ReportFiled | CooperationDeclared)
    assert before_the_field.capacity is ReportingCapacity.VICTIM
    with pytest.raises(FactError, match="capacity"):
        fact_from_event("ev-1", "intake", event_type, DAY, {**payload, "capacity": "BYSTANDER"})


def test_a_record_that_the_victim_cannot_cooperate_keeps_its_reason_category() -> None:
    fact = fact_from_event(
        "ev-1",
        "intake",
        "CooperationImpossibleRecorded",
        DAY,
        {"victim_id": "victim-001", "reason": "PSYCHOLOGICAL"},
    )
    assert fact == CooperationImpossibleRecorded(
        event_id="ev-1",
        occurred_on=DAY,
        victim_id="victim-001",
        reason=CooperationImpossibleReason.PSYCHOLOGICAL,
    )
    with pytest.raises(FactError, match="reason"):
        fact_from_event(
            "ev-1", "intake", "CooperationImpossibleRecorded", DAY, {"victim_id": "victim-001"}
        )


def test_the_inds_findings_and_refusals_are_facts_of_the_victim() -> None:
    found = fact_from_event(
        "ev-1", "residence", "NoEuResidenceRightFound", DAY, {"victim_id": "victim-001"}
    )
    assert found == NoEuResidenceRightFound(
        event_id="ev-1", occurred_on=DAY, victim_id="victim-001"
    )
    refused = fact_from_event(
        "ev-2", "residence", "NonTemporaryPermitRefused", DAY, {"victim_id": "victim-001"}
    )
    assert refused == NonTemporaryPermitRefused(
        event_id="ev-2", occurred_on=DAY, victim_id="victim-001"
    )


def test_the_presence_assessment_names_the_victim() -> None:
    fact = _translate(
        prosecution.PresenceAssessed(
            occurred_on=DAY, case_id="case-007", victim_id="victim-001", presence_necessary=False
        )
    )
    assert fact == PresenceAssessed(
        event_id="ev-001",
        occurred_on=DAY,
        victim_id="victim-001",
        case_id="case-007",
        presence_necessary=False,
    )


@pytest.mark.parametrize(
    "model",
    [
        intake.PilotEnrolled(occurred_on=DAY, victim_id="victim-001", cohort="cohort-1"),
        intake.InformativeInterviewHeld(occurred_on=DAY, victim_id="victim-001"),
        investigation.VictimHeard(occurred_on=DAY, case_id="case-007", victim_id="victim-001"),
        prosecution.CourtHearingHeld(
            occurred_on=DAY,
            case_id="case-007",
            suspect_id="suspect-001",
            instance=cat.CourtInstance.APPEAL,
        ),
        residence.NonTemporaryAssessmentRequired(
            occurred_on=DAY,
            victim_id="victim-001",
            trigger_id="t-1",
            trigger_key="k",
            rule="R14",
            rule_version="2001-04-01",
            reason="x.",
        ),
    ],
)
def test_events_the_rules_do_not_read_give_no_fact(model: EventPayload) -> None:
    assert _translate(model) is None


def test_every_relevant_event_type_exists_in_the_contract() -> None:
    from ketenzicht_contracts.events.base import payload_model

    for service, event_type in RELEVANT_EVENTS:
        assert service == payload_model(service, event_type, 1).SERVICE


def test_a_relevant_event_without_a_needed_field_is_refused() -> None:
    with pytest.raises(FactError, match="case_id"):
        fact_from_event("ev-1", "intake", "ReportFiled", DAY, {"victim_id": "victim-001"})
    with pytest.raises(FactError, match="category"):
        fact_from_event(
            "ev-1",
            "intake",
            "SignalRegistered",
            DAY,
            {
                "victim_id": "victim-001",
                "nationality_group": "MARTIAN",
                "residence_position": "LAWFUL",
            },
        )
    with pytest.raises(FactError, match="date"):
        fact_from_event(
            "ev-1",
            "residence",
            "TemporaryPermitExtended",
            DAY,
            {"victim_id": "victim-001", "case_id": "case-007", "valid_until": "soon"},
        )


def _every_kind_of_decision() -> list[TriggerDecision]:
    story = Story()
    story.signal("2019-10-01", DUBLIN)
    story.cooperation_impossible("2019-10-05")
    story.reflection_granted("2019-12-01")  # a Dublin claimant in 2019: not allowed (R4)
    story.signal("2020-02-01", IRREGULAR)
    story.reflection_granted("2023-06-01")
    story.report("2019-10-09", case="case-002")
    story.step("2020-11-01", CaseStep.CASE_DISMISSED, case="case-002", suspect_id="suspect-2")
    story.report("2020-03-01")
    story.permit("2020-03-01", "2021-03-01")
    story.dismissed("2020-12-01")
    story.report("2021-01-10", case="case-003")
    story.step("2022-01-01", CaseStep.SUSPECT_SUMMONED, case="case-003", suspect_id="suspect-3")
    # Another victim: the IND granted the non-temporary permit on a summons the OM annuls (R17).
    other = Story(victim="victim-002", case="case-009", prefix="ot")
    other.signal("2021-01-01", IRREGULAR)
    other.report("2021-01-10")
    summons = other.summoned("2022-01-01")
    other.non_temporary_granted("2022-03-01")
    other.annulled("2022-06-01", summons)
    return all_decisions(story.facts + other.facts)


def test_every_kind_of_decision_fits_its_contract_payload() -> None:
    decisions = _every_kind_of_decision()
    assert {decision.kind for decision in decisions} == set(TriggerKind)
    for decision in decisions:
        model_class = getattr(residence, decision.event_type)
        model = model_class(
            occurred_on=decision.fires_on, trigger_key=decision.key, **decision.payload()
        )
        assert model.trigger_id == decision.trigger_id
        assert model.based_on == list(decision.based_on)


def test_a_retraction_fits_the_trigger_retracted_contract() -> None:
    decision = _every_kind_of_decision()[0]
    [retraction] = reconcile([EmittedTrigger(decision)], [])
    assert isinstance(retraction, Retraction)
    model = residence.TriggerRetracted(
        occurred_on=DAY, trigger_key=retraction.retracted_key, **retraction.payload()
    )
    assert model.retracted_trigger_id == decision.trigger_id
