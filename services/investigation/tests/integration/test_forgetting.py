"""Forgetting the police registration number (ADR 0020): sealed in every store, found by blind
index, and gone for good once its key is destroyed, by the registering organisation's erasure
order or by the Wpg retention sweep, while every fact of the case stays as it was.

The service runs in 2060 (a scenario clock file), so that the terms of cases from 2005, whose
right to prosecute lapses, can pass on a day that is not in the future.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest

from ketenzicht.investigation.v1 import investigation_pb2 as pb
from ketenzicht.investigation.v1.investigation_pb2_grpc import InvestigationServiceStub
from ketenzicht_common.client import connect
from ketenzicht_common.clock import write_present
from ketenzicht_common.domain import stable_id
from ketenzicht_common.testing import TOKENS, suspect_pseudonym
from ketenzicht_common.testing.service import Running, rpc_error, running_service
from ketenzicht_common.testing.store_scan import clear_forms, scan, scanned_files, uuid_forms

pytestmark = pytest.mark.integration

# Closed without a submission: the half year of Wpg art. 9 lid 4 runs from the day the right to
# prosecute lapsed (2035-06-02: twelve years after the latest possible 18th birthday of a minor
# victim, counted from the registration), so it ends on 2035-12-03.
OLD_CLOSED = "PL-2005-0001"
# Submitted to the OM: this service cannot see the proceedings end, so the key stays.
OLD_SUBMITTED = "PL-2005-0002"
# Closed, then opened again: open cases keep their key.
OLD_REOPENED = "PL-2005-0003"
# A decision not to investigate a recent trafficking report: it can be investigated for ever.
RECENT_NOT_INVESTIGATED = "PL-2022-0004"
# Registered by the KMar, which gives the erasure order.
ORDERED = "KM-2022-0005"
NUMBERS = [OLD_CLOSED, OLD_SUBMITTED, OLD_REOPENED, RECENT_NOT_INVESTIGATED, ORDERED]

cases: dict[str, str] = {}
"""The pseudonym issued for each number (filled by the first test)."""


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("investigation-forgetting")


@pytest.fixture(scope="module")
def running(root: Path) -> Iterator[Running]:
    clock = root / "clock"
    write_present(clock, datetime(2060, 1, 1, 12, tzinfo=UTC))
    with running_service(root, "investigation", {"KETENZICHT_CLOCK_FILE": str(clock)}) as service:
        yield service


@pytest.fixture
async def police(running: Running) -> AsyncIterator[InvestigationServiceStub]:
    async with connect(running.service.address, token=TOKENS["POLICE"]) as channel:
        yield InvestigationServiceStub(channel)


@pytest.fixture
async def kmar(running: Running) -> AsyncIterator[InvestigationServiceStub]:
    async with connect(running.service.address, token=TOKENS["KMAR"]) as channel:
        yield InvestigationServiceStub(channel)


def fact(case_id: str, on: str) -> pb.CaseFactRequest:
    return pb.CaseFactRequest(case_id=case_id, occurred_on=on)


def needles() -> dict[str, list[bytes]]:
    found: dict[str, list[bytes]] = {}
    for i, number in enumerate(NUMBERS):
        # The number itself, and the unkeyed id the old lookup aggregate had (a hash of a short
        # number is the number to anyone who tries them all).
        found[f"registration number {i}"] = clear_forms(number)
        found[f"unkeyed id of registration number {i}"] = uuid_forms(
            stable_id("investigation", "police-registration-number", number)
        )
    return found


def store_roots(root: Path) -> list[Path]:
    return [root / "investigation", root / "nats", root / "investigation.log"]


async def open_case(stub: InvestigationServiceStub, number: str, on: str) -> str:
    opened = await stub.OpenCase(
        pb.OpenCaseRequest(occurred_on=on, police_registration_number=number)
    )
    return str(opened.case_id)


async def close(stub: InvestigationServiceStub, case_id: str, on: str, reason: int) -> None:
    await stub.CloseInvestigation(
        pb.CloseInvestigationRequest(case_id=case_id, occurred_on=on, reason=reason)
    )


async def test_registered_numbers_are_sealed_in_every_store_and_found_by_blind_index(
    root: Path,
    running: Running,
    police: InvestigationServiceStub,
    kmar: InvestigationServiceStub,
) -> None:
    c = cases
    c[OLD_CLOSED] = await open_case(police, OLD_CLOSED, "2005-06-01")
    await police.OpenInvestigation(
        pb.OpenInvestigationRequest(case_id=c[OLD_CLOSED], occurred_on="2005-06-01")
    )
    await close(police, c[OLD_CLOSED], "2006-03-01", pb.INVESTIGATION_CLOSE_REASON_NO_LEADS)

    c[OLD_SUBMITTED] = await open_case(police, OLD_SUBMITTED, "2005-06-01")
    await police.OpenInvestigation(
        pb.OpenInvestigationRequest(case_id=c[OLD_SUBMITTED], occurred_on="2005-06-01")
    )
    await police.IdentifySuspect(
        pb.IdentifySuspectRequest(
            case_id=c[OLD_SUBMITTED],
            occurred_on="2005-07-01",
            suspect_id=suspect_pseudonym("suspect-forget-2"),
        )
    )
    await police.SubmitToProsecution(
        pb.SubmitToProsecutionRequest(case_id=c[OLD_SUBMITTED], occurred_on="2005-09-01")
    )
    await close(police, c[OLD_SUBMITTED], "2005-09-02", pb.INVESTIGATION_CLOSE_REASON_SUBMITTED)

    c[OLD_REOPENED] = await open_case(police, OLD_REOPENED, "2005-06-01")
    await police.OpenInvestigation(
        pb.OpenInvestigationRequest(case_id=c[OLD_REOPENED], occurred_on="2005-06-01")
    )
    await close(police, c[OLD_REOPENED], "2006-03-01", pb.INVESTIGATION_CLOSE_REASON_NO_LEADS)
    await police.OpenInvestigation(
        pb.OpenInvestigationRequest(case_id=c[OLD_REOPENED], occurred_on="2030-01-01")
    )

    c[RECENT_NOT_INVESTIGATED] = await open_case(police, RECENT_NOT_INVESTIGATED, "2022-01-10")
    await police.DecideNoInvestigation(fact(c[RECENT_NOT_INVESTIGATED], "2022-02-01"))

    c[ORDERED] = await open_case(kmar, ORDERED, "2022-03-01")
    await kmar.OpenInvestigation(
        pb.OpenInvestigationRequest(case_id=c[ORDERED], occurred_on="2022-03-01")
    )

    for number in NUMBERS:
        owner = kmar if number == ORDERED else police
        found = await owner.FindInvestigation(
            pb.FindInvestigationRequest(police_registration_number=number)
        )
        assert (found.case_id, found.police_registration_number) == (c[number], number)
        assert not found.police_registration_number_forgotten
        # The same number gives the same pseudonym again, storing nothing new.
        assert await open_case(owner, number, "2022-06-01") == c[number]

    # Owner only: another organisation learns neither the number nor the case behind it.
    other = await kmar.GetInvestigation(pb.GetInvestigationRequest(case_id=c[OLD_CLOSED]))
    assert (other.police_registration_number, other.police_registration_number_forgotten) == (
        "",
        False,
    )
    denied = await rpc_error(
        kmar.FindInvestigation(pb.FindInvestigationRequest(police_registration_number=OLD_CLOSED))
    )
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
    taken = await rpc_error(
        kmar.OpenCase(
            pb.OpenCaseRequest(occurred_on="2022-06-01", police_registration_number=OLD_CLOSED)
        )
    )
    assert taken.code() == grpc.StatusCode.PERMISSION_DENIED

    # Known and answered, and still in no store in the clear: not in the events (the sealed
    # text), not in the command log (its fingerprint leaves the number out), not in the key
    # store (a blind index), not on the bus, not in the log.
    assert (root / "investigation" / "keys" / "police.keys.sqlite").exists()
    assert len(scanned_files(store_roots(root))) >= 4
    assert scan(store_roots(root), needles()) == []


async def test_an_erasure_order_forgets_the_number_for_good_and_keeps_every_fact(
    running: Running, police: InvestigationServiceStub, kmar: InvestigationServiceStub
) -> None:
    case_id = cases[ORDERED]
    before = await kmar.GetInvestigation(pb.GetInvestigationRequest(case_id=case_id))
    order = pb.ForgetRegistrationNumberRequest(
        command_id="erasure-order-1",
        case_id=case_id,
        occurred_on="2059-12-01",
        order_id="kmar-order-2059-17",
    )
    # Only the organisation that registered the case may order its number erased.
    other = await rpc_error(police.ForgetRegistrationNumber(order))
    assert other.code() == grpc.StatusCode.PERMISSION_DENIED

    ordered = await kmar.ForgetRegistrationNumber(order)
    assert list(ordered.event_ids) == []  # private: nothing goes on the bus
    replayed = await kmar.ForgetRegistrationNumber(order)
    assert replayed.replayed

    after = await kmar.GetInvestigation(pb.GetInvestigationRequest(case_id=case_id))
    assert (after.police_registration_number, after.police_registration_number_forgotten) == (
        "",
        True,
    )
    expected = pb.InvestigationSummary()
    expected.CopyFrom(before)
    expected.police_registration_number = ""
    expected.police_registration_number_forgotten = True
    assert after == expected  # every fact as it was: only the link is gone

    lookup = await rpc_error(
        kmar.FindInvestigation(pb.FindInvestigationRequest(police_registration_number=ORDERED))
    )
    assert lookup.code() == grpc.StatusCode.NOT_FOUND
    assert "forgotten" in (lookup.details() or "")
    assert ORDERED not in (lookup.details() or "")

    again = await rpc_error(
        kmar.ForgetRegistrationNumber(
            pb.ForgetRegistrationNumberRequest(
                command_id="erasure-order-2",
                case_id=case_id,
                occurred_on="2059-12-02",
                order_id="kmar-order-2059-18",
            )
        )
    )
    assert again.code() == grpc.StatusCode.ALREADY_EXISTS

    # The case still takes facts, and the number is free again: a new registration under it
    # is a new case, with a new pseudonym.
    await kmar.CloseInvestigation(
        pb.CloseInvestigationRequest(
            case_id=case_id, occurred_on="2059-12-03", reason=pb.INVESTIGATION_CLOSE_REASON_NO_LEADS
        )
    )
    reopened = await open_case(kmar, ORDERED, "2059-12-03")
    assert reopened != case_id
    found = await kmar.FindInvestigation(
        pb.FindInvestigationRequest(police_registration_number=ORDERED)
    )
    assert found.case_id == reopened
    await kmar.ForgetRegistrationNumber(
        pb.ForgetRegistrationNumberRequest(
            case_id=reopened, occurred_on="2059-12-04", order_id="kmar-order-2059-19"
        )
    )


async def test_the_sweep_forgets_a_closed_case_half_a_year_after_it_could_no_longer_return(
    police: InvestigationServiceStub,
) -> None:
    closed = cases[OLD_CLOSED]
    kept = await police.SweepRetention(
        pb.SweepRetentionRequest(command_id="sweep-1", as_of="2035-12-02")
    )
    assert (kept.forgotten, kept.kept) == (0, 4)
    found = await police.FindInvestigation(
        pb.FindInvestigationRequest(police_registration_number=OLD_CLOSED)
    )
    assert found.case_id == closed

    swept = await police.SweepRetention(
        pb.SweepRetentionRequest(command_id="sweep-2", as_of="2035-12-03")
    )
    assert (swept.forgotten, swept.kept) == (1, 3)
    after = await police.GetInvestigation(pb.GetInvestigationRequest(case_id=closed))
    assert (after.police_registration_number, after.police_registration_number_forgotten) == (
        "",
        True,
    )
    assert (after.status, after.closed_on) == (pb.INVESTIGATION_STATUS_CLOSED, "2006-03-01")

    # Submitted, reopened, or a recent trafficking report: kept, however late.
    late = await police.SweepRetention(
        pb.SweepRetentionRequest(command_id="sweep-3", as_of="2059-12-31")
    )
    assert (late.forgotten, late.kept) == (0, 3)
    for number in (OLD_SUBMITTED, OLD_REOPENED, RECENT_NOT_INVESTIGATED):
        kept_case = await police.FindInvestigation(
            pb.FindInvestigationRequest(police_registration_number=number)
        )
        assert kept_case.police_registration_number == number

    future = await rpc_error(
        police.SweepRetention(pb.SweepRetentionRequest(command_id="sweep-4", as_of="2061-01-01"))
    )
    assert future.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_after_shredding_no_store_holds_a_forgotten_number_and_its_key_is_gone(
    root: Path, running: Running
) -> None:
    assert scan(store_roots(root), needles()) == []
    # The key store file holds no trace of the destroyed keys' subjects.
    key_file = (root / "investigation" / "keys" / "police.keys.sqlite").read_bytes()
    for number in (OLD_CLOSED, ORDERED):
        assert cases[number].encode() not in key_file
    assert cases[OLD_SUBMITTED].encode() in key_file


def test_the_polices_command_line_runs_a_sweep_and_an_order(running: Running) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "investigation.adapters.forget_cli",
                "--address",
                running.service.address,
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    swept = cli("sweep", "--as-of", "2059-12-31")
    assert swept.returncode == 0, swept.stderr
    assert swept.stdout.strip() == "as of 2059-12-31: 0 forgotten, 3 kept"
    case_id = cases[RECENT_NOT_INVESTIGATED]
    ordered = cli(
        "order", "--case-id", case_id, "--order-id", "police-order-1", "--on", "2059-12-31"
    )
    assert ordered.returncode == 0, ordered.stderr
    assert ordered.stdout.strip() == f"the police registration number of {case_id} is forgotten"
    refused = cli(
        "order", "--case-id", case_id, "--order-id", "police-order-2", "--on", "2059-12-31"
    )
    assert refused.returncode == 1
    assert refused.stderr.startswith("refused: ALREADY_EXISTS")
