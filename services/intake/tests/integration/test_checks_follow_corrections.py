"""The police's corrections put the victim's track right for intake's own checks too: the
reflection period offer (R4) and every "not before the first signal" read a signal's amended
date, and a correction after which a later fact could not stand is refused. Over gRPC against
the real process, and the same after a restart."""

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
from ketenzicht.intake.v1 import intake_pb2 as pb
from ketenzicht.intake.v1.intake_pb2_grpc import IntakeServiceStub
from ketenzicht_common.client import connect
from ketenzicht_common.testing import TOKENS
from ketenzicht_common.testing.service import reason_of, rpc_error, running_service

from .intake_cases import signal_request

pytestmark = pytest.mark.integration


@asynccontextmanager
async def police(root: Path) -> AsyncIterator[IntakeServiceStub]:
    """The service (its store under ``root``, kept across calls) and a police client."""
    with running_service(root, "intake") as running:
        async with connect(running.service.address, token=TOKENS["POLICE"]) as channel:
            yield IntakeServiceStub(channel)


def amend_date(victim: str, event_id: str, new_date: str) -> pb.AmendFactRequest:
    return pb.AmendFactRequest(
        victim_id=victim,
        occurred_on="2023-05-01",
        corrected_event_id=event_id,
        reason=CORRECTION_REASON_WRONG_DATE,
        fact_occurred_on=new_date,
    )


async def test_the_reflection_offer_reads_the_signal_in_force_by_its_amended_date(
    tmp_path: Path,
) -> None:
    async with police(tmp_path) as stub:
        first = await stub.RegisterSignal(
            signal_request(
                occurred_on="2023-01-05", residence_position=pb.RESIDENCE_POSITION_IRREGULAR
            )
        )
        victim = first.victim_id
        # A second signal, registered as of February, says the victim is Dutch.
        second = await stub.RegisterSignal(
            signal_request(
                victim_id=victim,
                occurred_on="2023-02-01",
                nationality_group=pb.NATIONALITY_GROUP_DUTCH,
            )
        )
        offer = pb.VictimFactRequest(victim_id=victim, occurred_on="2023-03-01")
        refused = await rpc_error(stub.OfferReflectionPeriod(offer))
        assert reason_of(refused) == "REFLECTION_NOT_ALLOWED"

        # It was dated wrongly: it came in April. On 1 March the first signal was in force.
        await stub.AmendFact(amend_date(victim, second.ack.event_ids[0], "2023-04-01"))
        await stub.OfferReflectionPeriod(offer)

    async with police(tmp_path) as stub:  # loaded from the store
        again = await rpc_error(stub.OfferReflectionPeriod(offer))
        assert again.code() == grpc.StatusCode.ALREADY_EXISTS


async def test_a_first_signal_amended_to_a_later_date_bounds_later_facts_by_it(
    tmp_path: Path,
) -> None:
    async with police(tmp_path) as stub:
        signal = await stub.RegisterSignal(signal_request(occurred_on="2023-01-05"))
        victim, signal_id = signal.victim_id, signal.ack.event_ids[0]
        await stub.AmendFact(amend_date(victim, signal_id, "2023-02-01"))
        summary = await stub.GetVictim(pb.GetVictimRequest(victim_id=victim))
        assert summary.first_signal_on == "2023-02-01"
        interview = pb.VictimFactRequest(victim_id=victim, occurred_on="2023-01-20")
        refused = await rpc_error(stub.HoldInformativeInterview(interview))
        assert reason_of(refused) == "DATE_BEFORE_SIGNAL"
        await stub.HoldInformativeInterview(
            pb.VictimFactRequest(victim_id=victim, occurred_on="2023-02-02")
        )

    async with police(tmp_path) as stub:  # loaded from the store
        summary = await stub.GetVictim(pb.GetVictimRequest(victim_id=victim))
        assert summary.first_signal_on == "2023-02-01"
        refused = await rpc_error(stub.HoldInformativeInterview(interview))
        assert reason_of(refused) == "DATE_BEFORE_SIGNAL"
        # Moving the signal past the interview, or annulling it, would leave the interview
        # before any signal: refused, naming the fact that could not stand.
        for correction in (
            stub.AmendFact(amend_date(victim, signal_id, "2023-03-01")),
            stub.AnnulFact(
                pb.AnnulFactRequest(
                    victim_id=victim,
                    occurred_on="2023-05-01",
                    corrected_event_id=signal_id,
                    reason=CORRECTION_REASON_REGISTERED_IN_ERROR,
                )
            ),
        ):
            conflict = await rpc_error(correction)
            assert conflict.code() == grpc.StatusCode.FAILED_PRECONDITION
            assert reason_of(conflict) == "CORRECTION_CONFLICTS_WITH_LATER_FACTS"
            assert "InformativeInterviewHeld" in (conflict.details() or "")
