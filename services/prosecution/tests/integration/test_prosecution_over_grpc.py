"""The prosecution service as an OM system meets it: a real process, gRPC over loopback, a real
nats-server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import grpc
import pytest

from ketenzicht.prosecution.v1 import prosecution_pb2 as pb
from ketenzicht.prosecution.v1.prosecution_pb2_grpc import ProsecutionServiceStub
from ketenzicht_common.client import connect
from ketenzicht_common.testing import TOKENS
from ketenzicht_common.testing.service import (
    Running,
    published_ids,
    reason_of,
    rpc_error,
    running_service,
)

pytestmark = pytest.mark.integration

FIRST, APPEAL = pb.COURT_INSTANCE_FIRST_INSTANCE, pb.COURT_INSTANCE_APPEAL


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with running_service(tmp_path_factory.mktemp("prosecution"), "prosecution") as service:
        yield service


@pytest.fixture
async def om(running: Running) -> AsyncIterator[ProsecutionServiceStub]:
    async with connect(running.service.address, token=TOKENS["OM"]) as channel:
        yield ProsecutionServiceStub(channel)


def fact(case: str, suspect: str, on: str) -> pb.SuspectFactRequest:
    return pb.SuspectFactRequest(case_id=case, suspect_id=suspect, occurred_on=on)


async def test_proceedings_from_registration_to_final_land_on_jetstream(
        running: Running, om: ProsecutionServiceStub) -> None:
    c, s = "case-om-001", "suspect-om-a"
    acks = [
        await om.RegisterCase(pb.RegisterCaseRequest(
            command_id="register-om-001", case_id=c, suspect_id=s, occurred_on="2022-06-01",
            parketnummer="08/123456-22")),
        await om.HoldExaminingMagistrateHearing(pb.VictimFactRequest(
            case_id=c, victim_id="victim-om-a", occurred_on="2022-07-01")),
        await om.AssessPresence(pb.AssessPresenceRequest(
            case_id=c, victim_id="victim-om-a", occurred_on="2022-07-02",
            presence=pb.PRESENCE_NOT_NECESSARY)),
        await om.SummonSuspect(fact(c, s, "2022-09-01")),
        await om.HoldCourtHearing(pb.CourtHearingRequest(
            case_id=c, suspect_id=s, occurred_on="2023-02-01", instance=FIRST)),
        await om.DeliverVerdict(pb.VerdictRequest(
            case_id=c, suspect_id=s, occurred_on="2023-02-15", instance=FIRST,
            outcome=pb.VERDICT_OUTCOME_CONVICTION_TRAFFICKING)),
        await om.LodgeAppeal(fact(c, s, "2023-02-27")),
        await om.HoldCourtHearing(pb.CourtHearingRequest(
            case_id=c, suspect_id=s, occurred_on="2023-10-01", instance=APPEAL)),
        await om.DeliverVerdict(pb.VerdictRequest(
            case_id=c, suspect_id=s, occurred_on="2023-10-15", instance=APPEAL,
            outcome=pb.VERDICT_OUTCOME_CONVICTION_OTHER_OFFENCE_TRAFFICKING_CHARGED)),
        await om.MarkCaseFinal(fact(c, s, "2023-10-30")),
    ]
    assert [len(a.event_ids) for a in acks] == [1] * 10
    ids = [a.event_ids[0] for a in acks]
    messages = await published_ids(running, ids)
    assert [messages[i].subject.rsplit(".", 1)[1] for i in ids] == [
        "CaseRegistered", "ExaminingMagistrateHearingHeld", "PresenceAssessed",
        "SuspectSummoned", "CourtHearingHeld", "VerdictDelivered", "AppealLodged",
        "CourtHearingHeld", "VerdictDelivered", "CaseFinal"]
    assert all(messages[i].subject.startswith("ketenzicht.prosecution.") for i in ids)
    assert json.loads(messages[ids[0]].data) == {"occurred_on": "2022-06-01", "case_id": c,
                                                 "suspect_id": s}
    assert json.loads(messages[ids[2]].data)["presence_necessary"] is False
    assert json.loads(messages[ids[8]].data)["outcome"] == \
        "CONVICTION_OTHER_OFFENCE_TRAFFICKING_CHARGED"
    for message in messages.values():
        assert b"123456" not in message.data

    summary = await om.GetProsecution(pb.GetProsecutionRequest(case_id=c, suspect_id=s))
    assert summary.parketnummer == "08/123456-22"
    assert summary.decision == pb.PROSECUTION_DECISION_SUMMONED
    assert [v.instance for v in summary.verdicts] == [FIRST, APPEAL]
    assert summary.final_on == "2023-10-30"
    found = await om.FindProsecution(pb.FindProsecutionRequest(parketnummer="08/123456-22"))
    assert (found.case_id, found.suspect_id) == (c, s)
    case = await om.GetProsecutionCase(pb.GetProsecutionCaseRequest(case_id=c))
    assert list(case.suspect_ids) == [s]
    assert list(case.heard_victim_ids) == ["victim-om-a"]
    assert case.presence_assessments[0].victim_id == "victim-om-a"


async def test_dismissal_other_disposal_and_reopening(om: ProsecutionServiceStub) -> None:
    c = "case-om-002"
    for suspect in ("suspect-om-b", "suspect-om-c"):
        await om.RegisterCase(pb.RegisterCaseRequest(case_id=c, suspect_id=suspect,
                                                     occurred_on="2022-06-01"))
    dismissed = await om.DismissCase(pb.DismissCaseRequest(
        case_id=c, suspect_id="suspect-om-b", occurred_on="2022-08-01",
        kind=pb.DISMISSAL_KIND_POLICY, code="50"))
    assert len(dismissed.event_ids) == 1
    await om.ReopenCase(fact(c, "suspect-om-b", "2023-01-10"))
    await om.SummonSuspect(fact(c, "suspect-om-b", "2023-02-01"))
    await om.DecideOtherDisposal(pb.OtherDisposalRequest(
        case_id=c, suspect_id="suspect-om-c", occurred_on="2022-09-01",
        kind=pb.OTHER_DISPOSAL_KIND_TRANSACTION))
    b = await om.GetProsecution(pb.GetProsecutionRequest(case_id=c, suspect_id="suspect-om-b"))
    assert (b.decision, b.reopenings, b.summoned_on) == (pb.PROSECUTION_DECISION_SUMMONED, 1,
                                                         "2023-02-01")
    other = await om.GetProsecution(pb.GetProsecutionRequest(case_id=c,
                                                             suspect_id="suspect-om-c"))
    assert other.other_disposal_kind == pb.OTHER_DISPOSAL_KIND_TRANSACTION
    case = await om.GetProsecutionCase(pb.GetProsecutionCaseRequest(case_id=c))
    assert list(case.suspect_ids) == ["suspect-om-b", "suspect-om-c"]


async def test_every_lifecycle_refusal_names_its_reason_and_changes_nothing(
        running: Running, om: ProsecutionServiceStub) -> None:
    c = "case-om-refusals"
    s, d, f = "suspect-om-summoned", "suspect-om-dismissed", "suspect-om-final"
    for suspect in (s, d, f):
        await om.RegisterCase(pb.RegisterCaseRequest(case_id=c, suspect_id=suspect,
                                                     occurred_on="2022-06-01"))
    await om.RegisterCase(pb.RegisterCaseRequest(case_id="case-om-number", suspect_id=s,
                                                 occurred_on="2022-06-01",
                                                 parketnummer="08/654321-22"))
    await om.SummonSuspect(fact(c, s, "2022-09-01"))
    await om.DismissCase(pb.DismissCaseRequest(case_id=c, suspect_id=d, occurred_on="2022-08-01",
                                               kind=pb.DISMISSAL_KIND_TECHNICAL, code="02"))
    await om.SummonSuspect(fact(c, f, "2022-09-01"))
    await om.DeliverVerdict(pb.VerdictRequest(case_id=c, suspect_id=f, occurred_on="2023-01-10",
                                              instance=FIRST,
                                              outcome=pb.VERDICT_OUTCOME_ACQUITTAL))
    await om.MarkCaseFinal(fact(c, f, "2023-01-30"))
    await om.AssessPresence(pb.AssessPresenceRequest(case_id=c, victim_id="victim-om-r",
                                                     occurred_on="2022-07-01",
                                                     presence=pb.PRESENCE_NECESSARY))
    await asyncio.sleep(0.6)
    stored, published = running.stored(), await running.published()

    fail = grpc.StatusCode.FAILED_PRECONDITION
    cases: list[tuple[Any, grpc.StatusCode, str]] = [
        (om.DeliverVerdict(pb.VerdictRequest(case_id=c, suspect_id=d, occurred_on="2023-01-10",
                                             instance=FIRST,
                                             outcome=pb.VERDICT_OUTCOME_ACQUITTAL)),
         fail, "NOT_SUMMONED"),
        (om.DeliverVerdict(pb.VerdictRequest(case_id=c, suspect_id=s, occurred_on="2022-08-31",
                                             instance=FIRST,
                                             outcome=pb.VERDICT_OUTCOME_ACQUITTAL)),
         fail, "DATE_BEFORE_SUMMONS"),
        (om.LodgeAppeal(fact(c, s, "2023-01-01")), fail, "NO_FIRST_INSTANCE_VERDICT"),
        (om.DeliverVerdict(pb.VerdictRequest(case_id=c, suspect_id=s, occurred_on="2023-06-01",
                                             instance=APPEAL,
                                             outcome=pb.VERDICT_OUTCOME_ACQUITTAL)),
         fail, "NO_FIRST_INSTANCE_VERDICT"),
        (om.LodgeAppeal(fact(c, f, "2023-02-01")), fail, "CASE_FINAL"),
        (om.HoldCourtHearing(pb.CourtHearingRequest(case_id=c, suspect_id=f,
                                                    occurred_on="2023-03-01", instance=FIRST)),
         fail, "CASE_FINAL"),
        (om.DismissCase(pb.DismissCaseRequest(case_id=c, suspect_id=s, occurred_on="2022-10-01",
                                              kind=pb.DISMISSAL_KIND_POLICY, code="50")),
         fail, "SUSPECT_SUMMONED"),
        (om.SummonSuspect(fact(c, d, "2022-09-01")), fail, "CASE_DISMISSED"),
        (om.ReopenCase(fact(c, d, "2022-07-01")), fail, "DATE_BEFORE_DECISION"),
        (om.MarkCaseFinal(fact(c, s, "2023-01-01")), fail, "NO_VERDICT"),
        (om.SummonSuspect(fact(c, "suspect-om-unknown", "2022-09-01")),
         fail, "CASE_NOT_REGISTERED"),
        (om.SummonSuspect(fact(c, d, "2022-05-01")), fail, "DATE_BEFORE_REGISTRATION"),
        (om.RegisterCase(pb.RegisterCaseRequest(case_id="case-om-other", suspect_id=s,
                                                occurred_on="2022-06-01",
                                                parketnummer="08/654321-22")),
         fail, "PARKETNUMMER_IN_USE"),
        (om.RegisterCase(pb.RegisterCaseRequest(case_id=c, suspect_id=s,
                                                occurred_on="2022-06-01")),
         grpc.StatusCode.ALREADY_EXISTS, ""),
        (om.AssessPresence(pb.AssessPresenceRequest(case_id=c, victim_id="victim-om-r",
                                                    occurred_on="2022-07-02",
                                                    presence=pb.PRESENCE_NOT_NECESSARY)),
         grpc.StatusCode.ALREADY_EXISTS, ""),
        (om.RegisterCase(pb.RegisterCaseRequest(case_id=c, suspect_id="suspect-om-x",
                                                occurred_on="2022-06-01",
                                                parketnummer="8/1234-22")),
         grpc.StatusCode.INVALID_ARGUMENT, ""),
        (om.DismissCase(pb.DismissCaseRequest(case_id=c, suspect_id=s, occurred_on="2022-10-01",
                                              kind=pb.DISMISSAL_KIND_POLICY, code="5")),
         grpc.StatusCode.INVALID_ARGUMENT, ""),
        (om.AssessPresence(pb.AssessPresenceRequest(case_id=c, victim_id="victim-om-q",
                                                    occurred_on="2022-07-02")),
         grpc.StatusCode.INVALID_ARGUMENT, ""),
        (om.FindProsecution(pb.FindProsecutionRequest(parketnummer="99/999999-99")),
         grpc.StatusCode.NOT_FOUND, ""),
    ]
    for call, code, reason in cases:
        error = await rpc_error(call)
        assert (error.code(), reason_of(error)) == (code, reason), error.details()
        assert "654321" not in (error.details() or "")

    await asyncio.sleep(0.6)
    assert running.stored() == stored
    assert await running.published() == published


async def test_only_the_om_may_call(running: Running) -> None:
    request = pb.RegisterCaseRequest(case_id="case-om-auth", suspect_id="suspect-om-auth",
                                     occurred_on="2022-06-01")
    for token, code in [(None, grpc.StatusCode.UNAUTHENTICATED),
                        (TOKENS["POLICE"], grpc.StatusCode.PERMISSION_DENIED),
                        (TOKENS["IND"], grpc.StatusCode.PERMISSION_DENIED)]:
        async with connect(running.service.address, token=token) as channel:
            error = await rpc_error(ProsecutionServiceStub(channel).RegisterCase(request))
            assert error.code() == code
