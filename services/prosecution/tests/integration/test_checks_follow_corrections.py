"""The OM's corrections put the proceedings right for the service's own checks too: a
finality or a verdict annulled as registered in error no longer blocks what comes next, and a
correction after which a later fact could not stand is refused. Over gRPC against the real
process, and the same after a restart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import grpc
import pytest

from ketenzicht.common.v1.common_pb2 import CORRECTION_REASON_REGISTERED_IN_ERROR
from ketenzicht.prosecution.v1 import prosecution_pb2 as pb
from ketenzicht.prosecution.v1.prosecution_pb2_grpc import ProsecutionServiceStub
from ketenzicht_common.client import connect
from ketenzicht_common.testing import TOKENS
from ketenzicht_common.testing.service import reason_of, rpc_error, running_service

pytestmark = pytest.mark.integration


@asynccontextmanager
async def om(root: Path) -> AsyncIterator[ProsecutionServiceStub]:
    """The service (its store under ``root``, kept across calls) and an OM client."""
    with running_service(root, "prosecution") as running:
        async with connect(running.service.address, token=TOKENS["OM"]) as channel:
            yield ProsecutionServiceStub(channel)


async def convicted(stub: ProsecutionServiceStub, parketnummer: str) -> tuple[str, str, str]:
    """Proceedings summoned and convicted in first instance: case, suspect, verdict's id."""
    opened = await stub.OpenCase(
        pb.OpenCaseRequest(occurred_on="2022-02-01", parketnummer=parketnummer)
    )
    case, suspect = opened.case_id, opened.suspect_id
    await stub.SummonSuspect(
        pb.SuspectFactRequest(case_id=case, suspect_id=suspect, occurred_on="2022-03-01")
    )
    verdict = await stub.DeliverVerdict(
        pb.VerdictRequest(
            case_id=case,
            suspect_id=suspect,
            occurred_on="2022-05-01",
            instance=pb.COURT_INSTANCE_FIRST_INSTANCE,
            outcome=pb.VERDICT_OUTCOME_CONVICTION_TRAFFICKING,
        )
    )
    return case, suspect, verdict.event_ids[0]


def annul(case: str, suspect: str, event_id: str) -> pb.AnnulFactRequest:
    return pb.AnnulFactRequest(
        case_id=case,
        suspect_id=suspect,
        occurred_on="2022-06-01",
        corrected_event_id=event_id,
        reason=CORRECTION_REASON_REGISTERED_IN_ERROR,
    )


async def test_an_annulled_finality_lets_the_appeal_be_lodged_also_after_a_restart(
    tmp_path: Path,
) -> None:
    async with om(tmp_path) as stub:
        case, suspect, _ = await convicted(stub, "13/000101-22")
        final = await stub.MarkCaseFinal(
            pb.SuspectFactRequest(case_id=case, suspect_id=suspect, occurred_on="2022-05-20")
        )
        appeal = pb.SuspectFactRequest(case_id=case, suspect_id=suspect, occurred_on="2022-05-10")
        assert reason_of(await rpc_error(stub.LodgeAppeal(appeal))) == "CASE_FINAL"

        await stub.AnnulFact(annul(case, suspect, final.event_ids[0]))
        summary = await stub.GetProsecution(
            pb.GetProsecutionRequest(case_id=case, suspect_id=suspect)
        )
        assert summary.final_on == ""
        await stub.LodgeAppeal(appeal)

    async with om(tmp_path) as stub:  # loaded from the store
        summary = await stub.GetProsecution(
            pb.GetProsecutionRequest(case_id=case, suspect_id=suspect)
        )
        assert (summary.final_on, summary.appeal_lodged_on) == ("", "2022-05-10")
        await stub.HoldCourtHearing(
            pb.CourtHearingRequest(
                case_id=case,
                suspect_id=suspect,
                occurred_on="2022-09-01",
                instance=pb.COURT_INSTANCE_APPEAL,
            )
        )


async def test_a_verdict_is_annulled_only_once_nothing_rests_on_it(tmp_path: Path) -> None:
    async with om(tmp_path) as stub:
        case, suspect, verdict = await convicted(stub, "13/000102-22")
        final = await stub.MarkCaseFinal(
            pb.SuspectFactRequest(case_id=case, suspect_id=suspect, occurred_on="2022-05-20")
        )
        # The finality rests on the verdict: annul that first.
        refusal = await rpc_error(stub.AnnulFact(annul(case, suspect, verdict)))
        assert refusal.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert reason_of(refusal) == "CORRECTION_CONFLICTS_WITH_LATER_FACTS"
        assert "CaseFinal" in (refusal.details() or "")
        await stub.AnnulFact(annul(case, suspect, final.event_ids[0]))
        await stub.AnnulFact(annul(case, suspect, verdict))
        # No verdict stands: nothing can become final, and the verdict may be registered again.
        finality = pb.SuspectFactRequest(case_id=case, suspect_id=suspect, occurred_on="2022-06-10")
        assert reason_of(await rpc_error(stub.MarkCaseFinal(finality))) == "NO_VERDICT"
        await stub.DeliverVerdict(
            pb.VerdictRequest(
                case_id=case,
                suspect_id=suspect,
                occurred_on="2022-05-02",
                instance=pb.COURT_INSTANCE_FIRST_INSTANCE,
                outcome=pb.VERDICT_OUTCOME_ACQUITTAL,
            )
        )

    async with om(tmp_path) as stub:  # loaded from the store
        summary = await stub.GetProsecution(
            pb.GetProsecutionRequest(case_id=case, suspect_id=suspect)
        )
        assert [(v.outcome, v.delivered_on) for v in summary.verdicts] == [
            (pb.VERDICT_OUTCOME_ACQUITTAL, "2022-05-02")
        ]


async def test_an_annulled_presence_assessment_may_be_made_again(tmp_path: Path) -> None:
    async with om(tmp_path) as stub:
        case, _, _ = await convicted(stub, "13/000103-22")
        assess = pb.AssessPresenceRequest(
            case_id=case,
            victim_id="victim-p",
            occurred_on="2022-03-05",
            presence=pb.PRESENCE_NECESSARY,
        )
        assessed = await stub.AssessPresence(assess)
        again = await rpc_error(stub.AssessPresence(assess))
        assert again.code() == grpc.StatusCode.ALREADY_EXISTS
        await stub.AnnulFact(annul(case, "", assessed.event_ids[0]))
        await stub.AssessPresence(
            pb.AssessPresenceRequest(
                case_id=case,
                victim_id="victim-p",
                occurred_on="2022-03-06",
                presence=pb.PRESENCE_NOT_NECESSARY,
            )
        )
        summary = await stub.GetProsecutionCase(pb.GetProsecutionCaseRequest(case_id=case))
        assert [(p.presence_necessary, p.assessed_on) for p in summary.presence_assessments] == [
            (False, "2022-03-06")
        ]
