"""Every event type and payload field the monitor names exists in the contracts.

The monitor reads events by name (`monitor.domain.projection.REDUCERS`): a contract that renames
an event or a field would otherwise leave the monitor silently without those facts. Each name is
checked against both forms of the contract: the pydantic models
(`ketenzicht_contracts.events`) and the published JSON schemas (`contracts/events/`).
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import pytest

import monitor.domain
from ketenzicht_contracts.events import all_payload_models
from monitor.domain import projection
from monitor.domain.projection import REDUCERS, Reducer

_REPO = Path(__file__).resolve().parents[4]
_SCHEMAS = _REPO / "contracts" / "events"
_SUBJECT_IDS = ("case_id", "victim_id", "suspect_id")


@cache
def _model_fields() -> dict[tuple[str, str], frozenset[str]]:
    """(service, event type) → the payload fields of its latest contract version."""
    latest: dict[tuple[str, str], Any] = {}
    for model in all_payload_models():
        key = (model.SERVICE, model.event_type())
        if key not in latest or model.VERSION > latest[key].VERSION:
            latest[key] = model
    return {key: frozenset(model.model_fields) for key, model in latest.items()}


def _schema_fields(service: str, event_type: str) -> frozenset[str] | None:
    versions = sorted(_SCHEMAS.glob(f"{service}/{event_type}.v*.json"))
    if not versions:
        return None
    schema = json.loads(versions[-1].read_text())
    return frozenset(schema.get("properties", {}))


def contract_gaps(reducers: Iterable[Reducer]) -> list[str]:
    """What the table names that a contract (model or JSON schema) does not have."""
    gaps: list[str] = []
    models = _model_fields()
    for r in reducers:
        where = f"{r.service}/{r.event_type}"
        fields = models.get((r.service, r.event_type))
        schema = _schema_fields(r.service, r.event_type)
        if fields is None:
            gaps.append(f"{where}: no payload model")
        if schema is None:
            gaps.append(f"{where}: no JSON schema under contracts/events")
        for name in (*r.keys, *r.fields):
            if fields is not None and name not in fields:
                gaps.append(f"{where}.{name}: not a field of the payload model")
            if schema is not None and name not in schema:
                gaps.append(f"{where}.{name}: not a property of the JSON schema")
    return gaps


def test_every_event_type_and_field_the_monitor_reads_is_in_the_contracts() -> None:
    assert contract_gaps(REDUCERS.values()) == []


def test_a_renamed_event_or_field_is_a_gap_not_a_silent_drop() -> None:
    renamed_event = Reducer("intake", "SignalRegisterd", ("victim_id",), ("form",))
    renamed_field = Reducer("prosecution", "VerdictDelivered", ("case_id",), ("result",))
    assert contract_gaps([renamed_event, renamed_field]) == [
        "intake/SignalRegisterd: no payload model",
        "intake/SignalRegisterd: no JSON schema under contracts/events",
        "prosecution/VerdictDelivered.result: not a field of the payload model",
        "prosecution/VerdictDelivered.result: not a property of the JSON schema",
    ]


@pytest.mark.parametrize("service", ["intake", "investigation", "prosecution", "residence"])
def test_the_corrections_the_monitor_applies_have_the_fields_it_reads(service: str) -> None:
    wanted = {"original_event_id", "corrected_event_type", "correction_reason"}
    for event_type in (projection.FACT_ANNULLED, projection.FACT_AMENDED):
        fields = _model_fields()[(service, event_type)]
        schema = _schema_fields(service, event_type)
        assert schema is not None
        assert wanted <= fields, (service, event_type)
        assert wanted <= schema, (service, event_type)
    amended = _model_fields()[(service, projection.FACT_AMENDED)]
    assert {"fact_occurred_on", "amended"} <= amended


def test_an_amendable_category_is_one_the_monitor_keeps() -> None:
    """A category a service may amend and the monitor keeps must carry the same name in both,
    or the amendment would not reach the figures."""
    for model in all_payload_models():
        if model.event_type() != projection.FACT_AMENDED:
            continue
        amended = model.model_fields["amended"].annotation
        names = set(getattr(amended, "model_fields", {}))
        kept = {f for r in REDUCERS.values() if r.service == model.SERVICE for f in r.fields}
        # Every service amends at least one category the monitor reads.
        assert names & kept or model.SERVICE == "investigation", (model.SERVICE, names)


_EVENT_NAME = re.compile(r"^(?:[A-Z][a-z]+){2,}$")


def _camel_case_constants(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)
    }  # docstrings and bare strings name classes, not events
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and id(node) not in docstrings
        and isinstance(node.value, str)
        and _EVENT_NAME.match(node.value)
    }


def test_every_event_type_named_anywhere_in_the_monitor_domain_exists() -> None:
    """The figures, the audit trail and the exports name event types too (e.g. "CaseRegistered"
    in the chain figures): each such name must be an event type of some contract."""
    known = {event_type for _, event_type in _model_fields()}
    domain = Path(monitor.domain.__file__).parent
    unknown = {
        (path.name, name)
        for path in sorted(domain.glob("*.py"))
        if path.name != "__init__.py"  # its __all__ lists the domain's own classes
        for name in _camel_case_constants(path)
        if name not in known
    }
    assert unknown == set()


def _enum_values(service: str, event_type: str, field: str) -> set[str]:
    (model,) = [
        m
        for m in all_payload_models()
        if (m.SERVICE, m.event_type()) == (service, event_type) and m.VERSION == 1
    ]
    annotation = model.model_fields[field].annotation
    return {member.value for member in annotation}  # type: ignore[union-attr]


def test_the_category_values_the_monitor_compares_with_are_in_the_contracts() -> None:
    """A renamed value would silently end a milestone (T6, T7) or the police's stop."""
    from monitor.domain.figures import CONVICTIONS

    for event_type in ("CourtHearingHeld", "VerdictDelivered"):
        assert projection.FIRST_INSTANCE in _enum_values("prosecution", event_type, "instance")
    assert projection.SUBMITTED in _enum_values("investigation", "InvestigationClosed", "reason")
    assert _enum_values("prosecution", "VerdictDelivered", "outcome") >= CONVICTIONS
