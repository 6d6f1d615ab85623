"""The wire contracts and what the services store must never drift apart."""

from __future__ import annotations

import dataclasses
import importlib

import pytest
from eventsourcing.utils import resolve_topic

from ketenzicht_common.domain import parse_event_topic
from ketenzicht_common.settings import ServiceSettings
from ketenzicht_common.store import StoreSettings
from ketenzicht_contracts import schemas
from ketenzicht_contracts.events import payload_model

# Every service that publishes events.
SERVICES = ["intake", "investigation", "prosecution", "residence"]
BOOKKEEPING = {"originator_id", "originator_version", "timestamp", "originator_topic", "provenance"}


def test_checked_in_json_schemas_match_the_payload_models() -> None:
    problems = schemas.drift()
    assert problems == [], "run `make schemas` after changing a payload model: " + ", ".join(
        problems
    )


@pytest.mark.parametrize("service", SERVICES)
def test_every_event_a_service_publishes_has_a_contract_with_the_same_fields(service: str) -> None:
    bootstrap = importlib.import_module(f"{service}.bootstrap")
    app = bootstrap.create_application(ServiceSettings(store=StoreSettings(backend="memory")))
    try:
        topics = app.public_topics()
        assert topics, f"{service} publishes nothing"
        for topic in topics:
            event_class = resolve_topic(topic)
            owner, name, version = parse_event_topic(topic)
            assert owner == service, topic
            model = payload_model(owner, name, version)
            domain_fields = {f.name for f in dataclasses.fields(event_class)} - BOOKKEEPING
            assert domain_fields == set(model.model_fields), topic
    finally:
        app.close()


def test_the_contracts_know_every_addressee_of_the_residence_triggers() -> None:
    # A consumer accepts a trigger only on the feed of an addressee the contracts name.
    from ketenzicht_contracts.events.residence import TRIGGER_ADDRESSEES
    from residence.domain import Addressee

    assert {a.value for a in Addressee} == set(TRIGGER_ADDRESSEES)
