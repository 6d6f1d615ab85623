"""The consumers' check reads the envelope from the body (version 2) and still from the
headers (version 1), as strictly: a malformed attribute is named, never shown."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime

import pytest

from ketenzicht_common.consumer import checked
from ketenzicht_common.contract import Unprocessable, check, claims_of
from ketenzicht_contracts.envelope import Envelope
from ketenzicht_contracts.events.intake import ReportFiled

FREE_TEXT = "Jan Jansen, Kerkstraat 1, Utrecht"
STREAM = "KETENZICHT_INTAKE"
SUBJECT = "ketenzicht.intake.ReportFiled"
PAYLOAD = ReportFiled(occurred_on=date(2022, 1, 10), victim_id="victim-001", case_id="case-001")
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
ENVELOPE = Envelope(
    event_id=uuid.uuid4(),
    service="intake",
    event_type="ReportFiled",
    version=1,
    occurred_on=date(2022, 1, 10),
    recorded_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    aggregate_id=uuid.uuid4(),
    aggregate_version=3,
    organisation="politie",
    system="police-registration",
    command_id="cmd-1",
    traceparent=TRACEPARENT,
    position=7,
)


def body_with(**changes: object) -> bytes:
    document = json.loads(ENVELOPE.to_message(PAYLOAD)[1])
    return json.dumps(document | changes).encode()


def refusal(headers: dict[str, str] | None, body: bytes, subject: str = SUBJECT) -> str:
    with pytest.raises(Unprocessable) as raised:
        check(STREAM, subject, headers, body)
    assert FREE_TEXT not in str(raised.value)
    return str(raised.value)


def test_an_event_in_either_envelope_version_reads_as_the_same_event() -> None:
    headers, body = ENVELOPE.to_message(PAYLOAD)
    assert list(headers) == ["Nats-Msg-Id"]
    new = checked(STREAM, SUBJECT, headers, body)
    old = checked(STREAM, SUBJECT, ENVELOPE.to_headers(), PAYLOAD.model_dump_json().encode())
    assert new.envelope == old.envelope == ENVELOPE
    assert new.payload() == old.payload() == PAYLOAD
    assert new.data == old.data == json.loads(PAYLOAD.model_dump_json())
    claimed = ("nl.ketenzicht.intake.ReportFiled", "1", str(ENVELOPE.event_id))
    assert claims_of(headers, body) == (*claimed, new.body)
    assert claims_of(ENVELOPE.to_headers(), old.body) == (*claimed, old.body)


def test_a_malformed_body_attribute_is_named_and_its_value_never_shown() -> None:
    for attribute in ("occurredon", "time", "id", "subject", "aggregateversion", "schemaversion"):
        reason = refusal(None, body_with(**{attribute: FREE_TEXT}))
        assert reason == f"no-envelope: attribute {attribute} is malformed", reason
    assert refusal(None, b"not json") == "no-envelope: the body is not JSON"
    document = json.loads(body_with())
    del document["data"]
    assert refusal(None, json.dumps(document).encode()) == "no-envelope: attribute data is missing"


def test_free_text_as_provenance_in_the_body_is_refused_without_quoting_it() -> None:
    for attribute, name in (("organisation", "organisation"), ("commandid", "command_id")):
        reason = refusal(None, body_with(**{attribute: FREE_TEXT}))
        assert reason == f"envelope-text: {name} is not an identifier"


def test_a_service_speaks_only_for_itself_in_either_version() -> None:
    # Another service's source on intake's type: refused, read from the body...
    assert refusal(None, body_with(source="/ketenzicht/residence")).startswith("wrong-source:")
    # ...and from a version-1 message's ce-source header.
    forged = ENVELOPE.to_headers() | {"ce-source": "/ketenzicht/residence"}
    assert refusal(forged, PAYLOAD.model_dump_json().encode()).startswith("wrong-source:")
    # A type of another service read from intake's stream stays refused by its route.
    other = json.loads(body_with())
    other |= {
        "type": "nl.ketenzicht.residence.ReportFiled",
        "source": "/ketenzicht/residence",
        "dataschema": "ketenzicht:residence/ReportFiled.v1",
    }
    assert refusal(None, json.dumps(other).encode()).startswith("unknown-type:")


def test_a_body_envelope_under_old_headers_is_checked_as_an_old_message() -> None:
    # ce-* headers make it version 1: its body must then be the bare payload, which a whole
    # CloudEvents document is not.
    reason = refusal(ENVELOPE.to_headers(), ENVELOPE.to_message(PAYLOAD)[1])
    assert reason.startswith("breaks-contract:")


def test_trace_context_in_the_body_is_checked_and_tracestate_never_read() -> None:
    envelope, _ = check(STREAM, SUBJECT, None, body_with(traceparent=FREE_TEXT))
    assert envelope.traceparent == ""
    envelope, _ = check(STREAM, SUBJECT, None, body_with(tracestate="vendor=" + FREE_TEXT))
    assert envelope.traceparent == TRACEPARENT
    assert envelope.tracestate == ""


def test_the_body_and_the_envelope_must_state_the_same_business_date() -> None:
    assert refusal(None, body_with(occurredon="2022-01-11")).startswith("date-mismatch:")
