"""What the gRPC edge accepts, part by part: trace context, dates, query ids, request bodies."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from intake.application.commands import FileReport
from ketenzicht.intake.v1 import intake_pb2 as pb
from ketenzicht_common.dates import FORMAT_HINT, RANGE_HINT, business_date, business_instant
from ketenzicht_common.domain import Provenance
from ketenzicht_common.errors import InvalidCommand
from ketenzicht_common.grpc_server import Undecodable, lenient_deserializer
from ketenzicht_common.telemetry import incoming_trace, trace_headers, valid_traceparent
from ketenzicht_common.translate import command_from, pseudonym, query_date
from ketenzicht_contracts.envelope import Envelope
from residence.application.commands import EndTemporaryPermit, GrantTemporaryPermit

VALID = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.mark.parametrize(
    "value", [VALID, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"]
)
def test_a_w3c_traceparent_is_taken(value: str) -> None:
    assert valid_traceparent(value) == value
    assert incoming_trace([("traceparent", value)]) == {"traceparent": value}


@pytest.mark.parametrize(
    "value",
    [
        "",
        "free text about a person",
        VALID + "-and-more",  # a future version's tail
        "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",  # an unknown version
        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01",  # upper case
        "00-00000000000000000000000000000000-b7ad6b7169203331-01",  # zero trace id
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",  # zero span id
        " " + VALID,
        VALID + "\n",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333-01",
        b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    ],
)
def test_anything_else_is_no_trace_context(value: object) -> None:
    assert valid_traceparent(value) == ""
    assert incoming_trace([("traceparent", value)]) == {}


def test_tracestate_baggage_and_a_second_traceparent_are_dropped() -> None:
    assert incoming_trace(
        [("traceparent", VALID), ("tracestate", "vendor=free text"), ("baggage", "name=someone")]
    ) == {"traceparent": VALID}
    assert incoming_trace([("traceparent", VALID), ("traceparent", VALID)]) == {}
    # With tracing off, the stored context is the checked incoming one, and only that.
    assert trace_headers({"traceparent": VALID, "tracestate": "x=y"}) == {"traceparent": VALID}
    assert trace_headers({"traceparent": "free text"}) == {}


def test_tracestate_is_neither_stored_nor_published() -> None:
    stored = Provenance("politie", "police-registration", "cmd-1", VALID, "x=free text")
    assert "tracestate" not in stored.as_dict()
    envelope = Envelope(
        event_id=uuid4(),
        service="intake",
        event_type="ReportFiled",
        version=1,
        occurred_on=date(2022, 1, 10),
        recorded_at=datetime(2026, 1, 2, tzinfo=UTC),
        aggregate_id=uuid4(),
        aggregate_version=1,
        organisation="politie",
        system="police-registration",
        traceparent=VALID,
        tracestate="x=free text",
    )
    headers = envelope.to_headers()
    assert "tracestate" not in headers
    assert Envelope.from_headers(headers | {"tracestate": "x=y"}).tracestate == ""


@pytest.mark.parametrize("value", ["2022-01-03", "1990-01-01", "2100-12-31", date(2022, 1, 3)])
def test_a_business_date_is_an_iso_day_in_range(value: object) -> None:
    assert isinstance(business_date(value), date)


@pytest.mark.parametrize(
    "value",
    [
        "0",
        0,
        1641168000,
        "1641168000",
        "2022-01-03T00:00:00",
        datetime(2022, 1, 3, tzinfo=UTC),
        "20220103",
        "2022-W01-1",
        "2022-1-3",
        " 2022-01-03",
        "2022-01-03 ",
        "2022-02-30",
        "1989-12-31",
        "2101-01-01",
        "9999-12-31",
        "0001-01-01",
        "١٩٩٩-٠١-٠١",
        None,
        "",
    ],
)
def test_anything_else_is_not_a_business_date(value: object) -> None:
    # A fixed text: the refusal never repeats what the caller sent.
    fixed = "|".join(re.escape(t) for t in (FORMAT_HINT, RANGE_HINT, "not a day of the calendar"))
    with pytest.raises(ValueError, match=f"^({fixed})$"):
        business_date(value)


def test_every_date_field_of_every_command_is_strict() -> None:
    # occurred_on is declared on the base; valid_from, valid_until and end_date are plain
    # `date` fields of residence's commands, and get the same parser.
    for field, fields in [
        ("occurred_on", dict(victim_id="v-1", case_id="C-0123456789abcdef0123", occurred_on="0")),
        (
            "valid_until",
            dict(
                victim_id="v-1",
                case_id="C-0123456789abcdef0123",
                occurred_on="2022-01-03",
                valid_from="2022-01-03",
                valid_until="0",
            ),
        ),
        (
            "valid_from",
            dict(
                victim_id="v-1",
                case_id="C-0123456789abcdef0123",
                occurred_on="2022-01-03",
                valid_from="2022-01-03T00:00:00",
                valid_until="2023-01-03",
            ),
        ),
    ]:
        with pytest.raises(ValueError, match=field):
            GrantTemporaryPermit.model_validate(fields)
    with pytest.raises(ValueError, match="end_date"):
        EndTemporaryPermit.model_validate(
            dict(
                victim_id="v-1",
                case_id="C-0123456789abcdef0123",
                occurred_on="2022-01-03",
                end_date=1641168000,
            )
        )
    request = pb.FileReportRequest(
        victim_id="v-1", case_id="C-0123456789abcdef0123", occurred_on="1641168000"
    )
    with pytest.raises(InvalidCommand) as refused:
        command_from(request, FileReport)
    assert [v.field for v in refused.value.violations] == ["occurred_on"]


def test_query_dates_and_instants() -> None:
    assert query_date("as_of", "") is None
    assert query_date("as_of", "2024-02-29") == date(2024, 2, 29)
    with pytest.raises(InvalidCommand) as refused:
        query_date("as_of", "9999-12-31")
    assert [v.field for v in refused.value.violations] == ["as_of"]
    assert business_instant("2024-01-01T12:00:00Z") == datetime(2024, 1, 1, 12, tzinfo=UTC)
    assert business_instant("2024-01-01T12:00:00.5+01:00").utcoffset() is not None
    for bad in [
        "2024-01-01T12:00:00",
        "2024-01-01",
        "9999-12-31T23:59:59+00:00",
        "2024-01-01 12:00:00Z",
        "2024-13-01T00:00:00Z",
    ]:
        with pytest.raises(ValueError, match=r"instant|lie between"):
            business_instant(bad)


def test_a_query_id_is_checked_and_never_echoed() -> None:
    assert pseudonym("victim_id", "V-0123abc") == "V-0123abc"
    for bad, description in [
        ("", "Field required"),
        ("x" * 100_000, "victim_id is not a valid pseudonym"),
        ("name of a person", "victim_id is not a valid pseudonym"),
    ]:
        with pytest.raises(InvalidCommand) as refused:
            pseudonym("victim_id", bad)
        assert [(v.field, v.description) for v in refused.value.violations] == [
            ("victim_id", description)
        ]


def test_an_undecodable_body_becomes_a_marker_not_an_error() -> None:
    deserialize = lenient_deserializer(pb.FileReportRequest)
    good = pb.FileReportRequest(
        victim_id="v-1", case_id="C-0123456789abcdef0123", occurred_on="2022-01-03"
    )
    assert deserialize(good.SerializeToString()) == good
    assert deserialize(b"") == pb.FileReportRequest()
    # A truncated varint, and a string field (victim_id, 2) that is not UTF-8.
    for body in [b"\xff\xff\xff", b"\x12\x02\xff\xfe"]:
        assert deserialize(body) == Undecodable("ketenzicht.intake.v1.FileReportRequest")
