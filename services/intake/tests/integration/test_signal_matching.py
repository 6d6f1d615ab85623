"""A second organisation's signal about the same person lands on the same victim, found by the
clearing house's match token the organisation computes itself (ADR 0028): over gRPC in a real
process, with the token in no store in the clear; and forgotten with the victim's key, on an
erasure order over gRPC (ForgetMatchLink)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import grpc
import pytest
from intake_cases import signal_request

from intake.application import commands as c
from intake.application.intake import MATCH_TOKEN, IntakeApplication, IntakeCommands
from ketenzicht.intake.v1 import intake_pb2 as pb
from ketenzicht.intake.v1.intake_pb2_grpc import IntakeServiceStub
from ketenzicht_common.bus import CommandBus
from ketenzicht_common.client import connect
from ketenzicht_common.clock import FixedClock
from ketenzicht_common.commands import CommandGateway
from ketenzicht_common.domain import Provenance
from ketenzicht_common.store import StoreSettings
from ketenzicht_common.subject_keys import (
    Controller,
    MemoryKeys,
    SQLiteKeys,
    SubjectKeys,
    new_master_key,
    read_master_key,
)
from ketenzicht_common.testing import TOKENS
from ketenzicht_common.testing.service import Running, reason_of, rpc_error, running_service
from ketenzicht_contracts.events.categories import (
    ExploitationForm,
    NationalityGroup,
    PoliceRegion,
    ResidencePosition,
    SourceOrganisation,
)

pytestmark = pytest.mark.integration

SHARED_KEY = b"the key the registering organisations share, never ketenzicht's"


def match_token(identifying_data: str) -> str:
    """What an organisation computes on its own side, as a clearing house would match."""
    digest = hmac.new(SHARED_KEY, identifying_data.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


PERSON = "Jane Example|1990-01-01|NL"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with running_service(tmp_path_factory.mktemp("intake-matching"), "intake") as started:
        yield started


async def test_another_organisations_signal_finds_the_same_victim_by_its_match_token(
    service: Running,
) -> None:
    token = match_token(PERSON)
    async with connect(service.service.address, token=TOKENS["POLICE"]) as channel:
        first = await IntakeServiceStub(channel).RegisterSignal(
            signal_request(command_id="match-police", match_token=token)
        )
    assert not first.matched
    async with connect(service.service.address, token=TOKENS["KMAR"]) as channel:
        kmar = IntakeServiceStub(channel)
        second = await kmar.RegisterSignal(
            signal_request(
                command_id="match-kmar",
                occurred_on="2022-02-01",
                source_organisation=pb.SOURCE_ORGANISATION_KMAR,
                match_token=token,
            )
        )
        assert second.matched
        assert second.victim_id == first.victim_id
        summary = await kmar.GetVictim(pb.GetVictimRequest(victim_id=first.victim_id))
        assert summary.signals == 2
        # Another person's token is another victim.
        other = await kmar.RegisterSignal(
            signal_request(command_id="match-other", match_token=match_token("someone else"))
        )
        assert not other.matched
        assert other.victim_id != first.victim_id
        # A token that belongs to one victim cannot be booked on another.
        error = await rpc_error(
            kmar.RegisterSignal(
                signal_request(
                    command_id="match-wrong", victim_id=other.victim_id, match_token=token
                )
            )
        )
        assert reason_of(error) == "MATCH_TOKEN_IN_USE"
        assert token not in (error.details() or "")
        # Not a token: refused at the edge.
        bad = await rpc_error(
            kmar.RegisterSignal(signal_request(command_id="match-bad", match_token=PERSON))
        )
        assert "match_token" in (bad.details() or "")

    # Neither the identifying data nor the token is in any file intake wrote (events, WAL,
    # command log, key store, log): only the blind index of the token under intake's key.
    root = service.store.parent
    for path in [p for p in root.rglob("*") if p.is_file()]:
        content = path.read_bytes()
        assert token.encode() not in content, path
        assert b"Jane Example" not in content, path


def _signal(source: SourceOrganisation, token: str) -> c.RegisterSignal:
    return c.RegisterSignal(
        occurred_on=date(2022, 1, 3),
        source_organisation=source,
        form=ExploitationForm.LABOUR,
        nationality_group=NationalityGroup.THIRD_COUNTRY,
        residence_position=ResidencePosition.IRREGULAR,
        region=PoliceRegion.LIMBURG,
        match_token=token,
    )


async def test_forgetting_the_victims_key_removes_the_match_link(tmp_path: Path) -> None:
    app = IntakeApplication(StoreSettings(sqlite_path=str(tmp_path / "events.sqlite")))
    app.store_id()
    keys = SubjectKeys(Controller.POLICE, base64.b64decode(new_master_key()), MemoryKeys())
    bus = CommandBus(app)
    clock = FixedClock(datetime(2024, 1, 1, tzinfo=UTC))
    commands = IntakeCommands(CommandGateway(bus, clock), keys=keys)
    token = match_token(PERSON)
    try:
        first = await commands.register_signal(
            _signal(SourceOrganisation.POLICE, token), Provenance("politie", "bvh", "f-1")
        )
        victim = first.answer.victim_id
        assert keys.find(MATCH_TOKEN, token) == victim
        assert commands.forget_match(victim)
        assert keys.find(MATCH_TOKEN, token) is None
        later = await commands.register_signal(
            _signal(SourceOrganisation.LABOUR_INSPECTORATE, token),
            Provenance("nla", "inspection", "f-2"),
        )
        # The link is gone: the later signal is a new victim, and the first one's facts stay.
        assert not later.answer.matched
        assert later.answer.victim_id != victim
        assert len(app.victim(victim).signals) == 1
    finally:
        bus.close()
        app.close()


def _index_files(root: Path) -> list[Path]:
    return [p for p in (root / "intake" / "keys").glob("police.keys.sqlite*") if p.is_file()]


async def test_an_erasure_order_over_grpc_forgets_the_match_link_and_leaves_no_trace(
    tmp_path: Path,
) -> None:
    """ForgetMatchLink: given by an organisation that signalled the victim, it destroys the
    victim's key and the blind index of the token with it (the index entry is in no file of the
    key store any more); a later signal with the token is a new victim, the facts stay."""
    token = match_token("Joe Example|1985-05-05|RO")
    with running_service(tmp_path, "intake") as service:
        master = read_master_key(tmp_path / "intake" / "keys" / "police.master-key")
        digest = SubjectKeys(Controller.POLICE, master, MemoryKeys()).digest(MATCH_TOKEN, token)
        async with connect(service.service.address, token=TOKENS["POLICE"]) as channel:
            police = IntakeServiceStub(channel)
            first = await police.RegisterSignal(
                signal_request(command_id="erase-police", match_token=token)
            )
        assert any(digest in p.read_bytes() for p in _index_files(tmp_path))
        async with connect(service.service.address, token=TOKENS["LABOUR_INSPECTORATE"]) as ch:
            # The Labour Inspectorate never signalled this victim: not its order to give.
            stranger = await rpc_error(
                IntakeServiceStub(ch).ForgetMatchLink(
                    pb.ForgetMatchLinkRequest(
                        command_id="erase-nla",
                        victim_id=first.victim_id,
                        occurred_on="2022-03-01",
                        order_id="ORDER-NLA-1",
                    )
                )
            )
        assert stranger.code() == grpc.StatusCode.PERMISSION_DENIED
        async with connect(service.service.address, token=TOKENS["KMAR"]) as channel:
            kmar = IntakeServiceStub(channel)
            matched = await kmar.RegisterSignal(
                signal_request(
                    command_id="erase-kmar",
                    occurred_on="2022-02-01",
                    source_organisation=pb.SOURCE_ORGANISATION_KMAR,
                    match_token=token,
                )
            )
            assert matched.matched
            order = pb.ForgetMatchLinkRequest(
                command_id="erase-order",
                victim_id=first.victim_id,
                occurred_on="2022-03-01",
                order_id="ORDER-KM-7",
            )
            ack = await kmar.ForgetMatchLink(order)
            assert not ack.replayed
            # The same order again (a client's retry) is acknowledged, not refused; a new order
            # finds the link gone.
            await kmar.ForgetMatchLink(order)
            again = await rpc_error(
                kmar.ForgetMatchLink(
                    pb.ForgetMatchLinkRequest(
                        command_id="erase-order-2",
                        victim_id=first.victim_id,
                        occurred_on="2022-03-02",
                        order_id="ORDER-KM-8",
                    )
                )
            )
            assert again.code() == grpc.StatusCode.ALREADY_EXISTS
            later = await kmar.RegisterSignal(
                signal_request(
                    command_id="erase-later",
                    occurred_on="2022-04-01",
                    source_organisation=pb.SOURCE_ORGANISATION_KMAR,
                    match_token=token,
                )
            )
            assert not later.matched
            assert later.victim_id != first.victim_id
            # The token is the later victim's now; and no token is booked on the first victim
            # again, which would undo the order.
            for key, given in (("taken", token), ("fresh", match_token("Joe's other record"))):
                relink = await rpc_error(
                    kmar.RegisterSignal(
                        signal_request(
                            command_id=f"erase-relink-{key}",
                            occurred_on="2022-04-02",
                            victim_id=first.victim_id,
                            match_token=given,
                        )
                    )
                )
                assert reason_of(relink) == (
                    "MATCH_TOKEN_IN_USE" if key == "taken" else "MATCH_LINK_FORGOTTEN"
                )
            summary = await kmar.GetVictim(pb.GetVictimRequest(victim_id=first.victim_id))
            assert summary.signals == 2  # the facts stay
    # The index entry that pointed at the first victim is in no file of the key store (secure
    # delete, WAL truncated); the token's only entry is the later victim's, under its own key.
    store = SubjectKeys(
        Controller.POLICE, master, SQLiteKeys(tmp_path / "intake" / "keys" / "police.keys.sqlite")
    )
    try:
        assert store.find(MATCH_TOKEN, token) == later.victim_id
        assert first.victim_id not in store.subjects()
        for path in _index_files(tmp_path):
            assert first.victim_id.encode() not in path.read_bytes(), path
    finally:
        store.close()
    # No file intake wrote holds the token or the order's erased link in the clear.
    for path in [p for p in tmp_path.rglob("*") if p.is_file()]:
        assert token.encode() not in path.read_bytes(), path
