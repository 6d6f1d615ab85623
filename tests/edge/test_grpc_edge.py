"""The gRPC edge is strict: what a caller sends beyond a well-formed command is refused or
ignored, and a refusal stores nothing. Real services, gRPC over loopback, raw bytes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import grpc
import pytest
from edge_support import (
    Answer,
    credentials,
    message_class,
    not_utf8,
    stored_states,
    stored_text,
    stream,
    tracebacks,
    unary,
    writing_services,
)
from google.rpc import code_pb2

from ketenzicht.common.v1 import common_pb2
from ketenzicht.intake.v1 import intake_pb2
from ketenzicht.investigation.v1 import investigation_pb2
from ketenzicht.monitor.v1 import monitor_pb2
from ketenzicht.monitor.v1.monitor_pb2_grpc import MonitorServiceStub
from ketenzicht.prosecution.v1 import prosecution_pb2
from ketenzicht.residence.v1 import residence_pb2
from ketenzicht_common.client import connect
from ketenzicht_common.testing import TOKENS, case_pseudonym, suspect_pseudonym
from ketenzicht_common.testing.jetstream import attributes_of, stream_messages
from ketenzicht_common.testing.service import Running, published_ids, running_service

pytestmark = pytest.mark.integration

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
VALID_TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
FREE_TEXT = "Jan Jansen born 1990-01-01 Kalverstraat 1"


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Running]]:
    with writing_services(tmp_path_factory.mktemp("edge")) as services:
        yield services


@pytest.fixture(scope="module")
def monitor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with running_service(tmp_path_factory.mktemp("edge-monitor"), "monitor") as service:
        yield service


@pytest.fixture
async def channels(chain: dict[str, Running]) -> AsyncIterator[dict[str, grpc.aio.Channel]]:
    opened = {
        name: grpc.aio.insecure_channel(running.service.address) for name, running in chain.items()
    }
    try:
        yield opened
    finally:
        for channel in opened.values():
            await channel.close()


def signal(command_id: str, occurred_on: str = "2022-01-03") -> intake_pb2.RegisterSignalRequest:
    return intake_pb2.RegisterSignalRequest(
        command_id=command_id,
        occurred_on=occurred_on,
        source_organisation=intake_pb2.SOURCE_ORGANISATION_POLICE,
        form=common_pb2.EXPLOITATION_FORM_LABOUR,
        nationality_group=intake_pb2.NATIONALITY_GROUP_OTHER_EU,
        residence_position=intake_pb2.RESIDENCE_POSITION_LAWFUL,
        region=intake_pb2.POLICE_REGION_OOST_NEDERLAND,
    )


def assert_refused(answer: Answer, code: grpc.StatusCode, field: str | None = None) -> None:
    assert answer.code == code, (answer.code, answer.details)
    if field is not None:
        assert field in answer.violations(), answer.details


async def test_trace_metadata_is_checked_and_tracestate_never_kept(
    chain: dict[str, Running], channels: dict[str, grpc.aio.Channel]
) -> None:
    intake = chain["intake"]
    police = credentials("POLICE")
    sent = {
        "free text as traceparent": [("traceparent", FREE_TEXT)],
        "a valid one with a tail": [("traceparent", f"{VALID_TRACEPARENT}-{FREE_TEXT}")],
        "an unknown version": [("traceparent", f"01-{TRACE_ID}-00f067aa0ba902b7-01")],
        "a valid one, and tracestate": [
            ("traceparent", VALID_TRACEPARENT),
            ("tracestate", f"vendor={FREE_TEXT}"),
        ],
    }
    victims: dict[str, str] = {}
    for number, (case, metadata) in enumerate(sent.items()):
        answer = await unary(
            channels["intake"],
            "intake",
            "RegisterSignal",
            signal(f"edge-trace-{number}").SerializeToString(),
            police + metadata,
        )
        assert answer.code == grpc.StatusCode.OK, (case, answer.details)
        reply = intake_pb2.RegisterSignalResponse.FromString(answer.responses[0])
        victims[case] = reply.ack.event_ids[0]

    # The metadata was ignored, not refused: each signal is stored, with no trace of the text.
    assert FREE_TEXT not in stored_text(intake)
    assert "vendor=" not in stored_text(intake)
    contexts = {
        state["provenance"]["command_id"]: state["provenance"]
        for state in stored_states(intake)
        if "provenance" in state
    }
    for number, case in enumerate(sent):
        provenance = contexts[f"edge-trace-{number}"]
        assert "tracestate" not in provenance, case
        expected = TRACE_ID if case.startswith("a valid one, and") else ""
        assert provenance["traceparent"][3:35] == expected, (case, provenance)

    published = await published_ids(intake, list(victims.values()))
    assert set(published) == set(victims.values())
    for case, event_id in victims.items():
        attributes = attributes_of(published[event_id])  # Nats-Msg-Id the only header
        assert "tracestate" not in attributes, case
        assert FREE_TEXT not in str(attributes), case
        expected = TRACE_ID if case.startswith("a valid one, and") else ""
        assert (attributes.get("traceparent") or "")[3:35] == expected, (case, attributes)


async def test_an_undecodable_body_is_refused_after_authentication_without_a_traceback(
    chain: dict[str, Running], channels: dict[str, grpc.aio.Channel]
) -> None:
    cases = [
        ("intake", "FileReport"),
        ("intake", "GetVictim"),
        ("investigation", "OpenInvestigation"),
        ("prosecution", "GetProsecution"),
        ("residence", "GrantTemporaryPermit"),
        ("residence", "GetResidencePosition"),
    ]
    before = {name: (running.stored(), tracebacks(running)) for name, running in chain.items()}
    for service, method in cases:
        role = {
            "intake": "POLICE",
            "investigation": "POLICE",
            "prosecution": "OM",
            "residence": "IND",
        }[service]
        request_type = message_class(service, method)
        # A truncated varint, a string field that is not UTF-8, groups nested too deep.
        for body in [b"\xff\xff\xff\xff", not_utf8(request_type), b"\x0b" * 200]:
            # Unauthenticated callers learn nothing about their body: they are refused first.
            anonymous = await unary(channels[service], service, method, body, [])
            assert_refused(anonymous, grpc.StatusCode.UNAUTHENTICATED)
            other_role = await unary(
                channels[service], service, method, body, credentials("ANALYST")
            )
            assert_refused(other_role, grpc.StatusCode.PERMISSION_DENIED)
            answer = await unary(channels[service], service, method, body, credentials(role))
            assert_refused(answer, grpc.StatusCode.INVALID_ARGUMENT, "request")
            assert answer.details == (
                "invalid command: request: not a valid " + request_type.DESCRIPTOR.full_name
            )
    for name, running in chain.items():
        assert (running.stored(), tracebacks(running)) == before[name], name


async def test_an_undecodable_bulk_frame_ends_the_stream_at_once(
    chain: dict[str, Running], channels: dict[str, grpc.aio.Channel]
) -> None:
    intake = chain["intake"]
    police = credentials("POLICE")
    garbage = b"\x0a\x05\xff\xff"  # a length that runs past the end of the frame
    stored = intake.stored()

    started = time.monotonic()
    alone = await stream(intake.service.address, "intake", [garbage], police, timeout=30)
    assert_refused(alone, grpc.StatusCode.INVALID_ARGUMENT, "requests[0]")
    assert alone.responses == []
    assert time.monotonic() - started < 5  # it used to wait for the client's deadline
    assert intake.stored() == stored

    # Commands before the bad frame are answered; nothing after it is read.
    first = intake_pb2.IntakeCommand(register_signal=signal("edge-bulk-before"))
    after = intake_pb2.IntakeCommand(register_signal=signal("edge-bulk-after"))
    mixed = await stream(
        intake.service.address,
        "intake",
        [first.SerializeToString(), garbage, after.SerializeToString()],
        police,
        timeout=30,
    )
    assert_refused(mixed, grpc.StatusCode.INVALID_ARGUMENT, "requests[1]")
    results = [intake_pb2.IntakeCommandResult.FromString(r) for r in mixed.responses]
    assert [(r.sequence, r.WhichOneof("outcome")) for r in results] == [(0, "signal")]
    command_ids = {
        s["provenance"]["command_id"] for s in stored_states(intake) if "provenance" in s
    }
    assert "edge-bulk-before" in command_ids
    assert "edge-bulk-after" not in command_ids

    # Unauthenticated, the stream is refused before any frame is read.
    stored = intake.stored()
    anonymous = await stream(intake.service.address, "intake", [garbage], [], timeout=30)
    assert_refused(anonymous, grpc.StatusCode.UNAUTHENTICATED)
    assert intake.stored() == stored
    assert tracebacks(intake) == 0


@pytest.mark.parametrize(
    "occurred_on",
    [
        "0",
        "1641168000",
        "2022-01-03T00:00:00",
        "2022-01-03T00:00:00+01:00",
        "20220103",
        "2022-W01-1",
        "03-01-2022",
        "1989-12-31",
        "9999-12-31",
        "2022-02-30",
        " 2022-01-03",
    ],
)
async def test_an_occurred_on_that_is_not_a_plausible_iso_day_is_refused(
    chain: dict[str, Running], channels: dict[str, grpc.aio.Channel], occurred_on: str
) -> None:
    requests: list[tuple[str, str, bytes]] = [
        ("intake", "RegisterSignal", signal("edge-date", occurred_on).SerializeToString()),
        (
            "investigation",
            "OpenInvestigation",
            investigation_pb2.OpenInvestigationRequest(
                case_id=case_pseudonym("case-edge-date"), occurred_on=occurred_on
            ).SerializeToString(),
        ),
        (
            "prosecution",
            "RegisterCase",
            prosecution_pb2.RegisterCaseRequest(
                case_id=case_pseudonym("case-edge-date"),
                suspect_id=suspect_pseudonym("suspect-edge"),
                occurred_on=occurred_on,
            ).SerializeToString(),
        ),
        (
            "residence",
            "GrantReflectionPeriod",
            residence_pb2.VictimDecisionRequest(
                victim_id="victim-edge-date", occurred_on=occurred_on
            ).SerializeToString(),
        ),
    ]
    before = {name: running.stored() for name, running in chain.items()}
    role = {
        "intake": "POLICE",
        "investigation": "LABOUR_INSPECTORATE",
        "prosecution": "OM",
        "residence": "IND",
    }
    for service, method, body in requests:
        answer = await unary(channels[service], service, method, body, credentials(role[service]))
        assert_refused(answer, grpc.StatusCode.INVALID_ARGUMENT, "occurred_on")
    # The same inside a bulk stream: that command is refused, the stream goes on.
    frame = intake_pb2.IntakeCommand(register_signal=signal("edge-date-bulk", occurred_on))
    bulk = await stream(
        chain["intake"].service.address,
        "intake",
        [frame.SerializeToString()],
        credentials("POLICE"),
    )
    assert bulk.code == grpc.StatusCode.OK
    (result,) = [intake_pb2.IntakeCommandResult.FromString(r) for r in bulk.responses]
    assert result.error.code == code_pb2.INVALID_ARGUMENT
    assert {name: running.stored() for name, running in chain.items()} == before


@pytest.mark.parametrize(
    ("method", "dates", "field"),
    [
        ("GrantTemporaryPermit", {"valid_from": "2022-01-03", "valid_until": "0"}, "valid_until"),
        (
            "GrantTemporaryPermit",
            {"valid_from": "1641168000", "valid_until": "2023-01-03"},
            "valid_from",
        ),
        ("ExtendTemporaryPermit", {"valid_until": "2023-01-03T00:00:00"}, "valid_until"),
        ("ExtendTemporaryPermit", {"valid_until": "2101-01-01"}, "valid_until"),
        ("EndTemporaryPermit", {"end_date": "20220601"}, "end_date"),
    ],
)
async def test_the_ind_s_other_dates_are_as_strict(
    chain: dict[str, Running],
    channels: dict[str, grpc.aio.Channel],
    method: str,
    dates: dict[str, str],
    field: str,
) -> None:
    residence = chain["residence"]
    request = message_class("residence", method)(
        victim_id="victim-edge", case_id="case-edge", occurred_on="2022-01-03", **dates
    )
    stored = residence.stored()
    answer = await unary(
        channels["residence"], "residence", method, request.SerializeToString(), credentials("IND")
    )
    assert_refused(answer, grpc.StatusCode.INVALID_ARGUMENT, field)
    assert residence.stored() == stored


async def test_query_ids_are_checked_before_use_and_never_echoed(
    chain: dict[str, Running], channels: dict[str, grpc.aio.Channel]
) -> None:
    huge = "V" * 100_000
    queries: list[tuple[str, str, Any, str]] = [
        ("intake", "GetVictim", intake_pb2.GetVictimRequest(victim_id=huge), "victim_id"),
        (
            "residence",
            "GetResidencePosition",
            residence_pb2.GetResidencePositionRequest(victim_id=huge),
            "victim_id",
        ),
        (
            "investigation",
            "GetInvestigation",
            investigation_pb2.GetInvestigationRequest(case_id=huge),
            "case_id",
        ),
        (
            "prosecution",
            "GetProsecution",
            prosecution_pb2.GetProsecutionRequest(
                case_id=case_pseudonym("case-1"), suspect_id=huge
            ),
            "suspect_id",
        ),
        (
            "prosecution",
            "GetProsecutionCase",
            prosecution_pb2.GetProsecutionCaseRequest(case_id="not a pseudonym"),
            "case_id",
        ),
    ]
    role = {"intake": "POLICE", "investigation": "POLICE", "prosecution": "OM", "residence": "IND"}
    before = {name: running.stored() for name, running in chain.items()}
    for service, method, request, field in queries:
        answer = await unary(
            channels[service],
            service,
            method,
            request.SerializeToString(),
            credentials(role[service]),
        )
        assert_refused(answer, grpc.StatusCode.INVALID_ARGUMENT, field)
        assert answer.details == f"invalid command: {field}: {field} is not a valid pseudonym"

    # A valid id that is not known: NOT_FOUND, and the id is not repeated either.
    unknown = "V-edge-never-signalled"
    unknown_case = case_pseudonym("edge-never-opened")
    unknown_ids: list[tuple[str, str, Any]] = [
        ("intake", "GetVictim", intake_pb2.GetVictimRequest(victim_id=unknown)),
        (
            "residence",
            "GetResidencePosition",
            residence_pb2.GetResidencePositionRequest(victim_id=unknown),
        ),
        (
            "investigation",
            "GetInvestigation",
            investigation_pb2.GetInvestigationRequest(case_id=unknown_case),
        ),
        (
            "prosecution",
            "GetProsecution",
            prosecution_pb2.GetProsecutionRequest(case_id=unknown_case, suspect_id=unknown),
        ),
        (
            "prosecution",
            "GetProsecutionCase",
            prosecution_pb2.GetProsecutionCaseRequest(case_id=unknown_case),
        ),
    ]
    for service, method, request in unknown_ids:
        answer = await unary(
            channels[service],
            service,
            method,
            request.SerializeToString(),
            credentials(role[service]),
        )
        assert_refused(answer, grpc.StatusCode.NOT_FOUND)
        assert unknown not in answer.details, answer.details
    assert {name: running.stored() for name, running in chain.items()} == before


@pytest.mark.parametrize(
    "as_of", ["9999-12-31", "0001-01-01", "2101-01-01", "20240101", "2024-01-01T00:00:00"]
)
async def test_an_as_of_out_of_range_or_form_is_invalid_argument(
    chain: dict[str, Running], channels: dict[str, grpc.aio.Channel], monitor: Running, as_of: str
) -> None:
    residence = chain["residence"]
    stored = residence.stored()
    answer = await unary(
        channels["residence"],
        "residence",
        "GetResidencePosition",
        residence_pb2.GetResidencePositionRequest(
            victim_id="victim-edge", as_of=as_of
        ).SerializeToString(),
        credentials("IND"),
    )
    assert_refused(answer, grpc.StatusCode.INVALID_ARGUMENT, "as_of")
    assert residence.stored() == stored

    async with connect(monitor.service.address, token=TOKENS["ANALYST"]) as channel:
        analysts = MonitorServiceStub(channel)
        for cut_off, field in [
            (monitor_pb2.AsOf(on=as_of), "as_of.on"),
            (
                monitor_pb2.AsOf(on="2024-01-01", known_by=f"{as_of}T00:00:00+00:00"),
                "as_of.known_by",
            ),
        ]:
            for call in (
                analysts.GetLeadTimes(monitor_pb2.GetLeadTimesRequest(as_of=cut_off)),
                analysts.GetChainFigures(monitor_pb2.GetChainFiguresRequest(as_of=cut_off)),
            ):
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await call
                assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (
                    field,
                    refused.value.details(),
                )
                assert field in (refused.value.details() or "")
        # In range, the monitor answers (there is nothing to count).
        answer = await analysts.GetChainFigures(
            monitor_pb2.GetChainFiguresRequest(as_of=monitor_pb2.AsOf(on="2100-12-31"))
        )
        assert answer.as_of == "2100-12-31"
    assert tracebacks(monitor) == 0


async def test_nothing_a_refusal_sent_reached_the_bus(chain: dict[str, Running]) -> None:
    # Last in this module: every stream holds only what was acknowledged above.
    await asyncio.sleep(0.5)
    for running in chain.values():
        for message in await stream_messages(running.nats, running.stream, timeout=0):
            attributes = attributes_of(message)
            assert "tracestate" not in attributes
            assert FREE_TEXT not in str(message.headers) + message.data.decode()
            assert attributes.get("commandid", "") not in {
                "edge-bulk-after",
                "edge-date",
                "edge-date-bulk",
            }
