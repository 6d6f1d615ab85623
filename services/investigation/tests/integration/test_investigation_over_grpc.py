"""The investigation service as a police system meets it: a real process, gRPC over loopback,
a real nats-server.

What every command service promises alike (who may call, retries, refusals, the bulk stream) is
the shared suite's, tests/command_services, with this service's cases there."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from ketenzicht.investigation.v1 import investigation_pb2 as pb
from ketenzicht.investigation.v1.investigation_pb2_grpc import InvestigationServiceStub
from ketenzicht_common.client import connect
from ketenzicht_common.testing import TOKENS
from ketenzicht_common.testing.jetstream import attributes_of, payload_of, stream_messages
from ketenzicht_common.testing.service import (
    Running,
    published_ids,
    running_service,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with running_service(tmp_path_factory.mktemp("investigation"), "investigation") as service:
        yield service


@pytest.fixture
async def police(running: Running) -> AsyncIterator[InvestigationServiceStub]:
    async with connect(running.service.address, token=TOKENS["POLICE"]) as channel:
        yield InvestigationServiceStub(channel)


async def test_an_investigation_from_opening_to_close_lands_on_jetstream(
    running: Running, police: InvestigationServiceStub
) -> None:
    case = "case-int-001"
    acks = [
        await police.OpenInvestigation(
            pb.OpenInvestigationRequest(
                command_id="open-001",
                case_id=case,
                occurred_on="2022-02-01",
                police_registration_number="PL0100-2022-0001",
            )
        ),
        await police.IdentifySuspect(
            pb.IdentifySuspectRequest(
                case_id=case, suspect_id="suspect-a", occurred_on="2022-02-10"
            )
        ),
        await police.HearVictim(
            pb.HearVictimRequest(
                case_id=case,
                victim_id="victim-a",
                occurred_on="2022-02-12",
                with_police_psychologist=True,
            )
        ),
        await police.SuspendInvestigation(
            pb.CaseFactRequest(case_id=case, occurred_on="2022-03-01")
        ),
        await police.ResumeInvestigation(
            pb.CaseFactRequest(case_id=case, occurred_on="2022-04-01")
        ),
        await police.SubmitToProsecution(
            pb.SubmitToProsecutionRequest(case_id=case, occurred_on="2022-05-01")
        ),
        await police.CloseInvestigation(
            pb.CloseInvestigationRequest(
                case_id=case,
                occurred_on="2022-05-02",
                reason=pb.INVESTIGATION_CLOSE_REASON_SUBMITTED,
            )
        ),
    ]
    # One public event per command: the registration number's private event is not counted.
    assert [len(a.event_ids) for a in acks] == [1] * 7
    ids = [a.event_ids[0] for a in acks]
    messages = await published_ids(running, ids)
    subjects = [messages[i].subject for i in ids]
    assert subjects == [
        f"ketenzicht.investigation.{t}"
        for t in (
            "InvestigationOpened",
            "SuspectIdentified",
            "VictimHeard",
            "InvestigationSuspended",
            "InvestigationResumed",
            "CaseSubmittedToProsecution",
            "InvestigationClosed",
        )
    ]
    assert payload_of(messages[ids[2]]) == {
        "occurred_on": "2022-02-12",
        "case_id": case,
        "victim_id": "victim-a",
        "with_police_psychologist": True,
    }
    assert payload_of(messages[ids[5]])["suspect_ids"] == ["suspect-a"]
    assert payload_of(messages[ids[6]])["reason"] == "SUBMITTED"
    assert attributes_of(messages[ids[0]])["organisation"] == "politie"

    summary = await police.GetInvestigation(pb.GetInvestigationRequest(case_id=case))
    assert summary.status == pb.INVESTIGATION_STATUS_CLOSED
    assert summary.police_registration_number == "PL0100-2022-0001"
    assert list(summary.submitted_suspect_ids) == ["suspect-a"]
    assert summary.close_reason == pb.INVESTIGATION_CLOSE_REASON_SUBMITTED
    found = await police.FindInvestigation(
        pb.FindInvestigationRequest(police_registration_number="PL0100-2022-0001")
    )
    assert found.case_id == case


async def test_the_police_registration_number_never_goes_on_the_bus(
    running: Running, police: InvestigationServiceStub
) -> None:
    await police.OpenInvestigation(
        pb.OpenInvestigationRequest(
            case_id="case-int-private",
            occurred_on="2022-02-01",
            police_registration_number="PL0100-2022-7777",
        )
    )
    await police.DecideNoInvestigation(
        pb.CaseFactRequest(case_id="case-int-nothing", occurred_on="2022-02-01")
    )
    await asyncio.sleep(0.6)
    for message in await stream_messages(running.nats, running.stream):
        assert b"PL0100" not in message.data
        assert not any("PL0100" in k + v for k, v in (message.headers or {}).items())
        assert "Private" not in message.subject
        assert "Opened." not in message.subject


async def test_a_decision_not_to_investigate_without_a_report_in_view(
    police: InvestigationServiceStub,
) -> None:
    # Intake's report may still be in flight: the police's decision is accepted anyway.
    ack = await police.DecideNoInvestigation(
        pb.CaseFactRequest(case_id="case-int-none", occurred_on="2021-11-01")
    )
    assert len(ack.event_ids) == 1
    summary = await police.GetInvestigation(pb.GetInvestigationRequest(case_id="case-int-none"))
    assert summary.status == pb.INVESTIGATION_STATUS_NOT_INVESTIGATED
    assert summary.no_investigation_decided_on == "2021-11-01"
