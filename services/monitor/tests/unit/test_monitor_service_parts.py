"""The monitor's service parts without servers: the query arguments, the HTTP routing and its
token check, the command line's tables (the live projection has its own tests)."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from monitor_chain_builders import fixed_chain

from ketenzicht.monitor.v1 import monitor_pb2 as pb
from ketenzicht_common.auth import IdentityRegistry
from ketenzicht_common.clock import FixedClock
from ketenzicht_common.errors import InvalidCommand
from monitor.adapters.consumer import UnreadableEvent, fact_from_message, fact_of
from monitor.adapters.grpc_api import lead_time_row
from monitor.adapters.http_api import HttpApi
from monitor.adapters.store import SqliteFactStore
from monitor.application.live import LiveProjection
from monitor.application.queries import MonitorQueries
from monitor.cli import lead_time_lines, print_table
from monitor.domain import AsOf, ChainProjection, lead_time_table

REPO_ROOT = Path(__file__).resolve().parents[4]
AS_OF = AsOf.of(date(2021, 12, 31))
CLOCK = FixedClock(datetime(2022, 1, 3, 9, tzinfo=UTC))


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveProjection]:
    projection = LiveProjection(SqliteFactStore(tmp_path / "facts.sqlite3"), CLOCK)
    yield projection
    projection.close()


def test_query_arguments_are_checked(live: LiveProjection) -> None:
    queries = MonitorQueries(live, CLOCK)
    assert queries.as_of("") == AsOf.of(date(2022, 1, 3))
    assert queries.as_of("2021-06-30", "2021-07-01T12:00:00+02:00").known_by == datetime(
        2021, 7, 1, 10, tzinfo=UTC
    )
    for on, known_by, field in [
        ("30-06-2021", "", "as_of.on"),
        ("2021-06-30", "2021-07-01T12:00:00", "as_of.known_by"),
    ]:
        with pytest.raises(InvalidCommand) as refused:
            queries.as_of(on, known_by)
        assert refused.value.violations[0].field == field
    with pytest.raises(InvalidCommand, match="unknown T9-T0"):
        queries.intervals(["T0-T2", "T9-T0"])
    with pytest.raises(InvalidCommand):
        queries.dimension("shoe_size")
    with pytest.raises(InvalidCommand):
        queries.years([21])


def test_a_message_without_a_json_object_body_is_unreadable() -> None:
    from ketenzicht_contracts.envelope import Envelope

    envelope = Envelope(
        event_id="00000000-0000-4000-8000-000000000001",
        service="intake",
        event_type="SignalRegistered",
        version=1,
        occurred_on=date(2021, 1, 1),
        recorded_at=datetime(2021, 1, 2, tzinfo=UTC),
        aggregate_id="00000000-0000-4000-8000-000000000002",
        aggregate_version=1,
        organisation="politie",
        system="police-registration",
    )
    for body in (b"not json", b"[1, 2]"):
        with pytest.raises(UnreadableEvent):
            fact_of(envelope, body)
    assert fact_of(envelope, b'{"victim_id": "victim-001"}').payload == {"victim_id": "victim-001"}


def test_the_replay_reads_the_same_fact_as_the_live_consumer() -> None:
    # A rebuild keys facts by event id, like the live consumers: both must read them alike.
    from nats.aio.msg import Msg

    from ketenzicht_contracts.envelope import Envelope

    envelope = Envelope(
        event_id="00000000-0000-4000-8000-00000000000A",
        service="prosecution",
        event_type="SuspectSummoned",
        version=1,
        occurred_on=date(2022, 9, 1),
        recorded_at=datetime(2022, 9, 2, 8, 30, tzinfo=UTC),
        aggregate_id="00000000-0000-4000-8000-000000000002",
        aggregate_version=3,
        organisation="om",
        system="om-registration",
        command_id="c-1",
        position=7,
    )
    body = b'{"occurred_on":"2022-09-01","case_id":"case-001","suspect_id":"suspect-001"}'
    message = Msg(
        None,
        subject="ketenzicht.prosecution.SuspectSummoned",
        data=body,
        headers=envelope.to_headers(),
    )
    stream = "KETENZICHT_PROSECUTION"
    assert fact_from_message(message, stream) == fact_of(envelope, body)
    assert fact_from_message(message, stream).event_id == "00000000-0000-4000-8000-00000000000a"

    # What the live consumers refuse by their contract check, the replay skips too.
    for subject, in_stream, data, rule in [
        ("ketenzicht.intake.SuspectSummoned", stream, body, "wrong-subject"),
        (message.subject, "KETENZICHT_INTAKE", body, "wrong-stream"),
        (message.subject, stream, body.replace(b"case-001", b"Jan Jansen"), "breaks-contract"),
        (message.subject, stream, body.replace(b"2022-09-01", b"2022-09-02"), "date-mismatch"),
    ]:
        with pytest.raises(UnreadableEvent, match=rule) as skipped:
            fact_from_message(
                Msg(None, subject=subject, data=data, headers=envelope.to_headers()), in_stream
            )
        assert "Jan" not in str(skipped.value)

    for broken in (
        {**envelope.to_headers(), "ce-type": "com.example.prosecution.X"},
        {**envelope.to_headers(), "ce-type": "nl.ketenzicht.prosecution"},
        {**envelope.to_headers(), "ce-occurredon": "1 September"},
        {**envelope.to_headers(), "ce-aggregateversion": "third"},
        {k: v for k, v in envelope.to_headers().items() if k != "ce-id"},
        None,
    ):
        with pytest.raises(UnreadableEvent):
            fact_from_message(Msg(None, subject="x", data=body, headers=broken), stream)
        if broken is not None:  # … as the live consumers refuse it
            with pytest.raises((KeyError, ValueError)):
                Envelope.from_headers(broken)

    # The envelope in the body (version 2, what relays publish now) reads as the same fact,
    # and what the live consumers refuse in it, the replay skips too.
    headers, document = envelope.to_message(body)
    structured = Msg(None, subject=message.subject, data=document, headers=headers)
    assert fact_from_message(structured, stream) == fact_of(envelope, body)
    for attributes, rule in [
        ({"occurredon": "Jan Jansen"}, "attribute occurredon is malformed"),
        ({"aggregateversion": "third"}, "attribute aggregateversion is malformed"),
        ({"type": "com.example.prosecution.X"}, "attribute type is not a ketenzicht"),
        ({"source": "/ketenzicht/intake"}, "wrong-source"),
        ({"data": {"case_id": "Jan Jansen"}}, "breaks-contract"),
    ]:
        forged = json.dumps(json.loads(document) | attributes).encode()
        with pytest.raises(UnreadableEvent, match=rule) as skipped:
            fact_from_message(Msg(None, subject=message.subject, data=forged), stream)
        assert "Jan" not in str(skipped.value)


@pytest.fixture
async def http(live: LiveProjection) -> HttpApi:
    await asyncio.gather(*(live.apply(f) for f in fixed_chain().facts))
    registry = IdentityRegistry.from_file(REPO_ROOT / "deploy/local/identities.toml")
    consumer: Any = type("Consumer", (), {"consuming": True, "services": ("intake",)})()
    return HttpApi(
        MonitorQueries(live, CLOCK, min_group_size=1), live, consumer, registry, "127.0.0.1:0"
    )


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_http_needs_an_analyst_token_for_data_but_not_for_the_page(http: HttpApi) -> None:
    path = "/api/lead-times?as_of=2021-12-31&interval=T2-T3"
    assert (await http.respond("GET", path, {})).status == 401
    assert (await http.respond("GET", path, bearer("local-om-token"))).status == 403
    answer = await http.respond("GET", path, bearer("local-analyst-token"))
    assert answer.status == 200
    rows = json.loads(answer.body)["rows"]
    assert [(r["interval"], r["closed"]) for r in rows] == [("T2-T3", 4)]
    page = await http.respond("GET", "/", {})
    assert page.status == 200
    assert b'src="/dashboard.js"' in page.body
    assert (await http.respond("GET", "/dashboard.js", {})).content_type.startswith(
        "text/javascript"
    )
    assert (await http.respond("POST", path, bearer("local-analyst-token"))).status == 405
    assert (
        await http.respond("GET", "/api/lead-times?as_of=yesterday", bearer("local-analyst-token"))
    ).status == 400


def test_withheld_figures_stay_unset_in_grpc_and_show_as_a_dash_in_the_table() -> None:
    projection = ChainProjection()
    projection.apply_all(fixed_chain().facts)
    rows = lead_time_table(projection.view(AS_OF))  # the default group size withholds all
    response = pb.GetLeadTimesResponse(rows=[lead_time_row(r) for r in rows])
    assert not response.rows[0].HasField("median_days")
    out = io.StringIO()
    print_table(lead_time_lines(response), out)
    lines = out.getvalue().splitlines()
    assert lines[0].split()[:3] == ["interval", "units", "closed"]
    assert lines[1].split()[0] == "T0-T2"
    assert lines[1].split()[6] == "-"
