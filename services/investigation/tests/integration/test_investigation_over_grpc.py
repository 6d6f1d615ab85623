"""The investigation service as a police system meets it: a real process, gRPC over loopback,
a real nats-server.

What every command service promises alike (who may call, retries, refusals, the bulk stream) is
the shared suite's, tests/command_services, with this service's cases there."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator

import grpc
import pytest

from ketenzicht.investigation.v1 import investigation_pb2 as pb
from ketenzicht.investigation.v1.investigation_pb2_grpc import InvestigationServiceStub
from ketenzicht_common.client import connect
from ketenzicht_common.testing import TOKENS
from ketenzicht_common.testing.jetstream import attributes_of, payload_of, stream_messages
from ketenzicht_common.testing.service import (
    Running,
    field_violations,
    published_ids,
    reason_of,
    rpc_error,
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


@pytest.fixture
async def kmar(running: Running) -> AsyncIterator[InvestigationServiceStub]:
    async with connect(running.service.address, token=TOKENS["KMAR"]) as channel:
        yield InvestigationServiceStub(channel)


async def open_case(stub: InvestigationServiceStub, number: str, command_id: str = "") -> str:
    opened = await stub.OpenCase(
        pb.OpenCaseRequest(
            command_id=command_id, occurred_on="2022-01-20", police_registration_number=number
        )
    )
    assert list(opened.ack.event_ids) == []  # a registration publishes nothing
    return str(opened.case_id)


async def test_an_investigation_from_opening_to_close_lands_on_jetstream(
    running: Running, police: InvestigationServiceStub
) -> None:
    case = await open_case(police, "PL0100-2022-0001", command_id="open-case-001")
    opened = await police.OpenInvestigation(
        pb.OpenInvestigationRequest(command_id="open-001", case_id=case, occurred_on="2022-02-01")
    )
    # A suspect new to the chain: ketenzicht issues the pseudonym, a retry answers the same.
    identify = pb.IdentifySuspectRequest(
        command_id="identify-001", case_id=case, occurred_on="2022-02-10"
    )
    identified = await police.IdentifySuspect(identify)
    suspect = identified.suspect_id
    assert re.fullmatch(r"S-[0-9a-f]{20}", suspect)
    retried = await police.IdentifySuspect(identify)
    assert (retried.suspect_id, retried.ack.replayed) == (suspect, True)
    acks = [
        opened,
        identified.ack,
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
    assert payload_of(messages[ids[1]])["suspect_id"] == suspect
    assert payload_of(messages[ids[5]])["suspect_ids"] == [suspect]
    assert payload_of(messages[ids[6]])["reason"] == "SUBMITTED"
    assert attributes_of(messages[ids[0]])["organisation"] == "politie"

    summary = await police.GetInvestigation(pb.GetInvestigationRequest(case_id=case))
    assert summary.status == pb.INVESTIGATION_STATUS_CLOSED
    assert summary.police_registration_number == "PL0100-2022-0001"
    assert list(summary.submitted_suspect_ids) == [suspect]
    assert summary.close_reason == pb.INVESTIGATION_CLOSE_REASON_SUBMITTED
    found = await police.FindInvestigation(
        pb.FindInvestigationRequest(police_registration_number="PL0100-2022-0001")
    )
    assert found.case_id == case


async def test_ketenzicht_issues_the_case_pseudonym_and_the_same_number_finds_it_again(
    police: InvestigationServiceStub,
) -> None:
    case = await open_case(police, "PL0100-2022-0100", command_id="issue-1")
    assert re.fullmatch(r"C-[0-9a-f]{20}", case)
    assert "0100" not in case
    # The same number again, under another command id or none: the same pseudonym.
    assert await open_case(police, "PL0100-2022-0100", command_id="issue-2") == case
    assert await open_case(police, "PL0100-2022-0100") == case
    # A retry of the first command is answered from the command log.
    again = await police.OpenCase(
        pb.OpenCaseRequest(
            command_id="issue-1",
            occurred_on="2022-01-20",
            police_registration_number="PL0100-2022-0100",
        )
    )
    assert (again.case_id, again.ack.replayed) == (case, True)
    # Another number: another pseudonym, not derived from the number.
    other = await open_case(police, "PL0100-2022-0101")
    assert other != case
    assert other[2:12] != case[2:12]


async def test_only_the_organisation_that_registered_a_number_may_look_it_up(
    police: InvestigationServiceStub, kmar: InvestigationServiceStub
) -> None:
    case = await open_case(police, "PL0100-2022-0200")
    found = await police.FindInvestigation(
        pb.FindInvestigationRequest(police_registration_number="PL0100-2022-0200")
    )
    assert (found.case_id, found.police_registration_number) == (case, "PL0100-2022-0200")
    for call in (
        kmar.FindInvestigation(
            pb.FindInvestigationRequest(police_registration_number="PL0100-2022-0200")
        ),
        kmar.OpenCase(
            pb.OpenCaseRequest(
                occurred_on="2022-01-20", police_registration_number="PL0100-2022-0200"
            )
        ),
    ):
        error = await rpc_error(call)
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "PL0100" not in (error.details() or "")
    # KMar works on the case by its pseudonym, but is not told the police's number.
    seen = await kmar.GetInvestigation(pb.GetInvestigationRequest(case_id=case))
    assert (seen.case_id, seen.police_registration_number) == (case, "")


async def test_a_case_id_ketenzicht_did_not_issue_is_refused(
    running: Running, police: InvestigationServiceStub
) -> None:
    stored = running.stored()
    not_issued = await rpc_error(
        police.OpenInvestigation(
            pb.OpenInvestigationRequest(case_id="C-0123456789abcdef0123", occurred_on="2022-02-01")
        )
    )
    assert not_issued.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(not_issued) == "CASE_NOT_REGISTERED"
    for case_id in ("PL0100-2022-0300", "case-int-old", "C-0123"):
        shaped = await rpc_error(
            police.DecideNoInvestigation(
                pb.CaseFactRequest(case_id=case_id, occurred_on="2022-02-01")
            )
        )
        assert shaped.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field_violations(shaped) == {"case_id"}
        assert "case pseudonym" in (shaped.details() or "")
        assert case_id not in (shaped.details() or "")
    assert running.stored() == stored


async def test_the_police_registration_number_never_goes_on_the_bus(
    running: Running, police: InvestigationServiceStub
) -> None:
    private = await open_case(police, "PL0100-2022-7777")
    await police.OpenInvestigation(
        pb.OpenInvestigationRequest(case_id=private, occurred_on="2022-02-01")
    )
    nothing = await open_case(police, "PL0100-2022-7778")
    await police.DecideNoInvestigation(
        pb.CaseFactRequest(case_id=nothing, occurred_on="2022-02-01")
    )
    await asyncio.sleep(0.6)
    messages = await stream_messages(running.nats, running.stream)
    assert any(payload_of(m).get("case_id") == private for m in messages)
    for message in messages:
        assert b"PL0100" not in message.data
        assert not any("PL0100" in k + v for k, v in (message.headers or {}).items())
        assert "Private" not in message.subject
        assert "Opened." not in message.subject


async def test_a_decision_not_to_investigate_without_a_report_in_view(
    police: InvestigationServiceStub,
) -> None:
    # Intake's report may still be in flight: the police's decision is accepted anyway.
    case = await open_case(police, "PL0100-2021-0001")
    ack = await police.DecideNoInvestigation(
        pb.CaseFactRequest(case_id=case, occurred_on="2021-11-01")
    )
    assert len(ack.event_ids) == 1
    summary = await police.GetInvestigation(pb.GetInvestigationRequest(case_id=case))
    assert summary.status == pb.INVESTIGATION_STATUS_NOT_INVESTIGATED
    assert summary.no_investigation_decided_on == "2021-11-01"


async def test_a_suspect_id_the_police_chose_is_refused_without_repeating_it(
    running: Running, police: InvestigationServiceStub
) -> None:
    case = await open_case(police, "PL0100-2022-0300")
    await police.OpenInvestigation(
        pb.OpenInvestigationRequest(case_id=case, occurred_on="2022-02-01")
    )
    for suspect_id in ("suspect-chosen", "PLPERS-0012345"):
        for call in (
            police.IdentifySuspect(
                pb.IdentifySuspectRequest(
                    case_id=case, suspect_id=suspect_id, occurred_on="2022-02-10"
                )
            ),
            police.SubmitToProsecution(
                pb.SubmitToProsecutionRequest(
                    case_id=case, occurred_on="2022-02-11", suspect_ids=[suspect_id]
                )
            ),
        ):
            error = await rpc_error(call)
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert suspect_id not in (error.details() or "")
    summary = await police.GetInvestigation(pb.GetInvestigationRequest(case_id=case))
    assert list(summary.suspect_ids) == []
