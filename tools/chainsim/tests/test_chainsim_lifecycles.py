"""Every lifecycle in a plan is consistent, every command fits its contract, and the plan holds
the chain's less common paths too."""

from __future__ import annotations

from datetime import date

import pytest
from chainsim_lifecycle import LargePlan, LifecycleChecker

from chainsim import MODEL_BY_EVENT_TYPE, Actor, PlannedCommand, generate

_TRIGGERS = {
    "ReflectionPeriodOfferRequired",
    "TemporaryPermitApplicationIndicated",
    "ReflectionPeriodExpiryDue",
    "TemporaryPermitExtensionDue",
    "TemporaryPermitBasisEnded",
    "NonTemporaryPermitIndicated",
    "NonTemporaryAssessmentRequired",
    "DublinAssessmentOverdue",
    "TriggerRetracted",
}


def test_every_lifecycle_in_a_large_plan_is_consistent(large_plan: LargePlan) -> None:
    assert large_plan.checker.count == large_plan.scenario.commands
    assert large_plan.checker.problems == []


def test_every_command_fits_its_contract() -> None:
    for command in generate(3, date(2021, 1, 1), date(2024, 12, 31), 0.5):
        payload = command.to_payload()
        assert payload.event_type() == command.event_type
        assert payload.occurred_on == command.occurred_on


def test_the_plan_holds_no_residence_triggers_but_the_inds_decisions(large_plan: LargePlan) -> None:
    types = set(large_plan.scenario.by_event_type)
    assert not types & _TRIGGERS
    assert types <= set(MODEL_BY_EVENT_TYPE)
    for decision in (
        "ReflectionPeriodGranted",
        "ReflectionPeriodEnded",
        "TemporaryPermitGranted",
        "TemporaryPermitRefused",
        "TemporaryPermitExtended",
        "TemporaryPermitEnded",
        "NonTemporaryPermitGranted",
        "NonTemporaryPermitRefused",
        "DublinTransferResumed",
    ):
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
    checker = LifecycleChecker(date(2020, 12, 31)).check_all(
        [
            PlannedCommand(Actor.OM, "CaseRegistered", day, day, ids),
            PlannedCommand(
                Actor.OM, "CourtHearingHeld", day, day, {**ids, "instance": "FIRST_INSTANCE"}
            ),
            PlannedCommand(
                Actor.OM,
                "VerdictDelivered",
                day,
                day,
                {**ids, "instance": "FIRST_INSTANCE", "outcome": "ACQUITTAL"},
            ),
        ]
    )
    assert any("hearing without summons" in p for p in checker.problems)


@pytest.mark.parametrize("event_type", ["AppealLodged", "CaseFinal"])
def test_the_checker_refuses_an_appeal_or_finality_without_verdict(event_type: str) -> None:
    day = date(2020, 1, 1)
    ids = {"case_id": "c-1", "suspect_id": "s-1"}
    checker = LifecycleChecker(date(2020, 12, 31)).check_all(
        [
            PlannedCommand(Actor.OM, "CaseRegistered", day, day, ids),
            PlannedCommand(Actor.OM, "SuspectSummoned", day, day, ids),
            PlannedCommand(Actor.OM, event_type, day, day, ids),
        ]
    )
    assert checker.problems


def _signal(victim: str, on: date, nationality: str, position: str) -> PlannedCommand:
    return PlannedCommand(
        Actor.POLICE,
        "SignalRegistered",
        on,
        on,
        {
            "victim_id": victim,
            "signal_id": f"sig-{victim}",
            "source_organisation": "POLICE",
            "form": "SEXUAL",
            "minor": False,
            "nationality_group": nationality,
            "residence_position": position,
            "region": "AMSTERDAM",
        },
    )


@pytest.mark.parametrize(
    ("nationality", "position", "offered_on"),
    [
        ("DUTCH", "LAWFUL", date(2024, 1, 2)),
        ("OTHER_EU", "LAWFUL", date(2024, 1, 2)),
        ("THIRD_COUNTRY", "ASYLUM_SEEKER", date(2023, 5, 17)),
    ],
)
def test_the_checker_refuses_a_reflection_offer_that_intake_refuses(
    nationality: str, position: str, offered_on: date
) -> None:
    signal_on = date(2023, 1, 2)
    checker = LifecycleChecker(date(2024, 12, 31)).check_all(
        [
            _signal("v-1", signal_on, nationality, position),
            PlannedCommand(
                Actor.POLICE,
                "ReflectionPeriodOffered",
                offered_on,
                offered_on,
                {"victim_id": "v-1"},
            ),
        ]
    )
    assert any("a reflection offer intake refuses" in p for p in checker.problems)


def test_the_checker_refuses_an_offer_to_a_witness_who_reported_and_allows_it_otherwise() -> None:
    day = date(2022, 3, 1)
    witness = [
        _signal("v-1", day, "THIRD_COUNTRY", "IRREGULAR"),
        PlannedCommand(
            Actor.POLICE,
            "ReportFiled",
            day,
            day,
            {"victim_id": "v-1", "case_id": "c-1", "under_number": False, "capacity": "WITNESS"},
        ),
        PlannedCommand(Actor.POLICE, "ReflectionPeriodOffered", day, day, {"victim_id": "v-1"}),
    ]
    refused = LifecycleChecker(date(2022, 12, 31)).check_all(witness)
    assert any("a reflection offer intake refuses" in p for p in refused.problems)
    victim = [witness[0], witness[2]]
    assert LifecycleChecker(date(2022, 12, 31)).check_all(victim).problems == []


def test_the_plan_marks_some_reports_as_a_witnesss_and_offers_them_nothing(
    large_plan: LargePlan,
) -> None:
    # The checker applies intake's R4 rule to every offer (see chainsim_lifecycle.py), so the
    # consistent plan above holds no offer intake refuses; here: the new facts are in it.
    scenario = large_plan.scenario
    for event_type in ("CooperationImpossibleRecorded", "NoEuResidenceRightFound"):
        assert scenario.count(event_type) > 0, event_type
    assert large_plan.milestones.witness_reports > 0
