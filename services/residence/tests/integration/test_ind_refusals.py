"""The IND's decisions are always recorded, never refused by what residence happens to know.

An extension or end of a permit residence has not seen granted, a second non-temporary permit,
a reflection period the rules do not allow: each is the IND's own decision, stored as the fact
it is and acknowledged. Where the rules say a decision was not allowed (R4), residence tells
the IND so with a finding on its feed (`DecisionNotAllowedFound`); a decision that is allowed
raises none.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from ketenzicht.residence.v1 import residence_pb2
from ketenzicht.residence.v1.residence_pb2_grpc import ResidenceServiceStub
from ketenzicht_common.bus import CommandBus
from ketenzicht_common.client import connect
from ketenzicht_common.clock import FixedClock
from ketenzicht_common.commands import CommandGateway
from ketenzicht_common.domain import Provenance
from ketenzicht_common.processes import NatsServer
from ketenzicht_common.store import StoreSettings
from ketenzicht_common.testing import TOKENS
from ketenzicht_common.testing.fixtures import ServiceFactory
from ketenzicht_common.testing.jetstream import payload_of, publish_event, stream_messages
from ketenzicht_contracts.events import intake
from residence.application import commands as c
from residence.application.residence import ResidenceApplication, ResidenceCommands

pytestmark = pytest.mark.integration


def ind(command_id: str) -> Provenance:
    return Provenance("ind", "ind-residence", command_id)


async def test_decisions_residence_once_refused_are_stored_and_acknowledged(tmp_path: Path) -> None:
    app = ResidenceApplication(StoreSettings(sqlite_path=str(tmp_path / "events.sqlite")))
    app.store_id()
    bus = CommandBus(app)
    commands = ResidenceCommands(
        app, CommandGateway(bus, FixedClock(datetime(2024, 1, 1, tzinfo=UTC)))
    )
    try:
        before = app.max_notification_id()
        # No grant of this permit is known: the IND extended and ended it all the same.
        extended = await commands.extend_temporary_permit(
            c.ExtendTemporaryPermit(
                victim_id="victim-unknown",
                case_id="case-x",
                occurred_on=date(2023, 5, 1),
                valid_until=date(2024, 5, 1),
            ),
            ind("extend-1"),
        )
        ended = await commands.end_temporary_permit(
            c.EndTemporaryPermit(
                victim_id="victim-unknown",
                case_id="case-x",
                occurred_on=date(2023, 6, 1),
                end_date=date(2023, 6, 1),
            ),
            ind("end-1"),
        )
        # A second non-temporary permit: recorded as the IND reported it.
        granted = [
            await commands.grant_non_temporary_permit(
                c.GrantNonTemporaryPermit(
                    victim_id="victim-unknown", occurred_on=date(2023, 7, day)
                ),
                ind(f"non-temp-{day}"),
            )
            for day in (1, 2)
        ]

        acknowledged = [extended, ended, *granted]
        assert all(len(result.event_ids) == 1 for result in acknowledged)
        assert not any(result.replayed for result in acknowledged)
        ids = [result.event_ids[0] for result in acknowledged]
        assert len(set(ids)) == 4
        assert app.max_notification_id() > before
        assert await bus.query(lambda: app.victim_ids()) == ["victim-unknown"]

        # Each is a fact of the victim's file, under the event id the IND was given.
        file = await bus.query(lambda: app.file_of("victim-unknown"))
        assert file is not None
        assert {str(i) for i in ids} <= set(file.facts)
        recorded = [type(fact).__name__ for fact in file.facts.values()]
        assert sorted(recorded) == sorted(
            [
                "TemporaryPermitExtended",
                "TemporaryPermitEnded",
                "NonTemporaryPermitGranted",
                "NonTemporaryPermitGranted",
            ]
        )

        # The same command again is acknowledged with what it stored the first time.
        stored = app.max_notification_id()
        again = await commands.extend_temporary_permit(
            c.ExtendTemporaryPermit(
                victim_id="victim-unknown",
                case_id="case-x",
                occurred_on=date(2023, 5, 1),
                valid_until=date(2024, 5, 1),
            ),
            ind("extend-1"),
        )
        assert again.event_ids == extended.event_ids
        assert again.replayed
        assert app.max_notification_id() == stored
    finally:
        bus.close()
        app.close()


Trigger = dict[str, Any]


async def residence_triggers(
    url: NatsServer, holds: Callable[[list[Trigger]], bool], timeout: float = 20.0
) -> list[Trigger]:
    """What residence published (its stream), once ``holds`` is true of it."""
    deadline = time.monotonic() + timeout
    while True:
        published = [
            payload_of(m) | {"_subject": m.subject}
            for m in await stream_messages(url, "KETENZICHT_RESIDENCE")
        ]
        if holds(published) or time.monotonic() > deadline:
            return published
        await asyncio.sleep(0.1)


def of_kind(published: list[Trigger], kind: str, victim_id: str | None = None) -> list[Trigger]:
    return [
        t
        for t in published
        if str(t["_subject"]).endswith(f".{kind}")
        and (victim_id is None or t["victim_id"] == victim_id)
    ]


async def signal_of(url: NatsServer, victim_id: str, on: date, position: str) -> None:
    await publish_event(
        url,
        intake.SignalRegistered(
            occurred_on=on,
            victim_id=victim_id,
            signal_id=f"signal-{victim_id}",
            source_organisation="POLICE",
            form="SEXUAL",
            minor=False,
            nationality_group="THIRD_COUNTRY",
            residence_position=position,
            region="AMSTERDAM",
        ),
    )


async def test_a_reflection_period_the_rules_do_not_allow_is_recorded_and_found(
    nats_server: NatsServer, service_factory: ServiceFactory
) -> None:
    residence = service_factory("residence", nats_server)
    # A Dublin claimant could not have a reflection period until 2023-05-18 (WBV 2023/11);
    # from then on for 30 days. A third-country national without lawful residence always.
    await signal_of(nats_server, "victim-dublin-early", date(2023, 3, 1), "DUBLIN_CLAIMANT")
    await signal_of(nats_server, "victim-dublin-late", date(2023, 5, 10), "DUBLIN_CLAIMANT")
    await signal_of(nats_server, "victim-irregular", date(2023, 3, 1), "IRREGULAR")
    # The grants follow at once: residence need not have applied the signals yet, the rules
    # judge each grant on all the facts once the victim has settled.
    grants = {
        "victim-dublin-early": "2023-03-10",
        "victim-dublin-late": "2023-05-18",
        "victim-irregular": "2023-03-10",
    }
    acks = {}
    async with connect(residence.address, token=TOKENS["IND"]) as channel:
        stub = ResidenceServiceStub(channel)
        for victim_id, granted_on in grants.items():
            acks[victim_id] = await stub.GrantReflectionPeriod(
                residence_pb2.VictimDecisionRequest(victim_id=victim_id, occurred_on=granted_on)
            )
    # Stored and acknowledged, the one not allowed as much as the others.
    assert all(len(ack.event_ids) == 1 and not ack.replayed for ack in acks.values())

    # The allowed periods expire without a report (R6, 3 months; 30 days for the Dublin
    # claimant): those triggers come with the same settling that judges every grant.
    published = await residence_triggers(
        nats_server,
        lambda ts: bool(
            of_kind(ts, "DecisionNotAllowedFound")
            and of_kind(ts, "ReflectionPeriodExpiryDue", "victim-irregular")
            and of_kind(ts, "ReflectionPeriodExpiryDue", "victim-dublin-late")
        ),
    )

    recorded = of_kind(published, "ReflectionPeriodGranted")
    assert sorted(g["victim_id"] for g in recorded) == sorted(grants)

    [finding] = of_kind(published, "DecisionNotAllowedFound")
    assert finding["_subject"] == "ketenzicht.residence.triggers.ind.DecisionNotAllowedFound"
    assert finding["victim_id"] == "victim-dublin-early"
    assert finding["decision_event_id"] == acks["victim-dublin-early"].event_ids[0]
    assert finding["decision_event_id"] in finding["based_on"]
    assert (finding["rule"], finding["occurred_on"]) == ("R4", "2023-03-10")
    assert "Dublin claimant" in finding["reason"]

    # The grant not allowed is no reflection period for the other rules: it does not expire.
    assert not of_kind(published, "ReflectionPeriodExpiryDue", "victim-dublin-early")
    expiries = {
        t["victim_id"]: t["expired_on"] for t in of_kind(published, "ReflectionPeriodExpiryDue")
    }
    assert expiries == {"victim-irregular": "2023-06-10", "victim-dublin-late": "2023-06-17"}

    # The finding is on the IND's own feed.
    feed = await stream_messages(nats_server, "KETENZICHT_IND_TRIGGERS", at_least=3, timeout=20)
    on_feed = [payload_of(m) for m in feed if m.subject.endswith(".DecisionNotAllowedFound")]
    assert [t["trigger_id"] for t in on_feed] == [finding["trigger_id"]]
