"""The IND corrects its own decisions over real gRPC (docs/domain.md#corrections): annulled and
amended as every writing service's facts are, with the same refusals, and the feed follows the
decisions as they stand — here an annulled permit extension takes away three years of holding,
and the ground it gave is retracted, naming the annulment."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import grpc
import pytest
from residence_in_process import residence_running

from ketenzicht.residence.v1 import residence_pb2 as pb
from ketenzicht.residence.v1.residence_pb2_grpc import ResidenceServiceStub
from ketenzicht_common.client import connect
from ketenzicht_common.clock import FixedClock
from ketenzicht_common.processes import NatsServer
from ketenzicht_common.store import StoreSettings
from ketenzicht_common.testing import TOKENS
from ketenzicht_common.testing.jetstream import (
    attributes_of,
    payload_of,
    publish_event,
    stream_messages,
)
from ketenzicht_common.testing.service import reason_of, rpc_error
from ketenzicht_contracts.events import intake, investigation
from ketenzicht_contracts.events.categories import (
    ExploitationForm,
    NationalityGroup,
    PoliceRegion,
    ResidencePosition,
    SourceOrganisation,
)
from residence.application.files import VictimFile
from residence.application.residence import ResidenceApplication
from residence.domain import evaluate

pytestmark = pytest.mark.integration

TODAY = date(2026, 6, 1)
VICTIM, CASE = "victim-ind-corrected", "case-ind-corrected"
REGISTERED_IN_ERROR, WRONG_DATE = 1, 5
UNKNOWN_EVENT_ID = "00000000-0000-4000-8000-000000000000"


async def _messages(bus: NatsServer) -> list[Any]:
    return await stream_messages(bus, "KETENZICHT_RESIDENCE")


async def _until(bus: NatsServer, holds: Any, timeout: float = 30.0) -> list[Any]:
    """The residence stream once ``holds`` is true of it and it has stopped growing."""
    loop = asyncio.get_running_loop()
    deadline, last, since = loop.time() + timeout, -1, loop.time()
    while loop.time() < deadline:
        messages = await _messages(bus)
        if len(messages) != last:
            last, since = len(messages), loop.time()
        elif holds(messages) and loop.time() - since >= 2.0:
            return messages
        await asyncio.sleep(0.3)
    raise AssertionError("the residence stream did not settle as expected")


def _standing(messages: list[Any]) -> dict[str, dict[str, Any]]:
    """The triggers that stand on the feed, applied in order."""
    standing: dict[str, dict[str, Any]] = {}
    for message in messages:
        if ".triggers." not in message.subject:
            continue
        trigger = payload_of(message)
        if message.subject.endswith(".TriggerRetracted"):
            del standing[str(trigger["retracted_trigger_id"])]
        else:
            standing[str(trigger["trigger_id"])] = trigger
    return standing


def _three_years(messages: list[Any]) -> list[dict[str, Any]]:
    return [
        t
        for t in _standing(messages).values()
        if t["rule"] == "R13" and t.get("ground") == "THREE_YEARS"
    ]


def _body(messages: list[Any], event_id: str) -> tuple[str, dict[str, Any]]:
    (found,) = [m for m in messages if attributes_of(m)["id"] == event_id]
    return found.subject, payload_of(found)


async def test_the_ind_corrects_its_decisions_and_the_feed_follows(
    nats_server: NatsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KETENZICHT_RESIDENCE_SETTLE_GRACE_SECONDS", "0.3")
    clock = FixedClock(datetime(TODAY.year, TODAY.month, TODAY.day, 9, tzinfo=UTC))
    report_id = str(uuid.uuid4())
    for payload, event_id in (
        (
            intake.SignalRegistered(
                occurred_on=date(2020, 2, 20),
                victim_id=VICTIM,
                signal_id="signal-ind-corrected",
                source_organisation=SourceOrganisation.POLICE,
                form=ExploitationForm.SEXUAL,
                minor=False,
                nationality_group=NationalityGroup.THIRD_COUNTRY,
                residence_position=ResidencePosition.IRREGULAR,
                region=PoliceRegion.AMSTERDAM,
            ),
            None,
        ),
        (
            intake.ReportFiled(occurred_on=date(2020, 3, 1), victim_id=VICTIM, case_id=CASE),
            report_id,
        ),
        (investigation.InvestigationOpened(occurred_on=date(2020, 3, 2), case_id=CASE), None),
    ):
        await publish_event(nats_server, payload, event_id=event_id, organisation="politie")

    async with (
        residence_running(nats_server, tmp_path / "residence", clock) as address,
        connect(address, token=TOKENS["IND"]) as channel,
    ):
        ind = ResidenceServiceStub(channel)

        def permit(command_id: str, on: str, until: str) -> Any:
            return ind.ExtendTemporaryPermit(
                pb.ExtendTemporaryPermitRequest(
                    command_id=command_id,
                    victim_id=VICTIM,
                    case_id=CASE,
                    occurred_on=on,
                    valid_until=until,
                )
            )

        granted = await ind.GrantTemporaryPermit(
            pb.GrantTemporaryPermitRequest(
                command_id="grant",
                victim_id=VICTIM,
                case_id=CASE,
                occurred_on="2020-03-10",
                valid_from="2020-03-01",
                valid_until="2021-03-01",
            )
        )
        (grant_id,) = granted.event_ids
        await permit("extend-1", "2021-02-15", "2022-03-01")
        (extension_id,) = (await permit("extend-2", "2022-02-15", "2024-03-01")).event_ids

        # Held without a gap from 2020-03-01 past 2023-03-01 while the case runs: R13.
        messages = await _until(nats_server, lambda ms: bool(_three_years(ms)))
        (ground,) = _three_years(messages)
        assert ground["occurred_on"] == "2023-03-01"

        def annul(
            command_id: str,
            event_id: str,
            victim_id: str = VICTIM,
            reason: int = REGISTERED_IN_ERROR,
        ) -> Any:
            return ind.AnnulFact(
                pb.AnnulFactRequest(
                    command_id=command_id,
                    victim_id=victim_id,
                    occurred_on="2026-05-01",
                    corrected_event_id=event_id,
                    reason=reason,
                )
            )

        def amend(command_id: str, event_id: str, fact_occurred_on: str = "", **fields: str) -> Any:
            return ind.AmendFact(
                pb.AmendFactRequest(
                    command_id=command_id,
                    victim_id=VICTIM,
                    occurred_on="2026-05-02",
                    corrected_event_id=event_id,
                    reason=WRONG_DATE,
                    fact_occurred_on=fact_occurred_on,
                    amended=pb.ResidenceAmendedFields(**fields),
                )
            )

        # The refusals every writing service gives; nothing stored, nothing published.
        failed = grpc.StatusCode.FAILED_PRECONDITION
        for call, code, reason in (
            (annul("r-unknown", UNKNOWN_EVENT_ID), failed, "FACT_NOT_FOUND"),
            (annul("r-other-victim", grant_id, "victim-ind-other"), failed, "FACT_NOT_FOUND"),
            (amend("r-field", grant_id, end_date="2021-01-01"), failed, "FIELD_NOT_IN_FACT"),
            (amend("r-same", grant_id, valid_until="2021-03-01"), failed, "NOTHING_AMENDED"),
            (amend("r-date", grant_id, valid_until="2021-02-30"), None, None),
            (amend("r-backwards", grant_id, valid_until="2020-02-01"), None, None),
            (amend("r-future", grant_id, fact_occurred_on="2026-07-01"), None, None),
            (amend("r-nothing", grant_id), None, None),
            (annul("r-reason", grant_id, reason=WRONG_DATE), None, None),
            # The police's report: residence holds it, but only the police correct it.
            (annul("r-police", report_id), grpc.StatusCode.PERMISSION_DENIED, None),
        ):
            error = await rpc_error(call)
            assert error.code() == (code or grpc.StatusCode.INVALID_ARGUMENT), error.details()
            if reason is not None:
                assert reason_of(error) == reason, error.details()

        # A correction of a correction: the first permit's end amended twice (the first on the
        # bulk stream, then retried: the retry answers the first result and stores nothing).
        async def bulk() -> Any:
            yield pb.ResidenceCommand(
                amend_fact=pb.AmendFactRequest(
                    command_id="amend-1",
                    victim_id=VICTIM,
                    occurred_on="2026-05-02",
                    corrected_event_id=grant_id,
                    reason=WRONG_DATE,
                    amended=pb.ResidenceAmendedFields(valid_until="2021-04-01"),
                )
            )

        (result,) = [r async for r in ind.Submit(bulk())]
        assert result.HasField("ack"), result
        (first_id,) = result.ack.event_ids
        retried = await amend("amend-1", grant_id, valid_until="2021-04-01")
        assert retried.replayed
        assert list(retried.event_ids) == [first_id]
        (second_id,) = (await amend("amend-2", first_id, valid_until="2021-03-15")).event_ids

        # The second extension was reported in error: annulled, and only once.
        (annulled_id,) = (await annul("annul-extension", extension_id)).event_ids
        again = await rpc_error(annul("annul-again", extension_id))
        assert (again.code(), reason_of(again)) == (failed, "FACT_ANNULLED")

        messages = await _until(nats_server, lambda ms: not _three_years(ms))
    corrections = [
        m for m in messages if m.subject.rsplit(".", 1)[1] in ("FactAnnulled", "FactAmended")
    ]
    assert [attributes_of(m)["id"] for m in corrections] == [
        first_id,
        second_id,
        annulled_id,
    ]  # nothing of the refusals
    assert {attributes_of(m)["organisation"] for m in corrections} == {"ind"}

    subject, first = _body(messages, first_id)
    assert subject == "ketenzicht.residence.FactAmended"
    assert (first["corrected_event_id"], first["original_event_id"]) == (grant_id, grant_id)
    assert first["amended"]["valid_until"] == "2021-04-01"
    assert first["amended"]["valid_from"] == "2020-03-01"
    subject, second = _body(messages, second_id)
    assert (second["corrected_event_id"], second["original_event_id"]) == (first_id, grant_id)
    assert second["amended"]["valid_until"] == "2021-03-15"
    subject, annulment = _body(messages, annulled_id)
    assert subject == "ketenzicht.residence.FactAnnulled"
    assert annulment["corrected_event_type"] == "TemporaryPermitExtended"
    assert annulment["fact_occurred_on"] == "2022-02-15"

    # The ground resting on the annulled extension is retracted, the annulment named.
    retractions = [payload_of(m) for m in messages if m.subject.endswith(".TriggerRetracted")]
    (retraction,) = [r for r in retractions if r["retracted_trigger_id"] == ground["trigger_id"]]
    assert annulled_id in retraction["caused_by"]

    # And the feed is the reference evaluation of the decisions as they stand.
    app = ResidenceApplication(
        StoreSettings(sqlite_path=str(tmp_path / "residence" / "events.sqlite"))
    )
    try:
        file = app.repository.get(VictimFile.id_for(VICTIM))
        held = list(file.facts.values())
        held += [
            f for c in file.case_ids() if (case := app.case_file(c)) for f in case.facts.values()
        ]
    finally:
        app.close()
    reference = evaluate(held, TODAY)
    assert not [d for d in reference if d.rule == "R13"]
    assert sorted((t["trigger_key"], t["occurred_on"]) for t in _standing(messages).values()) == (
        sorted((d.key, d.fires_on.isoformat()) for d in reference)
    )
