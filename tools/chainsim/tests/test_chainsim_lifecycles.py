"""Every lifecycle in a plan is consistent, every command fits its contract, and the plan holds
the chain's less common paths too."""

from __future__ import annotations

from datetime import date

import pytest
from chainsim_lifecycle import LargePlan, LifecycleChecker

from chainsim import MODEL_BY_EVENT_TYPE, Actor, PlannedCommand, generate

_TRIGGERS = {"ReflectionPeriodOfferRequired", "TemporaryPermitApplicationIndicated",
             "ReflectionPeriodExpiryDue", "TemporaryPermitExtensionDue",
             "TemporaryPermitBasisEnded", "NonTemporaryPermitIndicated",
             "NonTemporaryAssessmentRequired", "DublinAssessmentOverdue", "TriggerRetracted"}


def test_every_lifecycle_in_a_large_plan_is_consistent(large_plan: LargePlan) -> None:
    assert large_plan.checker.count == large_plan.scenario.commands
    assert large_plan.checker.problems == []


def test_every_command_fits_its_contract() -> None:
    for command in generate(3, date(2021, 1, 1), date(2024, 12, 31), 0.5):
        payload = command.to_payload()
        assert payload.event_type() == command.event_type
        assert payload.occurred_on == command.occurred_on


def test_the_plan_holds_no_residence_triggers_but_the_inds_decisions(
        large_plan: LargePlan) -> None:
    types = set(large_plan.scenario.by_event_type)
    assert not types & _TRIGGERS
    assert types <= set(MODEL_BY_EVENT_TYPE)
    for decision in ("ReflectionPeriodGranted", "ReflectionPeriodEnded", "TemporaryPermitGranted",
                     "TemporaryPermitRefused", "TemporaryPermitExtended", "TemporaryPermitEnded",
                     "NonTemporaryPermitGranted", "NonTemporaryPermitRefused",
                     "DublinTransferResumed"):
        assert large_plan.scenario.count(decision) > 0, decision


def test_every_actor_and_every_path_of_the_chain_occurs(large_plan: LargePlan) -> None:
    scenario = large_plan.scenario
    assert set(scenario.by_actor) == set(Actor)
    for event_type in MODEL_BY_EVENT_TYPE:
        assert scenario.count(event_type) > 0, event_type


def test_cases_still_open_at_the_end_stay_open(large_plan: LargePlan) -> None:
    m = large_plan.milestones
    undecided = [s for s in m.registered if s not in m.decided]
    assert undecided, "some suspects' cases are still with the OM at the end"
    assert large_plan.scenario.last_known_on is not None
    assert large_plan.scenario.last_known_on <= large_plan.end


def test_the_checker_refuses_a_verdict_without_summons() -> None:
    day = date(2020, 1, 1)
    ids = {"case_id": "c-1", "suspect_id": "s-1"}
    checker = LifecycleChecker(date(2020, 12, 31)).check_all([
        PlannedCommand(Actor.OM, "CaseRegistered", day, day, ids),
        PlannedCommand(Actor.OM, "CourtHearingHeld", day, day,
                       {**ids, "instance": "FIRST_INSTANCE"}),
        PlannedCommand(Actor.OM, "VerdictDelivered", day, day,
                       {**ids, "instance": "FIRST_INSTANCE", "outcome": "ACQUITTAL"}),
    ])
    assert any("hearing without summons" in p for p in checker.problems)


@pytest.mark.parametrize("event_type", ["AppealLodged", "CaseFinal"])
def test_the_checker_refuses_an_appeal_or_finality_without_verdict(event_type: str) -> None:
    day = date(2020, 1, 1)
    ids = {"case_id": "c-1", "suspect_id": "s-1"}
    checker = LifecycleChecker(date(2020, 12, 31)).check_all([
        PlannedCommand(Actor.OM, "CaseRegistered", day, day, ids),
        PlannedCommand(Actor.OM, "SuspectSummoned", day, day, ids),
        PlannedCommand(Actor.OM, event_type, day, day, ids),
    ])
    assert checker.problems
