"""Intake as a police system meets it: a real process, gRPC over loopback, a real nats-server.

What every command service promises alike (who may call, retries, refusals, health, the bulk
stream) is the shared suite's, tests/command_services, with intake's cases there."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import grpc
import pytest
from intake_cases import signal_request

from ketenzicht.common.v1 import common_pb2
from ketenzicht.intake.v1 import intake_pb2 as pb
from ketenzicht.intake.v1.intake_pb2_grpc import IntakeServiceStub
from ketenzicht_common.client import connect
from ketenzicht_common.processes import NatsServer
from ketenzicht_common.testing import TOKENS, case_pseudonym
from ketenzicht_common.testing.fixtures import ServiceFactory
from ketenzicht_common.testing.jetstream import (
    attributes_of,
    payload_of,
    stream_count,
    stream_messages,
)
from ketenzicht_common.testing.service import (
    Running,
    field_violations,
    published_ids,
    reason_of,
    rpc_error,
    running_service,
)

pytestmark = pytest.mark.integration

STREAM = "KETENZICHT_INTAKE"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with running_service(tmp_path_factory.mktemp("intake"), "intake") as started:
        yield started


@pytest.fixture
async def police(service: Running) -> AsyncIterator[IntakeServiceStub]:
    async with connect(service.service.address, token=TOKENS["POLICE"]) as channel:
        yield IntakeServiceStub(channel)


async def test_a_report_filed_over_grpc_arrives_on_jetstream(
    service: Running, police: IntakeServiceStub
) -> None:
    nats_server = service.nats
    # Counted before the signal: its relay may still be publishing when the report is filed.
    before = await stream_count(nats_server, STREAM)
    signal = await police.RegisterSignal(signal_request(command_id="signal-a"))
    ack = await police.FileReport(
        pb.FileReportRequest(
            command_id="report-a",
            victim_id=signal.victim_id,
            case_id=case_pseudonym("case-a"),
            occurred_on="2022-01-10",
            under_number=True,
        )
    )
    assert len(ack.event_ids) == 1
    assert not ack.replayed

    messages = await stream_messages(nats_server, STREAM, at_least=before + 2)
    (report,) = [m for m in messages if (m.headers or {}).get("Nats-Msg-Id") == ack.event_ids[0]]
    assert report.subject == "ketenzicht.intake.ReportFiled"
    # The envelope in the body (version 2): Nats-Msg-Id is the only header.
    attributes = attributes_of(report)
    assert attributes["type"] == "nl.ketenzicht.intake.ReportFiled"
    assert attributes["source"] == "/ketenzicht/intake"
    assert attributes["id"] == ack.event_ids[0]
    assert attributes["occurredon"] == "2022-01-10"
    assert attributes["schemaversion"] == 1
    assert attributes["ketenzichtenvelope"] == 2
    assert attributes["organisation"] == "politie"
    assert attributes["commandid"] == "report-a"
    # No capacity in the request: a victim's report.
    assert payload_of(report) == {
        "occurred_on": "2022-01-10",
        "victim_id": signal.victim_id,
        "case_id": case_pseudonym("case-a"),
        "under_number": True,
        "capacity": "VICTIM",
    }


async def test_the_police_can_read_back_what_intake_knows(police: IntakeServiceStub) -> None:
    signal = await police.RegisterSignal(signal_request(command_id="read-back"))
    await police.FileReport(
        pb.FileReportRequest(
            victim_id=signal.victim_id, case_id=case_pseudonym("case-r1"), occurred_on="2022-01-10"
        )
    )
    await police.DeclareCooperation(
        pb.DeclareCooperationRequest(
            victim_id=signal.victim_id, case_id=case_pseudonym("case-r2"), occurred_on="2022-02-10"
        )
    )
    summary = await police.GetVictim(pb.GetVictimRequest(victim_id=signal.victim_id))
    assert summary.first_signal_on == "2022-01-03"
    assert list(summary.reported_case_ids) == [case_pseudonym("case-r1")]
    assert list(summary.cooperating_case_ids) == [case_pseudonym("case-r2")]


async def test_a_witness_report_and_cooperation_carry_capacity_witness_to_the_stream(
    service: Running, police: IntakeServiceStub
) -> None:
    signal = await police.RegisterSignal(signal_request(command_id="signal-witness"))
    report = await police.FileReport(
        pb.FileReportRequest(
            command_id="report-witness",
            victim_id=signal.victim_id,
            case_id=case_pseudonym("case-witness-1"),
            occurred_on="2022-01-10",
            capacity=pb.REPORTING_CAPACITY_WITNESS,
        )
    )
    cooperation = await police.DeclareCooperation(
        pb.DeclareCooperationRequest(
            command_id="cooperation-witness",
            victim_id=signal.victim_id,
            case_id=case_pseudonym("case-witness-2"),
            occurred_on="2022-01-11",
            capacity=pb.REPORTING_CAPACITY_WITNESS,
        )
    )
    ids = [report.event_ids[0], cooperation.event_ids[0]]
    published = await published_ids(service, ids)
    assert published[ids[0]].subject == "ketenzicht.intake.ReportFiled"
    assert payload_of(published[ids[0]]) == {
        "occurred_on": "2022-01-10",
        "victim_id": signal.victim_id,
        "case_id": case_pseudonym("case-witness-1"),
        "under_number": False,
        "capacity": "WITNESS",
    }
    assert published[ids[1]].subject == "ketenzicht.intake.CooperationDeclared"
    assert payload_of(published[ids[1]]) == {
        "occurred_on": "2022-01-11",
        "victim_id": signal.victim_id,
        "case_id": case_pseudonym("case-witness-2"),
        "capacity": "WITNESS",
    }


async def test_cooperation_impossible_is_stored_and_published_unary_and_in_bulk(
    service: Running, police: IntakeServiceStub
) -> None:
    signal = await police.RegisterSignal(signal_request(command_id="signal-impossible"))
    unary = await police.RecordCooperationImpossible(
        pb.RecordCooperationImpossibleRequest(
            command_id="impossible-1",
            victim_id=signal.victim_id,
            occurred_on="2022-01-20",
            reason=pb.COOPERATION_IMPOSSIBLE_REASON_SERIOUS_THREAT,
        )
    )

    async def bulk():  # type: ignore[no-untyped-def]
        yield pb.IntakeCommand(
            record_cooperation_impossible=pb.RecordCooperationImpossibleRequest(
                command_id="impossible-2",
                victim_id=signal.victim_id,
                occurred_on="2022-01-21",
                reason=pb.COOPERATION_IMPOSSIBLE_REASON_PSYCHOLOGICAL,
            )
        )

    (result,) = [r async for r in police.Submit(bulk())]
    assert result.HasField("ack"), result
    ids = [unary.event_ids[0], result.ack.event_ids[0]]
    published = await published_ids(service, ids)
    assert {m.subject for m in published.values()} == {
        "ketenzicht.intake.CooperationImpossibleRecorded"
    }
    assert [payload_of(published[i]) for i in ids] == [
        {"occurred_on": "2022-01-20", "victim_id": signal.victim_id, "reason": "SERIOUS_THREAT"},
        {"occurred_on": "2022-01-21", "victim_id": signal.victim_id, "reason": "PSYCHOLOGICAL"},
    ]

    missing = await rpc_error(
        police.RecordCooperationImpossible(
            pb.RecordCooperationImpossibleRequest(
                victim_id=signal.victim_id, occurred_on="2022-01-22"
            )
        )
    )
    assert missing.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "reason" in field_violations(missing)


async def test_cooperation_impossible_may_be_recorded_by_the_roles_that_file_reports(
    service: Running,
) -> None:
    async with connect(service.service.address, token=TOKENS["KMAR"]) as channel:
        kmar = IntakeServiceStub(channel)
        signal = await kmar.RegisterSignal(signal_request(command_id="signal-kmar-impossible"))
        ack = await kmar.RecordCooperationImpossible(
            pb.RecordCooperationImpossibleRequest(
                victim_id=signal.victim_id,
                occurred_on="2022-01-20",
                reason=pb.COOPERATION_IMPOSSIBLE_REASON_MEDICAL,
            )
        )
        assert ack.event_ids
    stored = service.stored()
    for role in ("OM", "IND", "ANALYST"):
        async with connect(service.service.address, token=TOKENS[role]) as channel:
            error = await rpc_error(
                IntakeServiceStub(channel).RecordCooperationImpossible(
                    pb.RecordCooperationImpossibleRequest(
                        victim_id=signal.victim_id,
                        occurred_on="2022-01-21",
                        reason=pb.COOPERATION_IMPOSSIBLE_REASON_MEDICAL,
                    )
                )
            )
            assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert service.stored() == stored


async def test_an_offer_the_signal_does_not_allow_is_refused_and_stores_nothing(
    service: Running, police: IntakeServiceStub
) -> None:
    dublin = await police.RegisterSignal(
        signal_request(
            command_id="signal-r4-dublin",
            occurred_on="2023-05-01",
            residence_position=pb.RESIDENCE_POSITION_DUBLIN_CLAIMANT,
        )
    )
    dutch = await police.RegisterSignal(
        signal_request(
            command_id="signal-r4-dutch",
            nationality_group=pb.NATIONALITY_GROUP_DUTCH,
            residence_position=pb.RESIDENCE_POSITION_LAWFUL,
        )
    )
    eu = await police.RegisterSignal(
        signal_request(
            command_id="signal-r4-eu",
            nationality_group=pb.NATIONALITY_GROUP_OTHER_EU,
            residence_position=pb.RESIDENCE_POSITION_LAWFUL,
        )
    )
    witness = await police.RegisterSignal(signal_request(command_id="signal-r4-witness"))
    await police.FileReport(
        pb.FileReportRequest(
            victim_id=witness.victim_id,
            case_id=case_pseudonym("case-r4-witness"),
            occurred_on="2022-01-05",
            capacity=pb.REPORTING_CAPACITY_WITNESS,
        )
    )
    await asyncio.sleep(0.5)
    stored, published = service.stored(), await service.published()

    refused = [
        (dublin.victim_id, "2023-05-17", "Dublin claimant"),
        (dutch.victim_id, "2024-01-10", "Dutch"),
        (eu.victim_id, "2024-01-10", "EU law"),
        (witness.victim_id, "2022-01-06", "witness"),
    ]
    for victim_id, day, why in refused:
        error = await rpc_error(
            police.OfferReflectionPeriod(
                pb.VictimFactRequest(
                    command_id=f"offer-r4-{victim_id}", victim_id=victim_id, occurred_on=day
                )
            )
        )
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, error.details()
        assert reason_of(error) == "REFLECTION_NOT_ALLOWED"
        assert why in (error.details() or "")
    await asyncio.sleep(0.5)
    assert service.stored() == stored
    assert await service.published() == published

    # The first day the rules allow it, the same offer is stored (under a new command id:
    # the refusal recorded nothing, not even the command id).
    ack = await police.OfferReflectionPeriod(
        pb.VictimFactRequest(
            command_id=f"offer-r4-{dublin.victim_id}",
            victim_id=dublin.victim_id,
            occurred_on="2023-05-18",
        )
    )
    assert not ack.replayed
    (offered,) = (await published_ids(service, list(ack.event_ids))).values()
    assert offered.subject == "ketenzicht.intake.ReflectionPeriodOffered"


async def test_the_lawful_residents_date_is_read_from_the_environment(
    nats_server: NatsServer, service_factory: ServiceFactory
) -> None:
    intake = service_factory(
        "intake",
        nats_server,
        env={"KETENZICHT_INTAKE_REFLECTION_FOR_LAWFUL_RESIDENTS_FROM": "2022-10-20"},
    )
    async with connect(intake.address, token=TOKENS["POLICE"]) as channel:
        police = IntakeServiceStub(channel)
        lawful = await police.RegisterSignal(
            signal_request(residence_position=pb.RESIDENCE_POSITION_LAWFUL)
        )
        error = await rpc_error(
            police.OfferReflectionPeriod(
                pb.VictimFactRequest(victim_id=lawful.victim_id, occurred_on="2022-10-19")
            )
        )
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "2022-10-20" in (error.details() or "")
        ack = await police.OfferReflectionPeriod(
            pb.VictimFactRequest(victim_id=lawful.victim_id, occurred_on="2022-10-20")
        )
        assert ack.event_ids


async def test_a_report_is_amended_in_bulk_in_what_a_report_has_and_refused_in_what_it_lacks(
    service: Running, police: IntakeServiceStub
) -> None:
    signal = await police.RegisterSignal(signal_request(command_id="signal-amend-report"))
    (report_id,) = (
        await police.FileReport(
            pb.FileReportRequest(
                command_id="report-to-amend",
                victim_id=signal.victim_id,
                case_id=case_pseudonym("case-amend"),
                occurred_on="2022-01-10",
            )
        )
    ).event_ids

    def amendment(command_id: str, **amended: object) -> pb.IntakeCommand:
        return pb.IntakeCommand(
            amend_fact=pb.AmendFactRequest(
                command_id=command_id,
                victim_id=signal.victim_id,
                occurred_on="2022-06-01",
                corrected_event_id=report_id,
                reason=common_pb2.CORRECTION_REASON_WRONG_CATEGORY,
                amended=pb.IntakeAmendedFields(**amended),  # type: ignore[arg-type]
            )
        )

    async def bulk():  # type: ignore[no-untyped-def]
        yield amendment("amend-report-1", under_number=True)

    (result,) = [r async for r in police.Submit(bulk())]
    assert result.HasField("ack"), result
    (amended_id,) = result.ack.event_ids
    published = await published_ids(service, [amended_id])
    body = payload_of(published[amended_id])
    assert published[amended_id].subject == "ketenzicht.intake.FactAmended"
    assert (body["original_event_id"], body["corrected_event_type"]) == (report_id, "ReportFiled")
    assert body["fact_occurred_on"] == "2022-01-10"
    # Every amendable field, in its new form; those a report does not have are null.
    assert {k: v for k, v in body["amended"].items() if v is not None} == {"under_number": True}

    # A report has no exploitation form: that is the signal's.
    refused = await rpc_error(
        police.AmendFact(
            amendment("amend-report-2", form=common_pb2.EXPLOITATION_FORM_LABOUR).amend_fact
        )
    )
    assert refused.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(refused) == "FIELD_NOT_IN_FACT"
