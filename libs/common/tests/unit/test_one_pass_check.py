"""The one-pass check (`contract.passes_at_once`) a rebuild reads with: it accepts what relays
publish, reading it as the exact check does, and accepts nothing the exact check refuses, so the
refusal and its reason always come from the exact check."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

import orjson
import pytest

from ketenzicht_common.contract import Unprocessable, check_message, passes_at_once
from ketenzicht_contracts.envelope import Envelope
from ketenzicht_contracts.events.intake import ReportFiled

FREE_TEXT = "Jan Jansen, Kerkstraat 1, Utrecht"
STREAM = "KETENZICHT_INTAKE"
SUBJECT = "ketenzicht.intake.ReportFiled"
PAYLOAD = ReportFiled(occurred_on=date(2022, 1, 10), victim_id="victim-001", case_id="case-001")
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
    traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    position=7,
)
HEADERS, BODY = ENVELOPE.to_message(PAYLOAD)


def with_(**changes: Any) -> bytes:
    return json.dumps(json.loads(BODY) | changes).encode()


def data_with(**changes: Any) -> bytes:
    return with_(data=json.loads(BODY)["data"] | changes)


def test_what_a_relay_publishes_passes_at_once_and_reads_as_the_exact_check_reads_it() -> None:
    passed = passes_at_once(STREAM, SUBJECT, HEADERS, BODY)
    assert passed is not None
    envelope, payload, data = check_message(STREAM, SUBJECT, HEADERS, BODY)
    assert passed.model is ReportFiled
    assert passed.document.data == payload == PAYLOAD
    assert passed.data == orjson.loads(data)
    assert passed.document.id == str(envelope.event_id)
    assert passed.document.occurredon == envelope.occurred_on
    assert passed.document.time == envelope.recorded_at
    assert (passed.document.organisation, passed.document.system) == ("politie", envelope.system)
    # What CloudEvents lets a producer add is ignored, as the exact check ignores it.
    assert passes_at_once(STREAM, SUBJECT, HEADERS, with_(partnerextension="x")) is not None


FORGED: list[tuple[str, str, dict[str, str] | None, bytes]] = [
    (STREAM, "ketenzicht.intake.SignalRegistered", HEADERS, BODY),
    ("KETENZICHT_RESIDENCE", SUBJECT, HEADERS, BODY),
    (STREAM, SUBJECT, ENVELOPE.to_headers(), BODY),
    (STREAM, SUBJECT, HEADERS, b"not json"),
    (STREAM, SUBJECT, HEADERS, b"[1, 2]"),
    *(
        (STREAM, SUBJECT, HEADERS, with_(**{name: value}))
        for name, value in [
            ("schemaversion", 2),
            ("schemaversion", 1.0),
            ("schemaversion", "1"),
            ("ketenzichtenvelope", 2.0),
            ("ketenzichtenvelope", 3),
            ("specversion", "0.3"),
            ("source", "/ketenzicht/residence"),
            ("type", "nl.ketenzicht.intake.SignalRegistered"),
            ("dataschema", "ketenzicht:intake/SignalRegistered.v1"),
            ("datacontenttype", "text/plain"),
            ("occurredon", "2022-01-11"),
            ("aggregateversion", -1),
            ("aggregateversion", 2**63),
            ("aggregateversion", 3.0),
            ("position", 2**70),
            ("organisation", FREE_TEXT),
            ("system", "police registration"),
            ("commandid", FREE_TEXT),
            ("traceparent", "not a trace context"),
            ("id", str(ENVELOPE.event_id).upper()),
            ("id", "not-a-uuid"),
            ("subject", str(ENVELOPE.aggregate_id).replace("-", "")),
            ("time", "9999-12-31T23:00:00-05:00"),
            ("time", "2026-01-02T03:04:05"),
            ("partnerextension", 2**70),
            ("data", "not an object"),
        ]
    ),
    *(
        (STREAM, SUBJECT, HEADERS, data_with(**{name: value}))
        for name, value in [
            ("victim_id", FREE_TEXT),
            ("occurred_on", "2022-01-11"),
            ("remark", FREE_TEXT),
            ("under_number", "true"),
            ("under_number", 1),
        ]
    ),
]


@pytest.mark.parametrize(("stream", "subject", "headers", "body"), FORGED)
def test_nothing_the_exact_check_refuses_passes_at_once(
    stream: str, subject: str, headers: dict[str, str] | None, body: bytes
) -> None:
    passed = passes_at_once(stream, subject, headers, body)
    try:
        envelope, payload, data = check_message(stream, subject, headers, body)
    except Unprocessable:
        assert passed is None  # the exact check's refusal, with its reason, is what counts
        return
    if passed is not None:  # accepted by both: read alike
        assert passed.document.data == payload
        assert passed.data == orjson.loads(data)
        assert passed.document.id == str(envelope.event_id)


def _spliced(at: str, text: str) -> bytes:
    """The relay's body with ``text`` written in at ``at`` ("start": after the opening brace;
    "end": before the closing one; "data": first in the payload; "data-end": last in it)."""
    body = BODY.decode()
    if at == "start":
        return (body[:1] + text + "," + body[1:]).encode()
    if at == "end":
        return (body[:-1] + "," + text + "}").encode()
    opening = body.index('"data":{') + len('"data":{')
    if at == "data":
        return (body[:opening] + text + "," + body[opening:]).encode()
    assert at == "data-end"
    return (body[:-2] + "," + text + "}}").encode()


OTHER_DATA = '{"occurred_on":"2022-01-10","victim_id":"victim-999","case_id":"case-999"}'
BYTE_FORGERIES: list[bytes] = [
    # Duplicate members: pydantic-core and orjson must take the same one (both take the last),
    # or the fast path would validate one payload and hand on the other.
    _spliced("start", f'"data":{OTHER_DATA}'),
    _spliced("end", f'"data":{OTHER_DATA}'),
    _spliced("end", '"data":{"occurred_on":"2022-01-10","victim_id":"victim-999","remark":"x"}'),
    _spliced("data", f'"victim_id":"{FREE_TEXT}"'),
    _spliced("data-end", f'"victim_id":"{FREE_TEXT}"'),
    _spliced("data-end", '"victim_id":"victim-777"'),
    _spliced("data", '"victim_id":"victim-777"'),
    _spliced("end", '"source":"/ketenzicht/residence"'),
    _spliced("start", '"source":"/ketenzicht/residence"'),
    _spliced("end", '"dataschema":"ketenzicht:intake/SignalRegistered.v1"'),
    _spliced("end", '"occurredon":"2022-01-11"'),
    _spliced("start", '"occurredon":"2022-01-11"'),
    # The same member under an escaped name.
    _spliced("end", f'"d\\u0061ta":{OTHER_DATA}'),
    _spliced("start", f'"d\\u0061ta":{OTHER_DATA}'),
    _spliced("data-end", '"victim\\u005fid":"victim-555"'),
    _spliced("end", '"d\\u0061taschema":"ketenzicht:intake/SignalRegistered.v1"'),
    # Values JSON parsers disagree on, in an ignored attribute and in the payload.
    _spliced("start", '"partnerextension":NaN'),
    _spliced("start", '"partnerextension":Infinity'),
    _spliced("start", '"partnerextension":1e400'),
    _spliced("end", '"partnerextension":18446744073709551616'),
    _spliced("data", '"remark":NaN'),
    _spliced("data", '"remark":18446744073709551616'),
    _spliced("start", '"partnerextension":"\\ud800"'),
    _spliced("data", '"remark":"\\udc00"'),
    _spliced("start", '"partnerextension":' + "[" * 300 + "]" * 300),
    b'{"partnerextension":"\xff",' + BODY[1:],
    b"\xef\xbb\xbf" + BODY,
    BODY + b"x",
    BODY + b" \n",
    BODY.replace(b'"2026-01-02T03:04:05+00:00"', b'"2026-01-02T23:59:60+00:00"'),
    BODY.replace(b'"2026-01-02T03:04:05+00:00"', b'"0001-01-01T00:30:00+01:00"'),
]


@pytest.mark.parametrize("body", BYTE_FORGERIES)
def test_no_forged_body_reads_otherwise_at_once_than_in_the_exact_check(body: bytes) -> None:
    # What the JSON parsers might disagree on: duplicate or escaped member names, NaN, numbers
    # beyond a double or 64 bits, lone surrogates, bytes that are no UTF-8, a byte-order mark.
    test_nothing_the_exact_check_refuses_passes_at_once(STREAM, SUBJECT, HEADERS, body)
