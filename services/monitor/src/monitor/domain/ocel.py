"""The chain as an object-centric event log (OCEL 2.0, JSON flavour), for PM4Py and others.

A flat XES log has to pick one case notion, so a case with two victims and two suspects becomes
two traces that repeat the case's events, and its suspects disappear. OCEL 2.0
(https://www.ocel-standard.org/) keeps the objects: here `victim`, `case` and `suspect`. Every
visible fact is one event, linked to every object it concerns:

- the victim, case and suspect its payload names (qualifiers ``victim``, ``case``, ``suspect``);
- a fact of the case that names no victim (registration, summons, verdict, finality) also
  concerns every victim linked to the case by then (qualifier ``victim of the case``): their
  lead times run through it, as they do in the XES log.

Objects carry their categories as attributes (a victim: the form, minor, nationality group and
region of the first signal, and the pilot cohort; none for cases and suspects), and a case
relates to its victims and suspects (object-to-object, qualifiers ``victim`` and ``suspect``).
Residence facts are events too, linked to their victim (and case when they name one). Only
pseudonymous ids and categories are written, as in every export; `pseudonymise` replaces the ids
by sequence numbers. The document is built as plain data; the adapter serialises it as JSON.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from .exports import event_attributes
from .projection import ChainView, FactRecord

VICTIM, CASE, SUSPECT = "victim", "case", "suspect"
OBJECT_TYPES: tuple[str, ...] = (VICTIM, CASE, SUSPECT)
VICTIM_OF_THE_CASE = "victim of the case"
_BEGINNING = "1970-01-01T00:00:00Z"  # OCEL 2.0's time of an attribute value held from the start
_VICTIM_ATTRIBUTES = ("form", "minor", "nationality_group", "region", "cohort")


def _ocel_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    return "string"


def _time(record: FactRecord) -> str:
    return f"{record.occurred_on.isoformat()}T00:00:00Z"


class _Ids:
    """Object ids as exported: the pseudonym, or a sequence number per type."""

    def __init__(self, pseudonymise: bool) -> None:
        self._pseudonymise = pseudonymise
        self._given: dict[tuple[str, str], str] = {}

    def __call__(self, kind: str, pseudonym: str) -> str:
        if not self._pseudonymise:
            return f"{kind}:{pseudonym}"
        key = (kind, pseudonym)
        if key not in self._given:
            self._given[key] = f"{kind}:{sum(1 for k, _ in self._given if k == kind) + 1:06d}"
        return self._given[key]


def event_log_ocel(view: ChainView, *, pseudonymise: bool = False) -> dict[str, Any]:
    """The OCEL 2.0 JSON document of the chain as of the view's cut-off."""
    ids = _Ids(pseudonymise)
    victims_of_case: dict[str, set[str]] = defaultdict(set)
    suspects_of_case: dict[str, set[str]] = defaultdict(set)
    victim_attributes: dict[str, dict[str, str | bool | int]] = {}
    for unit in view.units:
        if unit.case_id is not None:
            victims_of_case[unit.case_id].add(unit.victim_id)
        attributes = victim_attributes.setdefault(unit.victim_id, {})
        for name in _VICTIM_ATTRIBUTES:
            value = unit.cohort if name == "cohort" else getattr(unit.profile, name)
            if value is not None:
                attributes.setdefault(name, value)
    cases: set[str] = set()
    victims: set[str] = set(victim_attributes)
    suspects: set[str] = set()
    event_types: dict[str, dict[str, str]] = {}
    events: list[dict[str, Any]] = []
    for number, record in enumerate(view.records, start=1):
        relationships: list[dict[str, str]] = []
        if record.victim_id is not None:
            victims.add(record.victim_id)
            relationships.append({"objectId": ids(VICTIM, record.victim_id), "qualifier": VICTIM})
        if record.case_id is not None:
            cases.add(record.case_id)
            relationships.append({"objectId": ids(CASE, record.case_id), "qualifier": CASE})
            if record.victim_id is None:
                for victim_id in sorted(victims_of_case.get(record.case_id, ())):
                    relationships.append(
                        {"objectId": ids(VICTIM, victim_id), "qualifier": VICTIM_OF_THE_CASE}
                    )
        if record.suspect_id is not None:
            suspects.add(record.suspect_id)
            relationships.append(
                {"objectId": ids(SUSPECT, record.suspect_id), "qualifier": SUSPECT}
            )
            if record.case_id is not None:
                suspects_of_case[record.case_id].add(record.suspect_id)
        attributes = event_attributes(record)
        declared = event_types.setdefault(record.event_type, {})
        for name, value in attributes.items():
            declared.setdefault(name, _ocel_type(value))
        events.append(
            {
                "id": f"event:{number:07d}" if pseudonymise else record.event_id,
                "type": record.event_type,
                "time": _time(record),
                "attributes": [{"name": k, "value": v} for k, v in attributes.items()],
                "relationships": relationships,
            }
        )

    objects: list[dict[str, Any]] = []
    for victim_id in sorted(victims):
        attributes = victim_attributes.get(victim_id, {})
        objects.append(
            {
                "id": ids(VICTIM, victim_id),
                "type": VICTIM,
                "attributes": [
                    {"name": k, "time": _BEGINNING, "value": v} for k, v in attributes.items()
                ],
            }
        )
    for case_id in sorted(cases):
        related = [
            {"objectId": ids(VICTIM, v), "qualifier": VICTIM}
            for v in sorted(victims_of_case.get(case_id, ()))
        ] + [
            {"objectId": ids(SUSPECT, s), "qualifier": SUSPECT}
            for s in sorted(suspects_of_case.get(case_id, ()))
        ]
        objects.append({"id": ids(CASE, case_id), "type": CASE, "relationships": related})
    for suspect_id in sorted(suspects):
        objects.append({"id": ids(SUSPECT, suspect_id), "type": SUSPECT})

    victim_types: Mapping[str, str] = {
        name: _ocel_type(value)
        for attributes in victim_attributes.values()
        for name, value in attributes.items()
    }
    return {
        "objectTypes": [
            {
                "name": VICTIM,
                "attributes": [{"name": n, "type": t} for n, t in sorted(victim_types.items())],
            },
            {"name": CASE, "attributes": []},
            {"name": SUSPECT, "attributes": []},
        ],
        "eventTypes": [
            {"name": name, "attributes": [{"name": n, "type": t} for n, t in declared.items()]}
            for name, declared in sorted(event_types.items())
        ],
        "objects": objects,
        "events": events,
    }
