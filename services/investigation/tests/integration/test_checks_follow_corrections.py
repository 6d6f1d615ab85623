"""The police's corrections put the investigation right for the service's own checks too: a
close annulled as registered in error leaves the investigation open, an opening amended to a
later date bounds later steps by that date, and a correction after which a later step could not
stand is refused. Over gRPC against the real process, and the same after a restart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import grpc
import pytest

from ketenzicht.common.v1.common_pb2 import (
    CORRECTION_REASON_REGISTERED_IN_ERROR,
    CORRECTION_REASON_WRONG_DATE,
)
from ketenzicht.investigation.v1 import investigation_pb2 as pb
from ketenzicht.investigation.v1.investigation_pb2_grpc import InvestigationServiceStub
from ketenzicht_common.client import connect
from ketenzicht_common.testing import TOKENS
from ketenzicht_common.testing.service import reason_of, rpc_error, running_service

pytestmark = pytest.mark.integration


@asynccontextmanager
async def police(root: Path) -> AsyncIterator[InvestigationServiceStub]:
    """The service (its store under ``root``, kept across calls) and a police client."""
    with running_service(root, "investigation") as running:
        async with connect(running.service.address, token=TOKENS["POLICE"]) as channel:
            yield InvestigationServiceStub(channel)


async def opened_case(
    stub: InvestigationServiceStub, number: str, opened_on: str
) -> tuple[str, str]:
    """A case with an investigation opened on ``opened_on``: its pseudonym and the opening's
    event id."""
    case = (
        await stub.OpenCase(
            pb.OpenCaseRequest(occurred_on="2022-01-02", police_registration_number=number)
        )
    ).case_id
    ack = await stub.OpenInvestigation(
        pb.OpenInvestigationRequest(case_id=case, occurred_on=opened_on)
    )
    return case, ack.event_ids[0]


def identify(case: str, on: str) -> pb.IdentifySuspectRequest:
    return pb.IdentifySuspectRequest(case_id=case, occurred_on=on)


async def test_an_annulled_close_leaves_the_investigation_open_also_after_a_restart(
    tmp_path: Path,
) -> None:
    async with police(tmp_path) as stub:
        case, _ = await opened_case(stub, "PL0100-2022-0101", "2022-02-01")
        closed = await stub.CloseInvestigation(
            pb.CloseInvestigationRequest(
                case_id=case,
                occurred_on="2022-03-01",
                reason=pb.INVESTIGATION_CLOSE_REASON_NO_LEADS,
            )
        )
        refused = await rpc_error(stub.IdentifySuspect(identify(case, "2022-03-10")))
        assert reason_of(refused) == "INVESTIGATION_CLOSED"

        await stub.AnnulFact(
            pb.AnnulFactRequest(
                case_id=case,
                occurred_on="2022-03-15",
                corrected_event_id=closed.event_ids[0],
                reason=CORRECTION_REASON_REGISTERED_IN_ERROR,
            )
        )
        summary = await stub.GetInvestigation(pb.GetInvestigationRequest(case_id=case))
        assert summary.status == pb.INVESTIGATION_STATUS_OPEN
        assert summary.closed_on == ""
        # The next step of the investigation, dated after the close that never was.
        accepted = await stub.IdentifySuspect(identify(case, "2022-03-10"))
        assert accepted.suspect_id

    async with police(tmp_path) as stub:  # loaded from the store
        summary = await stub.GetInvestigation(pb.GetInvestigationRequest(case_id=case))
        assert summary.status == pb.INVESTIGATION_STATUS_OPEN
        assert list(summary.suspect_ids) == [accepted.suspect_id]
        await stub.SuspendInvestigation(pb.CaseFactRequest(case_id=case, occurred_on="2022-03-20"))


async def test_an_opening_amended_to_a_later_date_bounds_later_steps_by_the_new_date(
    tmp_path: Path,
) -> None:
    async with police(tmp_path) as stub:
        case, opening = await opened_case(stub, "PL0100-2022-0102", "2022-02-01")
        await stub.AmendFact(
            pb.AmendFactRequest(
                case_id=case,
                occurred_on="2022-03-01",
                corrected_event_id=opening,
                reason=CORRECTION_REASON_WRONG_DATE,
                fact_occurred_on="2022-02-15",
            )
        )
        before = await rpc_error(stub.IdentifySuspect(identify(case, "2022-02-10")))
        assert before.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert reason_of(before) == "DATE_BEFORE_OPENING"
        assert "2022-02-15" in (before.details() or "")
        assert (await stub.IdentifySuspect(identify(case, "2022-02-16"))).suspect_id
        summary = await stub.GetInvestigation(pb.GetInvestigationRequest(case_id=case))
        assert summary.first_opened_on == "2022-02-15"

    async with police(tmp_path) as stub:  # loaded from the store
        again = await rpc_error(
            stub.HearVictim(
                pb.HearVictimRequest(case_id=case, victim_id="victim-b", occurred_on="2022-02-10")
            )
        )
        assert reason_of(again) == "DATE_BEFORE_OPENING"


async def test_a_correction_after_which_a_later_step_could_not_stand_is_refused(
    tmp_path: Path,
) -> None:
    async with police(tmp_path) as stub:
        case, opening = await opened_case(stub, "PL0100-2022-0103", "2022-02-01")
        await stub.IdentifySuspect(identify(case, "2022-02-10"))
        # Annulling the opening would leave the identification without an investigation;
        # moving it past the identification would date the identification before it.
        annul = await rpc_error(
            stub.AnnulFact(
                pb.AnnulFactRequest(
                    case_id=case,
                    occurred_on="2022-03-01",
                    corrected_event_id=opening,
                    reason=CORRECTION_REASON_REGISTERED_IN_ERROR,
                )
            )
        )
        amend = await rpc_error(
            stub.AmendFact(
                pb.AmendFactRequest(
                    case_id=case,
                    occurred_on="2022-03-01",
                    corrected_event_id=opening,
                    reason=CORRECTION_REASON_WRONG_DATE,
                    fact_occurred_on="2022-02-20",
                )
            )
        )
        for refusal, because in (
            (annul, "INVESTIGATION_NOT_OPENED"),
            (amend, "DATE_BEFORE_OPENING"),
        ):
            assert refusal.code() == grpc.StatusCode.FAILED_PRECONDITION
            assert reason_of(refusal) == "CORRECTION_CONFLICTS_WITH_LATER_FACTS"
            assert "SuspectIdentified" in (refusal.details() or "")
            assert because in (refusal.details() or "")
        # Nothing changed: the opening stands as first stated.
        summary = await stub.GetInvestigation(pb.GetInvestigationRequest(case_id=case))
        assert summary.first_opened_on == "2022-02-01"
        # A date that keeps the identification after the opening is accepted.
        await stub.AmendFact(
            pb.AmendFactRequest(
                case_id=case,
                occurred_on="2022-03-01",
                corrected_event_id=opening,
                reason=CORRECTION_REASON_WRONG_DATE,
                fact_occurred_on="2022-02-05",
            )
        )
        summary = await stub.GetInvestigation(pb.GetInvestigationRequest(case_id=case))
        assert summary.first_opened_on == "2022-02-05"
