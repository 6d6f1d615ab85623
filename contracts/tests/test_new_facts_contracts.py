"""The payloads of the witness capacity, of cooperation being impossible and of the IND's finding
on EU nationals: what they accept, what they refuse, and that older bodies still read."""

from __future__ import annotations

import json
from datetime import date

import pytest
from pydantic import ValidationError

from ketenzicht_contracts import schemas
from ketenzicht_contracts.events import payload_model
from ketenzicht_contracts.events.categories import CooperationImpossibleReason, ReportingCapacity
from ketenzicht_contracts.events.intake import (
    CooperationDeclared,
    CooperationImpossibleRecorded,
    ReportFiled,
)
from ketenzicht_contracts.events.residence import NoEuResidenceRightFound


@pytest.mark.parametrize("model", [ReportFiled, CooperationDeclared])
def test_a_body_published_before_capacity_existed_reads_as_a_victims(
    model: type[ReportFiled] | type[CooperationDeclared],
) -> None:
    body = {"occurred_on": "2021-03-08", "victim_id": "V-1", "case_id": "case-1"}
    assert model.model_validate_json(json.dumps(body)).capacity is ReportingCapacity.VICTIM
    witness = model.model_validate(body | {"capacity": "WITNESS"})
    assert witness.capacity is ReportingCapacity.WITNESS
    with pytest.raises(ValidationError):
        model.model_validate(body | {"capacity": "SUSPECT"})


def test_cooperation_impossible_takes_a_reason_category_and_no_free_text() -> None:
    body = {"occurred_on": "2022-01-20", "victim_id": "V-1", "reason": "SERIOUS_THREAT"}
    recorded = CooperationImpossibleRecorded.model_validate(body)
    assert recorded.reason is CooperationImpossibleReason.SERIOUS_THREAT
    assert {r.value for r in CooperationImpossibleReason} == {
        "SERIOUS_THREAT",
        "MEDICAL",
        "PSYCHOLOGICAL",
    }
    for bad in ({"reason": "afraid of her pimp"}, {"explanation": "…"}, {"reason": None}):
        with pytest.raises(ValidationError):
            CooperationImpossibleRecorded.model_validate(body | bad)
    with pytest.raises(ValidationError):
        CooperationImpossibleRecorded.model_validate(
            {"occurred_on": "2022-01-20", "victim_id": "V-1"}
        )
    assert (
        payload_model("intake", "CooperationImpossibleRecorded", 1) is CooperationImpossibleRecorded
    )
    assert (schemas.EVENTS_DIR / "intake" / "CooperationImpossibleRecorded.v1.json").exists()


def test_the_ind_finding_on_eu_nationals_is_a_residence_event_with_no_other_fields() -> None:
    assert payload_model("residence", "NoEuResidenceRightFound", 1) is NoEuResidenceRightFound
    finding = NoEuResidenceRightFound(occurred_on=date(2023, 2, 1), victim_id="V-2")
    assert json.loads(finding.model_dump_json()) == {
        "occurred_on": "2023-02-01",
        "victim_id": "V-2",
    }
    with pytest.raises(ValidationError):
        NoEuResidenceRightFound.model_validate(
            {"occurred_on": "2023-02-01", "victim_id": "V-2", "nationality": "PL"}
        )
    assert (schemas.EVENTS_DIR / "residence" / "NoEuResidenceRightFound.v1.json").exists()


def test_the_checked_in_schema_describes_capacity_with_its_default() -> None:
    report = json.loads((schemas.EVENTS_DIR / "intake" / "ReportFiled.v1.json").read_text())
    assert report["properties"]["capacity"]["default"] == "VICTIM"
    assert "capacity" not in report["required"]
