"""The payloads of a report's or cooperation's capacity (victim or witness): what they
accept, what they refuse, and that bodies published before it existed still read."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from ketenzicht_contracts import schemas
from ketenzicht_contracts.events.categories import ReportingCapacity
from ketenzicht_contracts.events.intake import CooperationDeclared, ReportFiled


@pytest.mark.parametrize("model", [ReportFiled, CooperationDeclared])
def test_a_body_published_before_capacity_existed_reads_as_a_victims(
        model: type[ReportFiled] | type[CooperationDeclared]) -> None:
    body = {"occurred_on": "2021-03-08", "victim_id": "V-1", "case_id": "case-1"}
    assert model.model_validate_json(json.dumps(body)).capacity is ReportingCapacity.VICTIM
    witness = model.model_validate(body | {"capacity": "WITNESS"})
    assert witness.capacity is ReportingCapacity.WITNESS
    with pytest.raises(ValidationError):
        model.model_validate(body | {"capacity": "SUSPECT"})


def test_the_checked_in_schema_describes_capacity_with_its_default() -> None:
    report = json.loads((schemas.EVENTS_DIR / "intake" / "ReportFiled.v1.json").read_text())
    assert report["properties"]["capacity"]["default"] == "VICTIM"
    assert "capacity" not in report["required"]
