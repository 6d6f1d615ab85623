"""The prosecution service as an OM system meets it: a real process, gRPC over loopback, a real
nats-server.

What every command service promises alike (who may call, retries, refusals, the bulk stream) is
the shared suite's, tests/command_services, with this service's cases there."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import grpc
import pytest

from ketenzicht.prosecution.v1 import prosecution_pb2 as pb
from ketenzicht.prosecution.v1.prosecution_pb2_grpc import ProsecutionServiceStub
from ketenzicht_common.client import connect
from ketenzicht_common.testing import TOKENS, case_pseudonym, suspect_pseudonym
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
    running: Running, om: ProsecutionServiceStub
) -> None:
    c, s = case_pseudonym("case-om-001"), suspect_pseudonym("suspect-om-a")
    registered = await om.RegisterCase(
        pb.RegisterCaseRequest(
            command_id="register-om-001",
            case_id=c,
            suspect_id=s,
            occurred_on="2022-06-01",
            parketnummer="08/123456-22",
        )
    )
    assert registered.suspect_id == s  # the pseudonym the police's submission named
    acks = [
        registered.ack,
        await om.HoldExaminingMagistrateHearing(
            pb.VictimFactRequest(case_id=c, victim_id="victim-om-a", occurred_on="2022-07-01")
        ),
        await om.AssessPresence(
            pb.AssessPresenceRequest(
                case_id=c,
                victim_id="victim-om-a",
                occurred_on="2022-07-02",
                presence=pb.PRESENCE_NOT_NECESSARY,
            )
        ),
        await om.SummonSuspect(fact(c, s, "2022-09-01")),
        await om.HoldCourtHearing(
            pb.CourtHearingRequest(
                case_id=c, suspect_id=s, occurred_on="2023-02-01", instance=FIRST
            )
        ),
        await om.DeliverVerdict(
            pb.VerdictRequest(
                case_id=c,
                suspect_id=s,
                occurred_on="2023-02-15",
                instance=FIRST,
                outcome=pb.VERDICT_OUTCOME_CONVICTION_TRAFFICKING,
            )
        ),
        await om.LodgeAppeal(fact(c, s, "2023-02-27")),
        await om.HoldCourtHearing(
            pb.CourtHearingRequest(
                case_id=c, suspect_id=s, occurred_on="2023-10-01", instance=APPEAL
            )
        ),
        await om.DeliverVerdict(
            pb.VerdictRequest(
                case_id=c,
                suspect_id=s,
                occurred_on="2023-10-15",
                instance=APPEAL,
                outcome=pb.VERDICT_OUTCOME_CONVICTION_OTHER_OFFENCE_TRAFFICKING_CHARGED,
            )
        ),
        await om.MarkCaseFinal(fact(c, s, "2023-10-30")),
    ]
    assert [len(a.event_ids) for a in acks] == [1] * 10
    ids = [a.event_ids[0] for a in acks]
    messages = await published_ids(running, ids)
    assert [messages[i].subject.rsplit(".", 1)[1] for i in ids] == [
        "CaseRegistered",
        "ExaminingMagistrateHearingHeld",
        "PresenceAssessed",
        "SuspectSummoned",
        "CourtHearingHeld",
        "VerdictDelivered",
        "AppealLodged",
        "CourtHearingHeld",
        "VerdictDelivered",
        "CaseFinal",
    ]
    assert all(messages[i].subject.startswith("ketenzicht.prosecution.") for i in ids)
    assert payload_of(messages[ids[0]]) == {
        "occurred_on": "2022-06-01",
        "case_id": c,
        "suspect_id": s,
    }
    assert payload_of(messages[ids[2]])["presence_necessary"] is False
    assert payload_of(messages[ids[8]])["outcome"] == "CONVICTION_OTHER_OFFENCE_TRAFFICKING_CHARGED"
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
    c = case_pseudonym("case-om-002")
    for suspect in (suspect_pseudonym("suspect-om-b"), suspect_pseudonym("suspect-om-c")):
        await om.RegisterCase(
            pb.RegisterCaseRequest(case_id=c, suspect_id=suspect, occurred_on="2022-06-01")
        )
    dismissed = await om.DismissCase(
        pb.DismissCaseRequest(
            case_id=c,
            suspect_id=suspect_pseudonym("suspect-om-b"),
            occurred_on="2022-08-01",
            kind=pb.DISMISSAL_KIND_POLICY,
            code="50",
        )
    )
    assert len(dismissed.event_ids) == 1
    await om.ReopenCase(fact(c, suspect_pseudonym("suspect-om-b"), "2023-01-10"))
    await om.SummonSuspect(fact(c, suspect_pseudonym("suspect-om-b"), "2023-02-01"))
    await om.DecideOtherDisposal(
        pb.OtherDisposalRequest(
            case_id=c,
            suspect_id=suspect_pseudonym("suspect-om-c"),
            occurred_on="2022-09-01",
            kind=pb.OTHER_DISPOSAL_KIND_TRANSACTION,
        )
    )
    b = await om.GetProsecution(
        pb.GetProsecutionRequest(case_id=c, suspect_id=suspect_pseudonym("suspect-om-b"))
    )
    assert (b.decision, b.reopenings, b.summoned_on) == (
        pb.PROSECUTION_DECISION_SUMMONED,
        1,
        "2023-02-01",
    )
    other = await om.GetProsecution(
        pb.GetProsecutionRequest(case_id=c, suspect_id=suspect_pseudonym("suspect-om-c"))
    )
    assert other.other_disposal_kind == pb.OTHER_DISPOSAL_KIND_TRANSACTION
    case = await om.GetProsecutionCase(pb.GetProsecutionCaseRequest(case_id=c))
    assert list(case.suspect_ids) == sorted(
        [
            suspect_pseudonym("suspect-om-b"),
            suspect_pseudonym("suspect-om-c"),
        ]
    )


async def test_a_fact_of_the_case_is_corrected_without_a_suspect_and_a_dismissal_in_its_kind(
    running: Running, om: ProsecutionServiceStub
) -> None:
    # The shared suite corrects a verdict (proceedings against a suspect); here the other
    # holder, the case as a whole, and the dismissal's two categories.
    c, s, v = (
        case_pseudonym("case-om-corrected"),
        suspect_pseudonym("suspect-om-corrected"),
        "victim-om-corrected",
    )
    assessed = await om.AssessPresence(
        pb.AssessPresenceRequest(
            case_id=c, victim_id=v, occurred_on="2022-07-02", presence=pb.PRESENCE_NECESSARY
        )
    )
    (assessed_id,) = assessed.event_ids
    # Named with a suspect, the case's fact is not found: it is no fact of those proceedings.
    await om.RegisterCase(pb.RegisterCaseRequest(case_id=c, suspect_id=s, occurred_on="2022-06-01"))
    misplaced = await rpc_error(
        om.AmendFact(
            pb.AmendFactRequest(
                case_id=c,
                suspect_id=s,
                occurred_on="2022-08-01",
                corrected_event_id=assessed_id,
                reason=6,  # WRONG_CATEGORY
                amended=pb.ProsecutionAmendedFields(presence_necessary=False),
            )
        )
    )
    assert misplaced.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(misplaced) == "FACT_NOT_FOUND"
    amended = await om.AmendFact(
        pb.AmendFactRequest(
            case_id=c,
            occurred_on="2022-08-01",
            corrected_event_id=assessed_id,
            reason=6,  # WRONG_CATEGORY
            amended=pb.ProsecutionAmendedFields(presence_necessary=False),
        )
    )
    dismissed = await om.DismissCase(
        pb.DismissCaseRequest(
            case_id=c,
            suspect_id=s,
            occurred_on="2022-09-01",
            kind=pb.DISMISSAL_KIND_TECHNICAL,
            code="01",
        )
    )
    (dismissed_id,) = dismissed.event_ids
    recategorised = await om.AmendFact(
        pb.AmendFactRequest(
            case_id=c,
            suspect_id=s,
            occurred_on="2022-10-01",
            corrected_event_id=dismissed_id,
            reason=6,  # WRONG_CATEGORY
            amended=pb.ProsecutionAmendedFields(kind=pb.DISMISSAL_KIND_POLICY, code="50"),
        )
    )
    # A category the fact does not have.
    alien = await rpc_error(
        om.AmendFact(
            pb.AmendFactRequest(
                case_id=c,
                suspect_id=s,
                occurred_on="2022-10-01",
                corrected_event_id=dismissed_id,
                reason=6,  # WRONG_CATEGORY
                amended=pb.ProsecutionAmendedFields(outcome=pb.VERDICT_OUTCOME_ACQUITTAL),
            )
        )
    )
    assert alien.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(alien) == "FIELD_NOT_IN_FACT"
    annulled = await om.AnnulFact(
        pb.AnnulFactRequest(
            case_id=c,
            occurred_on="2022-11-01",
            corrected_event_id=assessed_id,
            reason=1,  # REGISTERED_IN_ERROR
        )
    )

    ids = [*amended.event_ids, *recategorised.event_ids, *annulled.event_ids]
    found = await published_ids(running, ids)
    bodies = [payload_of(found[i]) for i in ids]
    types = [attributes_of(found[i])["type"] for i in ids]
    assert types == [
        "nl.ketenzicht.prosecution.FactAmended",
        "nl.ketenzicht.prosecution.FactAmended",
        "nl.ketenzicht.prosecution.FactAnnulled",
    ]
    presence, dismissal, annulment = bodies
    assert presence["suspect_id"] is None
    assert presence["corrected_event_type"] == "PresenceAssessed"
    assert presence["amended"]["presence_necessary"] is False
    assert presence["fact_occurred_on"] == "2022-07-02"
    assert dismissal["suspect_id"] == s
    assert dismissal["corrected_event_type"] == "CaseDismissed"
    assert (dismissal["amended"]["kind"], dismissal["amended"]["code"]) == ("POLICY", "50")
    assert annulment["original_event_id"] == assessed_id
    assert annulment["suspect_id"] is None


async def test_the_kind_of_an_other_disposal_is_amended_over_grpc(
    running: Running, om: ProsecutionServiceStub
) -> None:
    c, s = (
        case_pseudonym("case-om-disposal-amended"),
        suspect_pseudonym("suspect-om-disposal-amended"),
    )
    await om.RegisterCase(pb.RegisterCaseRequest(case_id=c, suspect_id=s, occurred_on="2022-06-01"))
    disposed = await om.DecideOtherDisposal(
        pb.OtherDisposalRequest(
            case_id=c, suspect_id=s, occurred_on="2022-09-01", kind=pb.OTHER_DISPOSAL_KIND_JOINDER
        )
    )
    (disposed_id,) = disposed.event_ids

    def amend(command_id: str, fields: pb.ProsecutionAmendedFields) -> Any:
        return om.AmendFact(
            pb.AmendFactRequest(
                command_id=command_id,
                case_id=c,
                suspect_id=s,
                occurred_on="2022-10-01",
                corrected_event_id=disposed_id,
                reason=6,  # WRONG_CATEGORY
                amended=fields,
            )
        )

    # Both kinds at once, or a dismissal's kind for an other disposal: refused, nothing stored.
    both = await rpc_error(
        amend(
            "disposal-both",
            pb.ProsecutionAmendedFields(
                kind=pb.DISMISSAL_KIND_POLICY, other_disposal_kind=pb.OTHER_DISPOSAL_KIND_TRANSFER
            ),
        )
    )
    assert both.code() == grpc.StatusCode.INVALID_ARGUMENT
    wrong_enum = await rpc_error(
        amend("disposal-wrong", pb.ProsecutionAmendedFields(kind=pb.DISMISSAL_KIND_POLICY))
    )
    assert wrong_enum.code() == grpc.StatusCode.INVALID_ARGUMENT

    amended = await amend(
        "disposal-transfer",
        pb.ProsecutionAmendedFields(other_disposal_kind=pb.OTHER_DISPOSAL_KIND_TRANSFER),
    )
    (amended_id,) = amended.event_ids
    found = await published_ids(running, [amended_id])
    body = payload_of(found[amended_id])
    assert attributes_of(found[amended_id])["type"] == "nl.ketenzicht.prosecution.FactAmended"
    assert body["corrected_event_type"] == "OtherDisposalDecided"
    assert body["amended"]["kind"] == "TRANSFER"
    assert body["fact_occurred_on"] == "2022-09-01"

    # The same kind again states the fact as it stands.
    again = await rpc_error(
        amend(
            "disposal-transfer-again",
            pb.ProsecutionAmendedFields(other_disposal_kind=pb.OTHER_DISPOSAL_KIND_TRANSFER),
        )
    )
    assert again.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(again) == "NOTHING_AMENDED"


async def open_case(
    om: ProsecutionServiceStub, suspect: str, parketnummer: str, command_id: str = ""
) -> pb.OpenCaseResponse:
    opened: pb.OpenCaseResponse = await om.OpenCase(
        pb.OpenCaseRequest(
            command_id=command_id,
            suspect_id=suspect,
            occurred_on="2022-06-01",
            parketnummer=parketnummer,
        )
    )
    return opened


async def test_a_case_the_om_opens_itself_gets_its_pseudonym_from_ketenzicht(
    running: Running, om: ProsecutionServiceStub
) -> None:
    first = await open_case(
        om, suspect_pseudonym("suspect-om-own"), "08/777001-22", command_id="own-1"
    )
    case = first.case_id
    assert re.fullmatch(r"C-[0-9a-f]{20}", case)
    assert len(first.ack.event_ids) == 1  # CaseRegistered, with the issued pseudonym
    (message,) = (await published_ids(running, list(first.ack.event_ids))).values()
    assert message.subject == "ketenzicht.prosecution.CaseRegistered"
    assert payload_of(message)["case_id"] == case
    # The same parketnummer again, under another command id: the same pseudonym, nothing new.
    stored = running.stored()
    again = await open_case(
        om, suspect_pseudonym("suspect-om-own"), "08/777001-22", command_id="own-2"
    )
    assert (again.case_id, list(again.ack.event_ids)) == (case, [])
    assert running.stored() == stored
    # A further suspect is registered in the case under the pseudonym.
    await om.RegisterCase(
        pb.RegisterCaseRequest(
            case_id=case, suspect_id=suspect_pseudonym("suspect-om-own-2"), occurred_on="2022-06-02"
        )
    )
    summary = await om.GetProsecutionCase(pb.GetProsecutionCaseRequest(case_id=case))
    assert list(summary.suspect_ids) == [
        suspect_pseudonym("suspect-om-own"),
        suspect_pseudonym("suspect-om-own-2"),
    ]
    found = await om.FindProsecution(pb.FindProsecutionRequest(parketnummer="08/777001-22"))
    assert (found.case_id, found.suspect_id) == (case, suspect_pseudonym("suspect-om-own"))
    # The parketnummer belongs to one suspect's proceedings.
    taken = await rpc_error(open_case(om, suspect_pseudonym("suspect-om-else"), "08/777001-22"))
    assert taken.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(taken) == "PARKETNUMMER_IN_USE"
    for message in await stream_messages(running.nats, running.stream):
        assert b"777001" not in message.data


async def test_only_the_om_organisation_that_registered_a_parketnummer_may_look_it_up(
    running: Running, om: ProsecutionServiceStub
) -> None:
    await open_case(om, suspect_pseudonym("suspect-om-owned"), "08/777002-22")
    async with connect(running.service.address, token=TOKENS["OM_OTHER"]) as channel:
        other = ProsecutionServiceStub(channel)
        for call in (
            other.FindProsecution(pb.FindProsecutionRequest(parketnummer="08/777002-22")),
            open_case(other, suspect_pseudonym("suspect-om-owned"), "08/777002-22"),
        ):
            error = await rpc_error(call)
            assert error.code() == grpc.StatusCode.PERMISSION_DENIED
            assert "777002" not in (error.details() or "")


async def test_a_case_id_of_another_shape_is_refused(
    running: Running, om: ProsecutionServiceStub
) -> None:
    stored = running.stored()
    for case_id in ("08/123456-22", "case-om-old", "PL0100-2022-0001"):
        for call in (
            om.RegisterCase(
                pb.RegisterCaseRequest(
                    case_id=case_id, suspect_id=suspect_pseudonym("s-1"), occurred_on="2022-06-01"
                )
            ),
            om.GetProsecutionCase(pb.GetProsecutionCaseRequest(case_id=case_id)),
        ):
            error = await rpc_error(call)
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert field_violations(error) == {"case_id"}
            assert case_id not in (error.details() or "")
    missing = await rpc_error(
        om.OpenCase(
            pb.OpenCaseRequest(suspect_id=suspect_pseudonym("s-1"), occurred_on="2022-06-01")
        )
    )
    assert field_violations(missing) == {"parketnummer"}
    assert running.stored() == stored


async def test_a_suspect_new_to_the_chain_gets_its_pseudonym_from_ketenzicht(
    running: Running, om: ProsecutionServiceStub
) -> None:
    # The OM opens a case itself, against a suspect the police never identified.
    first = await open_case(om, "", "08/777003-22", command_id="own-suspect-1")
    assert re.fullmatch(r"S-[0-9a-f]{20}", first.suspect_id)
    (message,) = (await published_ids(running, list(first.ack.event_ids))).values()
    assert payload_of(message)["suspect_id"] == first.suspect_id
    again = await open_case(om, "", "08/777003-22", command_id="own-suspect-2")
    assert (again.case_id, again.suspect_id) == (first.case_id, first.suspect_id)
    # A further suspect the OM adds itself; a retry answers the same pseudonym.
    request = pb.RegisterCaseRequest(
        command_id="own-suspect-3", case_id=first.case_id, occurred_on="2022-06-02"
    )
    added = await om.RegisterCase(request)
    assert re.fullmatch(r"S-[0-9a-f]{20}", added.suspect_id)
    assert added.suspect_id != first.suspect_id
    retried = await om.RegisterCase(request)
    assert (retried.suspect_id, retried.ack.replayed) == (added.suspect_id, True)
    summary = await om.GetProsecutionCase(pb.GetProsecutionCaseRequest(case_id=first.case_id))
    assert sorted(summary.suspect_ids) == sorted([first.suspect_id, added.suspect_id])


async def test_a_suspect_id_of_another_shape_is_refused_without_repeating_it(
    running: Running, om: ProsecutionServiceStub
) -> None:
    stored = running.stored()
    case_id = case_pseudonym("case-om-suspect-shape")
    for suspect_id in ("suspect-om-chosen", "PLPERS-0012345"):
        for call in (
            om.RegisterCase(
                pb.RegisterCaseRequest(
                    case_id=case_id, suspect_id=suspect_id, occurred_on="2022-06-01"
                )
            ),
            om.SummonSuspect(fact(case_id, suspect_id, "2022-06-02")),
        ):
            error = await rpc_error(call)
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert field_violations(error) == {"suspect_id"}
            assert suspect_id not in (error.details() or "")
    assert running.stored() == stored
