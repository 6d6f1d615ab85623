from __future__ import annotations

from pathlib import Path

import pytest

from intake.application.commands import CompleteIndividualAssessment, FileReport
from ketenzicht.intake.v1 import intake_pb2 as pb
from ketenzicht_common.auth import SERVICE_ROLES, IdentityRegistry, Role, authenticate, authorise
from ketenzicht_common.errors import InvalidCommand, PermissionDenied, Unauthenticated
from ketenzicht_common.translate import command_from

IDENTITIES = Path(__file__).resolve().parents[4] / "deploy/local/identities.toml"


def test_a_request_becomes_a_command_and_keeps_its_command_id_apart() -> None:
    request = pb.CompleteIndividualAssessmentRequest(
        command_id="cmd-1",
        victim_id="victim-001",
        occurred_on="2022-02-01",
        measures=[pb.PROTECTION_MEASURE_SHIELDED_HEARING],
    )
    command, command_id = command_from(request, CompleteIndividualAssessment)
    assert command_id == "cmd-1"
    assert [m.value for m in command.measures] == ["SHIELDED_HEARING"]


def test_every_missing_or_malformed_field_is_named() -> None:
    request = pb.FileReportRequest(victim_id="victim 001", occurred_on="2022-02-30")
    with pytest.raises(InvalidCommand) as refused:
        command_from(request, FileReport)
    fields = {v.field for v in refused.value.violations}
    assert fields == {"victim_id", "occurred_on", "case_id"}


def test_tokens_identify_organisations_and_roles_decide_access() -> None:
    registry = IdentityRegistry.from_file(IDENTITIES)
    police = authenticate(registry, [("authorization", "Bearer local-police-token")])
    assert (police.organisation, police.role) == ("politie", Role.POLICE)
    authorise(police, SERVICE_ROLES["intake"], "intake")
    with pytest.raises(PermissionDenied):
        authorise(police, SERVICE_ROLES["prosecution"], "prosecution")
    with pytest.raises(Unauthenticated):
        authenticate(registry, [("authorization", "Bearer forged")])
    with pytest.raises(Unauthenticated):
        authenticate(registry, [])
    assert authenticate(registry, [], ["om"]).role == Role.OM


def test_an_enum_number_the_contract_does_not_know_is_invalid_input() -> None:
    request = pb.RecordPilotInterventionRequest(
        victim_id="victim-001", occurred_on="2022-02-01", intervention=99
    )
    from intake.application.commands import RecordPilotIntervention

    with pytest.raises(InvalidCommand) as refused:
        command_from(request, RecordPilotIntervention)
    assert [v.field for v in refused.value.violations] == ["intervention"]
