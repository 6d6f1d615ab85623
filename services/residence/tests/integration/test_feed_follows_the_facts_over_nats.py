"""The feed is a function of the facts, through the real nats-server and gRPC.

Victims from chainsim's generator: their intake, investigation and prosecution facts are
published on the upstream streams in a random interleaving (each stream in its own order) with
random pauses, and the IND's decisions are reported over gRPC in random order. Once residence
has settled, the feed on KETENZICHT_RESIDENCE, applied in order, equals one pass of the rules
over every fact residence stored, and no key ever stands twice.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest
from feed_harness import COMMAND_OF, TODAY, interleave, scenario_facts, snake_case
from residence_in_process import residence_running

from chainsim.feeder import build_request
from ketenzicht.residence.v1 import residence_pb2
from ketenzicht.residence.v1.residence_pb2_grpc import ResidenceServiceStub
from ketenzicht_common.client import connect
from ketenzicht_common.clock import FixedClock
from ketenzicht_common.processes import NatsServer
from ketenzicht_common.store import StoreSettings
from ketenzicht_common.testing import TOKENS
from ketenzicht_common.testing.jetstream import payload_of, publish_event, stream_messages
from residence.application.residence import ResidenceApplication
from residence.domain import evaluate

pytestmark = pytest.mark.integration


async def _quiet(url: NatsServer, quiet_seconds: float = 3.0, timeout: float = 60.0) -> None:
    """Wait until residence's stream stops growing (its feed has settled)."""
    last, since = -1, asyncio.get_running_loop().time()
    deadline = since + timeout
    while asyncio.get_running_loop().time() < deadline:
        count = len(await stream_messages(url, "KETENZICHT_RESIDENCE"))
        now = asyncio.get_running_loop().time()
        if count != last:
            last, since = count, now
        elif now - since >= quiet_seconds:
            return
        await asyncio.sleep(0.5)


async def test_the_feed_over_nats_ends_in_one_pass_of_the_rules(
    nats_server: NatsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KETENZICHT_RESIDENCE_SETTLE_GRACE_SECONDS", "0.3")
    rng = random.Random(2026)
    facts = interleave(scenario_facts(32, 5), rng)
    rpc_of = {event: command.__name__ for event, command in COMMAND_OF.items()}
    clock = FixedClock(datetime(TODAY.year, TODAY.month, TODAY.day, 9, tzinfo=UTC))
    async with residence_running(nats_server, tmp_path / "residence", clock) as address:
        async with connect(address, token=TOKENS["IND"]) as channel:
            ind = ResidenceServiceStub(channel)
            for number, fed in enumerate(facts):
                command = fed.command
                if fed.channel == "ind":
                    name = rpc_of[command.event_type]
                    bulk = build_request(
                        residence_pb2.ResidenceCommand,
                        snake_case(name),
                        dict(command.fields)
                        | {"occurred_on": command.occurred_on, "command_id": f"ind-{number}"},
                    )
                    await getattr(ind, name)(getattr(bulk, snake_case(name)))
                else:
                    await publish_event(nats_server, command.to_payload(), event_id=fed.event_id)
                if rng.random() < 0.2:
                    await asyncio.sleep(rng.choice([0.05, 0.4, 1.0]))
        await _quiet(nats_server)

    standing: dict[str, dict[str, object]] = {}
    for message in await stream_messages(nats_server, "KETENZICHT_RESIDENCE"):
        if ".triggers." not in message.subject:
            continue
        trigger = payload_of(message)
        if message.subject.endswith(".TriggerRetracted"):
            del standing[str(trigger["retracted_trigger_id"])]
            continue
        assert trigger["trigger_key"] not in {t["trigger_key"] for t in standing.values()}
        standing[str(trigger["trigger_id"])] = trigger

    app = ResidenceApplication(
        StoreSettings(sqlite_path=str(tmp_path / "residence" / "events.sqlite"))
    )
    try:
        reference = evaluate(app.held_facts(), TODAY)
    finally:
        app.close()
    assert reference, "the scenario raises triggers"
    assert sorted((t["trigger_key"], t["occurred_on"]) for t in standing.values()) == sorted(
        (d.key, d.fires_on.isoformat()) for d in reference
    )
