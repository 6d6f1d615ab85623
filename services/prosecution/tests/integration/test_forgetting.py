"""Forgetting the parketnummer (ADR 0020): sealed in every store, found by blind index, and gone
for good once its key is destroyed, by the OM's erasure order or by the retention sweep, while
every fact of the proceedings stays as it was.

The service runs in 2060 (a scenario clock file), so that the Wjsg's thirty years after a case
from 2023 became final can pass on a day that is not in the future.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest

from ketenzicht.prosecution.v1 import prosecution_pb2 as pb
from ketenzicht.prosecution.v1.prosecution_pb2_grpc import ProsecutionServiceStub
from ketenzicht_common.client import connect
from ketenzicht_common.clock import write_present
from ketenzicht_common.domain import stable_id
from ketenzicht_common.testing import TOKENS, suspect_pseudonym
from ketenzicht_common.testing.service import Running, rpc_error, running_service
from ketenzicht_common.testing.store_scan import clear_forms, scan, scanned_files, uuid_forms

pytestmark = pytest.mark.integration

FIRST = pb.COURT_INSTANCE_FIRST_INSTANCE
FINAL_CASE = ("C-00000000000000000001", suspect_pseudonym("suspect-forget-1"), "08/246802-22")
DISMISSED_CASE = ("C-00000000000000000002", suspect_pseudonym("suspect-forget-2"), "08/135791-22")
ORDERED_CASE = ("C-00000000000000000003", suspect_pseudonym("suspect-forget-3"), "08/975310-22")
NUMBERS = [FINAL_CASE[2], DISMISSED_CASE[2], ORDERED_CASE[2]]


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("prosecution-forgetting")


@pytest.fixture(scope="module")
def running(root: Path) -> Iterator[Running]:
    clock = root / "clock"
    write_present(clock, datetime(2060, 1, 1, 12, tzinfo=UTC))
    with running_service(root, "prosecution", {"KETENZICHT_CLOCK_FILE": str(clock)}) as service:
        yield service


@pytest.fixture
async def om(running: Running) -> AsyncIterator[ProsecutionServiceStub]:
    async with connect(running.service.address, token=TOKENS["OM"]) as channel:
        yield ProsecutionServiceStub(channel)


def fact(case: str, suspect: str, on: str) -> pb.SuspectFactRequest:
    return pb.SuspectFactRequest(case_id=case, suspect_id=suspect, occurred_on=on)


def needles() -> dict[str, list[bytes]]:
    found: dict[str, list[bytes]] = {}
    for i, number in enumerate(NUMBERS):
        # The number itself, and the unkeyed id the old lookup aggregate had (a hash of a short
        # number is the number to anyone who tries them all).
        found[f"parketnummer {i}"] = clear_forms(number)
        found[f"unkeyed id of parketnummer {i}"] = uuid_forms(
            stable_id("prosecution", "parketnummer", number)
        )
    return found


def store_roots(root: Path) -> list[Path]:
    return [root / "prosecution", root / "nats", root / "prosecution.log"]


async def register(om: ProsecutionServiceStub, case: tuple[str, str, str], n: int) -> None:
    c, s, number = case
    await om.RegisterCase(
        pb.RegisterCaseRequest(
            command_id=f"forget-register-{n}",
            case_id=c,
            suspect_id=s,
            occurred_on="2022-06-01",
            parketnummer=number,
        )
    )


async def test_registered_numbers_are_sealed_in_every_store_and_found_by_blind_index(
    root: Path, running: Running, om: ProsecutionServiceStub
) -> None:
    await register(om, FINAL_CASE, 1)
    c, s, _ = FINAL_CASE
    await om.SummonSuspect(fact(c, s, "2022-09-01"))
    await om.DeliverVerdict(
        pb.VerdictRequest(
            case_id=c,
            suspect_id=s,
            occurred_on="2023-03-01",
            instance=FIRST,
            outcome=pb.VERDICT_OUTCOME_CONVICTION_TRAFFICKING,
        )
    )
    await om.MarkCaseFinal(fact(c, s, "2023-03-30"))
    await register(om, DISMISSED_CASE, 2)
    await om.DismissCase(
        pb.DismissCaseRequest(
            case_id=DISMISSED_CASE[0],
            suspect_id=DISMISSED_CASE[1],
            occurred_on="2022-12-01",
            kind=pb.DISMISSAL_KIND_POLICY,
            code="02",
        )
    )
    await register(om, ORDERED_CASE, 3)

    for case in (FINAL_CASE, DISMISSED_CASE, ORDERED_CASE):
        found = await om.FindProsecution(pb.FindProsecutionRequest(parketnummer=case[2]))
        assert (found.case_id, found.suspect_id, found.parketnummer) == case
        assert not found.parketnummer_forgotten

    # Known and answered, and still in no store in the clear: not in the events (the sealed
    # text), not in the command log (its fingerprint leaves the number out), not in the key
    # store (a blind index), not on the bus, not in the log.
    assert (root / "prosecution" / "keys" / "om.keys.sqlite").exists()
    assert len(scanned_files(store_roots(root))) >= 4
    assert scan(store_roots(root), needles()) == []


async def test_an_erasure_order_forgets_the_number_for_good_and_keeps_every_fact(
    root: Path, running: Running, om: ProsecutionServiceStub
) -> None:
    c, s, number = ORDERED_CASE
    before = await om.GetProsecution(pb.GetProsecutionRequest(case_id=c, suspect_id=s))
    order = pb.ForgetParketnummerRequest(
        command_id="erasure-order-1",
        case_id=c,
        suspect_id=s,
        occurred_on="2059-12-01",
        order_id="om-order-2059-17",
    )
    async with connect(running.service.address, token=TOKENS["OM_OTHER"]) as channel:
        other = await rpc_error(ProsecutionServiceStub(channel).ForgetParketnummer(order))
    assert other.code() == grpc.StatusCode.PERMISSION_DENIED

    await om.ForgetParketnummer(order)
    replayed = await om.ForgetParketnummer(order)
    assert replayed.replayed

    after = await om.GetProsecution(pb.GetProsecutionRequest(case_id=c, suspect_id=s))
    assert (after.parketnummer, after.parketnummer_forgotten) == ("", True)
    expected = pb.ProsecutionSummary()
    expected.CopyFrom(before)
    expected.parketnummer, expected.parketnummer_forgotten = "", True
    assert after == expected  # every fact as it was: only the link is gone

    lookup = await rpc_error(om.FindProsecution(pb.FindProsecutionRequest(parketnummer=number)))
    assert lookup.code() == grpc.StatusCode.NOT_FOUND
    assert "forgotten" in (lookup.details() or "")
    assert number not in (lookup.details() or "")

    again = await rpc_error(
        om.ForgetParketnummer(
            pb.ForgetParketnummerRequest(
                command_id="erasure-order-2",
                case_id=c,
                suspect_id=s,
                occurred_on="2059-12-02",
                order_id="om-order-2059-18",
            )
        )
    )
    assert again.code() == grpc.StatusCode.ALREADY_EXISTS

    # Proceedings registered without a number have nothing to forget.
    await om.RegisterCase(
        pb.RegisterCaseRequest(
            command_id="forget-register-5",
            case_id="C-00000000000000000005",
            suspect_id=suspect_pseudonym("suspect-forget-5"),
            occurred_on="2059-12-03",
        )
    )
    nothing = await rpc_error(
        om.ForgetParketnummer(
            pb.ForgetParketnummerRequest(
                command_id="erasure-order-3",
                case_id="C-00000000000000000005",
                suspect_id=suspect_pseudonym("suspect-forget-5"),
                occurred_on="2059-12-03",
                order_id="om-order-2059-19",
            )
        )
    )
    assert nothing.code() == grpc.StatusCode.FAILED_PRECONDITION

    # The number is free again: new proceedings may be registered under it.
    await om.RegisterCase(
        pb.RegisterCaseRequest(
            command_id="forget-register-4",
            case_id="C-00000000000000000004",
            suspect_id=suspect_pseudonym("suspect-forget-4"),
            occurred_on="2059-12-03",
            parketnummer=number,
        )
    )
    found = await om.FindProsecution(pb.FindProsecutionRequest(parketnummer=number))
    assert found.case_id == "C-00000000000000000004"


async def test_the_sweep_forgets_final_proceedings_thirty_years_on_and_keeps_a_dismissal(
    root: Path, running: Running, om: ProsecutionServiceStub
) -> None:
    c, s, number = FINAL_CASE
    # Final on 2023-03-30: the Wjsg's thirty years run from the day after, to 2053-03-30.
    kept = await om.SweepRetention(
        pb.SweepRetentionRequest(command_id="sweep-1", as_of="2053-03-30")
    )
    assert kept.forgotten == 0
    found = await om.FindProsecution(pb.FindProsecutionRequest(parketnummer=number))
    assert found.case_id == c

    swept = await om.SweepRetention(
        pb.SweepRetentionRequest(command_id="sweep-2", as_of="2053-03-31")
    )
    assert swept.forgotten == 1
    after = await om.GetProsecution(pb.GetProsecutionRequest(case_id=c, suspect_id=s))
    assert (after.parketnummer, after.parketnummer_forgotten, after.final_on) == (
        "",
        True,
        "2023-03-30",
    )
    assert len(after.verdicts) == 1

    # A dismissed trafficking case may be reopened as long as the right to prosecute has not
    # lapsed, and for art. 273f Sr it does not lapse: the sweep keeps its key, however late.
    late = await om.SweepRetention(
        pb.SweepRetentionRequest(command_id="sweep-3", as_of="2059-12-31")
    )
    assert late.forgotten == 0
    dismissed = await om.FindProsecution(pb.FindProsecutionRequest(parketnummer=DISMISSED_CASE[2]))
    assert dismissed.parketnummer == DISMISSED_CASE[2]

    future = await rpc_error(
        om.SweepRetention(pb.SweepRetentionRequest(command_id="sweep-4", as_of="2061-01-01"))
    )
    assert future.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_after_shredding_no_store_holds_a_forgotten_number_and_its_key_is_gone(
    root: Path, running: Running, om: ProsecutionServiceStub
) -> None:
    assert scan(store_roots(root), needles()) == []
    # The key store file holds no trace of the destroyed keys' subjects.
    key_file = (root / "prosecution" / "keys" / "om.keys.sqlite").read_bytes()
    for case in (FINAL_CASE, ORDERED_CASE):
        assert f"{case[0]}/{case[1]}".encode() not in key_file
    assert f"{DISMISSED_CASE[0]}/{DISMISSED_CASE[1]}".encode() in key_file


def test_the_oms_command_line_runs_a_sweep(running: Running) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "prosecution.adapters.forget_cli",
            "--address",
            running.service.address,
            "sweep",
            "--as-of",
            "2059-12-31",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "as of 2059-12-31: 0 forgotten, 2 kept"
