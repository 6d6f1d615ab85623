"""A rebuild stores, for every message, the record the live consumers' reading gives: whether
the message passes the one-pass check (what relays publish) or only the exact one (another
spelling of an id, a trace context to drop, the old header envelope), and it skips what the
exact check refuses."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime

import pytest
from nats.aio.msg import Msg

from ketenzicht_common.contract import passes_at_once
from ketenzicht_contracts.envelope import Envelope
from ketenzicht_contracts.events.intake import ReportFiled
from monitor.adapters.consumer import UnreadableEvent, fact_from_message, record_from_message
from monitor.domain import to_record

STREAM = "KETENZICHT_INTAKE"
ENVELOPE = Envelope(
    event_id=uuid.uuid4(),
    service="intake",
    event_type="ReportFiled",
    version=1,
    occurred_on=date(2022, 1, 10),
    recorded_at=datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC),
    aggregate_id=uuid.uuid4(),
    aggregate_version=3,
    organisation="politie",
    system="police-registration",
    position=7,
)
PAYLOAD = ReportFiled(
    occurred_on=date(2022, 1, 10), victim_id="victim-001", case_id="case-001", under_number=True
)
HEADERS, BODY = ENVELOPE.to_message(PAYLOAD)


def message(body: bytes = BODY, headers: dict[str, str] | None = HEADERS) -> Msg:
    return Msg(None, subject=ENVELOPE.subject, data=body, headers=headers)


def with_(**changes: object) -> bytes:
    return json.dumps(json.loads(BODY) | changes).encode()


def test_the_rebuild_stores_the_record_the_live_reading_gives() -> None:
    expected = to_record(fact_from_message(message(), STREAM))
    assert passes_at_once(STREAM, ENVELOPE.subject, HEADERS, BODY) is not None
    assert record_from_message(message(), STREAM) == expected
    assert expected.event_id == str(ENVELOPE.event_id)
    assert (expected.victim_id, expected.case_id) == ("victim-001", "case-001")
    # Read by the exact check only, and still the same record.
    for other in (
        message(with_(id=str(ENVELOPE.event_id).upper())),
        message(with_(traceparent="not a trace context")),
        message(PAYLOAD.model_dump_json().encode(), ENVELOPE.to_headers()),
    ):
        assert passes_at_once(STREAM, other.subject, other.headers, other.data) is None
        assert record_from_message(other, STREAM) == expected


@pytest.mark.parametrize(
    ("body", "rule"),
    [
        (with_(occurredon="2022-01-11"), "date-mismatch"),
        (with_(source="/ketenzicht/residence"), "wrong-source"),
        (with_(aggregateversion=2**63), "aggregateversion is out of range"),
        (with_(organisation="Jan Jansen"), "envelope-text"),
    ],
)
def test_the_rebuild_skips_what_the_live_consumers_refuse_with_the_same_reason(
    body: bytes, rule: str
) -> None:
    with pytest.raises(UnreadableEvent, match=rule) as skipped:
        record_from_message(message(body), STREAM)
    assert "Jan" not in str(skipped.value)
