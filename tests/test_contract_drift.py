"""The wire contracts and what the services store must never drift apart."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil

import pytest

from ketenzicht_common.domain import ChainAggregate, parse_event_topic
from ketenzicht_common.store import PRIVATE_TOPICS
from ketenzicht_contracts import schemas
from ketenzicht_contracts.events import payload_model

# Every service that records events; each joins this list when its domain lands.
SERVICES = ["intake", "investigation", "prosecution", "residence"]


def test_checked_in_json_schemas_match_the_payload_models() -> None:
    problems = schemas.drift()
    assert problems == [], (
        "run `make schemas` after changing a payload model: " + ", ".join(problems)
    )


def _domain_event_classes(service: str) -> list[type[ChainAggregate.Event]]:
    found: dict[str, type[ChainAggregate.Event]] = {}
    modules = []
    for layer in ("domain", "application"):
        package = importlib.import_module(f"{service}.{layer}")
        modules += [m.name for m in pkgutil.walk_packages(package.__path__, f"{service}.{layer}.")]
    for name in modules:
        loaded = importlib.import_module(name)
        for value in vars(loaded).values():
            if isinstance(value, type) and issubclass(value, ChainAggregate):
                for nested in vars(value).values():
                    if isinstance(nested, type) and issubclass(nested, ChainAggregate.Event):
                        topic = getattr(nested, "TOPIC", "")
                        if topic and topic.startswith(f"{service}:") and ".v" in topic:
                            found[topic] = nested
    return list(found.values())


@pytest.mark.parametrize("service", SERVICES)
def test_every_public_domain_event_has_a_contract_with_the_same_fields(service: str) -> None:
    application = importlib.import_module(f"{service}.bootstrap")
    del application
    classes = _domain_event_classes(service)
    for event_class in classes:
        topic = event_class.TOPIC
        application = importlib.import_module(f"{service}.bootstrap").create_application
        del application
        if topic in PRIVATE_TOPICS or topic.count(".") > 1:  # Aggregate.PrivateEvent.vN
            continue
        owner, name, version = parse_event_topic(topic)
        model = payload_model(owner, name, version)
        skip = {"originator_id", "originator_version", "timestamp", "originator_topic",
                "provenance"}
        domain_fields = {f.name for f in dataclasses.fields(event_class)} - skip
        assert domain_fields == set(model.model_fields), topic
