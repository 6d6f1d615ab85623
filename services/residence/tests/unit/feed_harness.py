"""The residence service in process, fed facts in a chosen interleaving on a virtual clock.

`FeedRun` runs the real application — the event store (in memory), the command bus on its
writer thread, `ResidenceCommands` with its settling gate — and plays the bus around it: facts
are *published* on their upstream stream (intake, investigation, prosecution) and *delivered*
later in stream order, the IND's decisions come over its calls in any order, and the virtual
monotonic time moves by chosen delays. The watermark observations are the real ones' meaning:
the last sequence of each stream against the sequence residence has applied.

At the end, `standing()` replays the feed residence emitted (triggers and retractions, in the
order stored) the way an IND consumer applies it, and `reference()` is one pass of the rules
over every fact residence holds.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid5

from chainsim.generator import generate
from chainsim.plan import Actor, PlannedCommand
from ketenzicht_common.bus import CommandBus
from ketenzicht_common.clock import FixedClock
from ketenzicht_common.commands import CommandGateway
from ketenzicht_common.consumer import ReceivedEvent
from ketenzicht_common.domain import Provenance
from ketenzicht_common.store import StoreSettings
from ketenzicht_contracts.envelope import Envelope, stream_for
from residence.application import commands as c
from residence.application.residence import (
    UPSTREAM,
    UPSTREAM_STREAMS,
    ResidenceApplication,
    ResidenceCommands,
)
from residence.application.settling import Settling
from residence.domain import TriggerDecision, evaluate
from residence.domain.model import Fact


def snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


NAMESPACE = UUID("7f1c3d0e-2b4a-4c8e-9a61-0d5e3b2f8c17")
IND = Provenance("ind", "ind-residence", "")
COMMAND_OF: dict[str, type[c.VictimDecision]] = {
    "ReflectionPeriodGranted": c.GrantReflectionPeriod,
    "ReflectionPeriodEnded": c.EndReflectionPeriod,
    "TemporaryPermitGranted": c.GrantTemporaryPermit,
    "TemporaryPermitRefused": c.RefuseTemporaryPermit,
    "TemporaryPermitExtended": c.ExtendTemporaryPermit,
    "TemporaryPermitEnded": c.EndTemporaryPermit,
    "NonTemporaryPermitGranted": c.GrantNonTemporaryPermit,
    "NonTemporaryPermitRefused": c.RefuseNonTemporaryPermit,
    "DublinTransferResumed": c.ResumeDublinTransfer,
    "NoEuResidenceRightFound": c.FindNoEuResidenceRight,
}
"""The IND decision each planned IND fact is reported as (its RPC has the command's name)."""
TODAY = date(2026, 6, 1)


@dataclass(frozen=True)
class Fed:
    """One fact of the plan, as it travels: on an upstream stream, or an IND call."""

    channel: str  # an upstream service, or "ind"
    command: PlannedCommand
    event_id: str
    position: int = 1
    """The event's version on its source's aggregate (the corrections of a fact, in order)."""


def scenario_facts(
    seed: int,
    victims: int,
    *,
    start: date = date(2019, 1, 1),
    end: date = date(2024, 12, 31),
    scale: float = 0.02,
    corrections: int = 0,
) -> list[Fed]:
    """The facts of up to ``victims`` victims of a chainsim plan, with every step of the cases
    they take part in, in the plan's order (the order the sources register them); with
    ``corrections`` > 0, that many of the upstream facts the rules read are corrected by their
    source (`with_corrections`)."""
    plan = list(generate(seed, start, end, scale))
    # Victims the rules have most to say about come first (foreign nationals who report),
    # with one Dutch victim and one who never reports, so that scope is covered too.
    nationality: dict[str, str] = {}
    reporting: set[str] = set()
    for command in plan:
        victim = str(command.fields.get("victim_id") or "")
        if command.event_type == "SignalRegistered":
            nationality.setdefault(victim, str(command.fields["nationality_group"]))
        elif command.event_type in ("ReportFiled", "CooperationDeclared"):
            reporting.add(victim)
    # Third-country nationals first: the residence rules are mostly about them, and a plan
    # whose first foreign reporters happen to be EU nationals would raise no trigger.
    foreign = [v for v in nationality if nationality[v] == "THIRD_COUNTRY"]
    foreign += [v for v in nationality if nationality[v] not in ("DUTCH", "THIRD_COUNTRY")]
    chosen = [v for v in foreign if v in reporting][: max(1, victims - 2)]
    chosen += [v for v in foreign if v not in reporting][:1]
    chosen += [v for v in nationality if nationality[v] == "DUTCH"][:1]
    chosen = chosen[:victims]
    cases = {
        str(command.fields["case_id"])
        for command in plan
        if command.fields.get("victim_id") in chosen and command.fields.get("case_id")
    }
    fed: list[Fed] = []
    for index, command in enumerate(plan):
        victim = command.fields.get("victim_id")
        if victim in chosen or (victim is None and command.fields.get("case_id") in cases):
            channel = "ind" if command.service == "residence" else command.service
            fed.append(Fed(channel, command, str(uuid5(NAMESPACE, f"{seed}:{index}"))))
    if corrections:
        fed = with_corrections(fed, random.Random(seed), corrections, seed)
    return [replace(f, position=index + 1) for index, f in enumerate(fed)]


CORRECTABLE = frozenset(
    {
        "SignalRegistered",
        "ReportFiled",
        "CooperationDeclared",
        "ReportWithdrawn",
        "CooperationImpossibleRecorded",
        "InvestigationOpened",
        "CaseSubmittedToProsecution",
        "InvestigationClosed",
        "NoInvestigationDecided",
        "CaseRegistered",
        "SuspectSummoned",
        "CaseDismissed",
        "OtherDisposalDecided",
        "CaseReopened",
        "VerdictDelivered",
        "AppealLodged",
        "CaseFinal",
        "PresenceAssessed",
    }
)
"""The upstream facts the residence rules read, which the harness may correct."""
_OTHER_OUTCOME = {
    "CONVICTION_TRAFFICKING": "ACQUITTAL",
    "CONVICTION_OTHER_OFFENCE_TRAFFICKING_CHARGED": "ACQUITTAL",
    "ACQUITTAL": "CONVICTION_TRAFFICKING",
    "OTHER": "CONVICTION_TRAFFICKING",
}


def with_corrections(fed: list[Fed], rng: random.Random, count: int, seed: int) -> list[Fed]:
    """``fed`` with ``count`` upstream facts corrected by their source, each correction placed
    later on the fact's own stream: an annulment, a date amended (earlier or later, sometimes
    amended again: a correction of a correction), or a verdict's outcome amended."""
    out = list(fed)
    candidates = [f for f in fed if f.channel != "ind" and f.command.event_type in CORRECTABLE]
    for n, target in enumerate(rng.sample(candidates, min(count, len(candidates)))):
        command = target.command
        keys = (
            {"victim_id": command.fields["victim_id"]}
            if target.channel == "intake"
            else {"case_id": command.fields["case_id"]}
            | (
                {"suspect_id": command.fields.get("suspect_id")}
                if target.channel == "prosecution"
                else {}
            )
        )
        kind = rng.choice(["annul", "amend", "amend-twice", "outcome"])
        if kind == "outcome" and command.event_type != "VerdictDelivered":
            kind = "amend"
        steps: list[tuple[bool, date, dict[str, Any]]] = []
        if kind == "annul":
            steps.append((True, command.occurred_on, {}))
        elif kind == "outcome":
            outcome = _OTHER_OUTCOME[str(command.fields["outcome"])]
            steps.append((False, command.occurred_on, {"outcome": outcome}))
        else:
            for _ in range(2 if kind == "amend-twice" else 1):
                shift = timedelta(days=rng.choice([-400, -90, -10, 10, 90, 400]))
                day = min(max(command.occurred_on + shift, date(2015, 1, 1)), TODAY)
                steps.append((False, day, {}))
        at = out.index(target)
        corrected_id = target.event_id
        corrected_on = command.known_on
        for step, (annulled, day, amended) in enumerate(steps):
            corrected_on = min(max(corrected_on, day) + timedelta(days=rng.randint(1, 60)), TODAY)
            fields: dict[str, Any] = keys | {
                "corrected_event_id": corrected_id,
                "original_event_id": target.event_id,
                "corrected_event_type": command.event_type,
                "correction_reason": "REGISTERED_IN_ERROR" if annulled else "WRONG_DATE",
                "fact_occurred_on": day,
            }
            if not annulled:
                fields["amended"] = amended
            correction = Fed(
                target.channel,
                PlannedCommand(
                    actor=Actor.OM if target.channel == "prosecution" else Actor.POLICE,
                    event_type="FactAnnulled" if annulled else "FactAmended",
                    occurred_on=corrected_on,
                    known_on=corrected_on,
                    fields=fields,
                ),
                str(uuid5(NAMESPACE, f"{seed}:correction:{n}:{step}")),
            )
            at = rng.randint(at + 1, len(out))
            out.insert(at, correction)
            corrected_id = correction.event_id
    return out


def interleave(facts: Sequence[Fed], rng: random.Random) -> list[Fed]:
    """A random order that keeps each stream's own order; the IND's calls in any order."""
    channels: dict[str, deque[Fed]] = {}
    ind = [f for f in facts if f.channel == "ind"]
    rng.shuffle(ind)
    for fact in facts:
        if fact.channel != "ind":
            channels.setdefault(fact.channel, deque()).append(fact)
    channels["ind"] = deque(ind)
    out: list[Fed] = []
    while any(channels.values()):
        channel = rng.choice([name for name, queue in channels.items() if queue])
        out.append(channels[channel].popleft())
    return out


@dataclass
class FeedRun:
    grace: float = 1.0
    today: date = TODAY
    app: ResidenceApplication = field(init=False)
    commands: ResidenceCommands = field(init=False)
    now: float = 0.0

    def __post_init__(self) -> None:
        self.app = ResidenceApplication(StoreSettings(backend="memory"))
        self.app.store_id()
        self.bus = CommandBus(self.app)
        self.settling = Settling(UPSTREAM_STREAMS, self.grace)
        self.commands = ResidenceCommands(
            self.app,
            CommandGateway(
                self.bus,
                FixedClock(
                    datetime(self.today.year, self.today.month, self.today.day, 9, tzinfo=UTC)
                ),
            ),
            settling=self.settling,
            monotonic=lambda: self.now,
        )
        self.published = dict.fromkeys(UPSTREAM_STREAMS, 0)
        self.applied = dict.fromkeys(UPSTREAM_STREAMS, 0)
        self.in_flight: dict[str, deque[Fed]] = {s: deque() for s in UPSTREAM}

    def close(self) -> None:
        self.bus.close()
        self.app.close()

    # --- the bus around residence ---

    def observe(self) -> None:
        for stream in UPSTREAM_STREAMS:
            self.settling.observed(
                stream,
                at=self.now,
                last_sequence=self.published[stream],
                applied=self.applied[stream],
            )

    async def settle_ready(self) -> None:
        while True:
            ready, covered = self.settling.ready(limit=64)
            if not ready:
                return
            self.commands.schedule.set(await self.commands.settle(ready, self.today))
            self.settling.settled(ready, covered)

    async def publish(self, fact: Fed) -> None:
        """A fact is stored by its source: on its stream (delivered later), or an IND call."""
        if fact.channel == "ind":
            await self._decide(fact)
            return
        self.in_flight[fact.channel].append(fact)
        self.published[stream_for(fact.channel)] += 1

    async def deliver(self, service: str) -> None:
        fact = self.in_flight[service].popleft()
        await self.commands.note(_received(fact))
        self.applied[stream_for(service)] += 1

    async def _decide(self, fact: Fed) -> None:
        command_class = COMMAND_OF[fact.command.event_type]
        fields = {k: v for k, v in fact.command.fields.items() if k in command_class.model_fields}
        command = command_class(occurred_on=fact.command.occurred_on, **fields)
        # The application method of the decision, named as its RPC is (snake case).
        decide = getattr(self.commands, snake_case(command_class.__name__))
        await decide(command, Provenance("ind", "ind-residence", fact.event_id))

    async def play(
        self,
        order: Iterable[Fed],
        rng: random.Random,
        delays: Sequence[float] = (0.0, 0.01, 0.2, 0.6, 1.5, 4.0),
    ) -> None:
        """Publish the facts in ``order``; between steps, time passes by a random delay, some
        in-flight events are delivered, the streams are observed and settled victims settle."""
        for fact in order:
            await self.publish(fact)
            await self._step(rng, delays)
        await self.drain()

    async def _step(self, rng: random.Random, delays: Sequence[float]) -> None:
        self.now += rng.choice(delays)
        for service in UPSTREAM:
            for _ in range(rng.randint(0, len(self.in_flight[service]))):
                await self.deliver(service)
        self.observe()
        await self.settle_ready()

    async def drain(self) -> None:
        """Everything delivered, the grace period passed, everything settled."""
        for service in UPSTREAM:
            while self.in_flight[service]:
                await self.deliver(service)
        self.now += self.grace + 0.01
        self.observe()
        self.now += 0.01
        self.observe()
        await self.settle_ready()
        assert self.settling.unsettled == 0

    # --- what came out ---

    def emitted(self) -> list[Any]:
        """The triggers and retractions residence stored, in the order the relay sends them."""
        events = []
        start = 1
        while page := self.app.recorder.select_notifications(start, 1000):
            for notification in page:
                event = self.app.mapper.to_domain_event(notification)
                if hasattr(event, "trigger_id"):
                    events.append(event)
            start = page[-1].id + 1
        return events

    def standing(self) -> dict[str, Any]:
        """The feed applied in order, as an IND consumer does: trigger id → trigger event.
        Fails if a key would stand twice."""
        standing: dict[str, Any] = {}
        for event in self.emitted():
            if type(event).__name__ == "TriggerRetracted":
                assert event.retracted_trigger_id in standing, "retraction of nothing standing"
                del standing[event.retracted_trigger_id]
                continue
            keys = {e.trigger_key for e in standing.values()}
            assert event.trigger_key not in keys, f"{event.trigger_key} would stand twice"
            standing[event.trigger_id] = event
        return standing

    async def facts(self) -> list[Fact]:
        return await self.bus.query(self.app.held_facts)

    async def reference(self) -> list[TriggerDecision]:
        """One pass of the rules over every fact residence holds, as of today."""
        return evaluate(await self.facts(), self.today, settings=self.commands.rules)


def _received(fact: Fed) -> ReceivedEvent:
    import json

    command = fact.command
    body = {"occurred_on": command.occurred_on.isoformat()} | {
        k: (v.isoformat() if isinstance(v, date) else v) for k, v in command.fields.items()
    }
    envelope = Envelope(
        event_id=UUID(fact.event_id),
        service=fact.channel,
        event_type=command.event_type,
        version=1,
        occurred_on=command.occurred_on,
        recorded_at=datetime(
            command.known_on.year, command.known_on.month, command.known_on.day, tzinfo=UTC
        ),
        aggregate_id=UUID(fact.event_id),
        aggregate_version=fact.position,
        organisation="police",
        system="test",
    )
    return ReceivedEvent(envelope, envelope.subject, json.dumps(body).encode())


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


__all__ = ["Fed", "FeedRun", "interleave", "run", "scenario_facts", "with_corrections"]
