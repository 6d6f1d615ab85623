"""The IND's finding that an EU national derives no right of residence from EU law, reported
over real gRPC: stored and published with its fields, unary and in bulk; the IND's alone."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import grpc
import pytest

from ketenzicht.residence.v1 import residence_pb2 as pb
from ketenzicht.residence.v1.residence_pb2_grpc import ResidenceServiceStub
from ketenzicht_common.client import connect
from ketenzicht_common.testing import TOKENS
from ketenzicht_common.testing.jetstream import attributes_of, payload_of
from ketenzicht_common.testing.service import Running, published_ids, rpc_error, running_service

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def residence(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with running_service(tmp_path_factory.mktemp("residence"), "residence") as started:
        yield started


async def test_the_finding_is_stored_and_published_with_its_fields_unary_and_in_bulk(
    residence: Running,
) -> None:
    async with connect(residence.service.address, token=TOKENS["IND"]) as channel:
        ind = ResidenceServiceStub(channel)
        unary = await ind.FindNoEuResidenceRight(
            pb.VictimDecisionRequest(
                command_id="no-eu-1", victim_id="victim-eu-1", occurred_on="2023-02-01"
            )
        )

        async def bulk():  # type: ignore[no-untyped-def]
            yield pb.ResidenceCommand(
                find_no_eu_residence_right=pb.VictimDecisionRequest(
                    command_id="no-eu-2", victim_id="victim-eu-2", occurred_on="2023-02-02"
                )
            )

        (result,) = [r async for r in ind.Submit(bulk())]
    assert result.HasField("ack"), result
    ids = [unary.event_ids[0], result.ack.event_ids[0]]
    published = await published_ids(residence, ids)
    assert {m.subject for m in published.values()} == {
        "ketenzicht.residence.NoEuResidenceRightFound"
    }
    assert [payload_of(published[i]) for i in ids] == [
        {"occurred_on": "2023-02-01", "victim_id": "victim-eu-1"},
        {"occurred_on": "2023-02-02", "victim_id": "victim-eu-2"},
    ]
    assert attributes_of(published[ids[0]])["organisation"] == "ind"


async def test_only_the_ind_may_report_the_finding(residence: Running) -> None:
    await asyncio.sleep(0.5)
    stored, published = residence.stored(), await residence.published()
    for role in ("POLICE", "KMAR", "OM", "ANALYST"):
        async with connect(residence.service.address, token=TOKENS[role]) as channel:
            error = await rpc_error(
                ResidenceServiceStub(channel).FindNoEuResidenceRight(
                    pb.VictimDecisionRequest(victim_id="victim-eu-3", occurred_on="2023-02-03")
                )
            )
            assert error.code() == grpc.StatusCode.PERMISSION_DENIED, role
    await asyncio.sleep(0.5)
    assert residence.stored() == stored
    assert await residence.published() == published
