from __future__ import annotations

import json
from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from ketenzicht_contracts.envelope import (
    ENVELOPE_EXTENSION,
    ENVELOPE_VERSION,
    Envelope,
    MalformedAttribute,
    is_header_envelope,
    stream_for,
    subject_for,
)


def test_the_envelope_survives_the_trip_through_nats_headers() -> None:
    envelope = Envelope(
        event_id=uuid4(),
        service="intake",
        event_type="ReportFiled",
        version=1,
        occurred_on=date(2022, 1, 10),
        recorded_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        aggregate_id=uuid4(),
        aggregate_version=3,
        organisation="politie",
        system="police-registration",
        command_id="cmd-9",
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        position=42,
    )
    headers = envelope.to_headers()
    assert headers["Nats-Msg-Id"] == str(envelope.event_id)
    assert headers["ce-type"] == "nl.ketenzicht.intake.ReportFiled"
    assert Envelope.from_headers(headers) == envelope
    assert envelope.subject == subject_for("intake", "ReportFiled")
    assert envelope.subject == "ketenzicht.intake.ReportFiled"
    assert stream_for("intake") == "KETENZICHT_INTAKE"


def _envelope(**changes: object) -> Envelope:
    fields: dict[str, object] = {
        "event_id": uuid4(),
        "service": "residence",
        "event_type": "NonTemporaryPermitIndicated",
        "version": 1,
        "occurred_on": date(2022, 1, 10),
        "recorded_at": datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        "aggregate_id": uuid4(),
        "aggregate_version": 3,
        "organisation": "ketenzicht",
        "system": "residence-rules",
        "command_id": "cmd-9",
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "position": 42,
        "store": str(uuid4()),
        "message_id": "trigger-7",
    }
    return Envelope.model_validate(fields | changes)


def test_the_envelope_travels_in_the_body_with_the_message_id_the_only_header() -> None:
    envelope = _envelope()
    headers, body = envelope.to_message(b'{"trigger_id":"trigger-7"}')
    assert headers == {"Nats-Msg-Id": "trigger-7"}
    document = json.loads(body)
    assert document["specversion"] == "1.0"
    assert document[ENVELOPE_EXTENSION] == ENVELOPE_VERSION == 2
    assert document["type"] == "nl.ketenzicht.residence.NonTemporaryPermitIndicated"
    assert document["source"] == "/ketenzicht/residence"
    assert document["traceparent"] == envelope.traceparent
    assert document["time"] == "2026-01-02T03:04:05.000006+00:00"
    assert document["data"] == {"trigger_id": "trigger-7"}
    assert "tracestate" not in document
    read, data = Envelope.from_body(body, headers["Nats-Msg-Id"])
    assert read == envelope
    assert data == {"trigger_id": "trigger-7"}


def test_an_event_whose_message_id_is_its_id_reads_back_without_a_message_id() -> None:
    envelope = _envelope(message_id="")
    headers, body = envelope.to_message(b"{}")
    assert headers == {"Nats-Msg-Id": str(envelope.event_id)}
    assert Envelope.from_body(body, headers["Nats-Msg-Id"])[0] == envelope


@pytest.mark.parametrize(
    ("attribute", "value", "problem"),
    [
        ("occurredon", "1 September", "occurredon is malformed"),
        ("aggregateversion", "third", "aggregateversion is malformed"),
        ("aggregateversion", True, "aggregateversion is malformed"),
        ("id", None, "id is missing"),
        ("time", "2026-01-02T03:04:05", "time is malformed"),
        ("source", "/ketenzicht/intake", "source is not the source of the type's service"),
        ("ketenzichtenvelope", 3, "ketenzichtenvelope is not an envelope version read here"),
        ("dataschema", "ketenzicht:residence/X.v1", "dataschema is not the type's schema"),
        ("type", "com.example.residence.X", "type is not a ketenzicht event type"),
    ],
)
def test_a_malformed_attribute_is_named_and_its_value_never_shown(
    attribute: str, value: object, problem: str
) -> None:
    _, body = _envelope().to_message(b"{}")
    document = json.loads(body)
    if value is None:
        del document[attribute]
    else:
        document[attribute] = value
    with pytest.raises(MalformedAttribute) as raised:
        Envelope.from_body(json.dumps(document).encode())
    assert str(raised.value).startswith(problem)
    assert raised.value.name == attribute
    if isinstance(value, str):
        assert value not in str(raised.value)


def test_a_body_that_is_no_cloudevent_is_named_as_such() -> None:
    for body, problem in ((b"not json", "is not JSON"), (b"[1]", "is not a JSON object")):
        with pytest.raises(MalformedAttribute, match=problem):
            Envelope.from_body(body)


def test_which_envelope_version_a_message_carries() -> None:
    assert is_header_envelope(_envelope().to_headers())
    assert not is_header_envelope(_envelope().to_message(b"{}")[0])
    assert not is_header_envelope(None)
