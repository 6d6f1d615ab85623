"""The feeder: plays police, KMar, Labour Inspectorate, OM and IND against the running services.

It drives the services only through their public gRPC APIs, with each organisation's own
credentials, as those systems would: facts with their business dates (often backdated), in the
order the sources register them. Each service gets one bulk ``Submit`` stream per organisation;
every command is validated and answered on its own.

Two things a real source system does, the feeder does too:

* Victims get their pseudonym from intake. The plan's victim ids are the generator's own; the
  first signal of a victim is registered without an id, and the id intake issues is used for
  everything after. A fact about a victim whose signal is not yet registered waits for it.
* The IND decides on triggers: it reads its trigger feed and reports decisions back (a
  temporary permit on an application, an extension when one is due, the end of the permit when
  its basis ended, the non-temporary permit when a ground is reached).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import re
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import grpc
import nats
from google.protobuf.message import Message
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from chainsim.plan import Actor, PlannedCommand
from ketenzicht.intake.v1 import intake_pb2, intake_pb2_grpc
from ketenzicht.investigation.v1 import investigation_pb2, investigation_pb2_grpc
from ketenzicht.prosecution.v1 import prosecution_pb2, prosecution_pb2_grpc
from ketenzicht.residence.v1 import residence_pb2, residence_pb2_grpc
from ketenzicht_common.client import connect

log = logging.getLogger(__name__)

LOCAL_TOKENS = {
    Actor.POLICE: "local-police-token",
    Actor.KMAR: "local-kmar-token",
    Actor.LABOUR_INSPECTORATE: "local-labour-inspectorate-token",
    Actor.OM: "local-om-token",
    Actor.IND: "local-ind-token",
}

# Which bulk command carries each contract event type, per service.
ROUTES: dict[str, tuple[str, str]] = {
    "SignalRegistered": ("intake", "register_signal"),
    "InformativeInterviewHeld": ("intake", "hold_informative_interview"),
    "ReflectionPeriodOffered": ("intake", "offer_reflection_period"),
    "ReflectionPeriodDeclined": ("intake", "decline_reflection_period"),
    "ReportFiled": ("intake", "file_report"),
    "CooperationDeclared": ("intake", "declare_cooperation"),
    "CooperationImpossibleRecorded": ("intake", "record_cooperation_impossible"),
    "ReportWithdrawn": ("intake", "withdraw_report"),
    "VictimOutOfSight": ("intake", "mark_victim_out_of_sight"),
    "IndividualAssessmentCompleted": ("intake", "complete_individual_assessment"),
    "PilotEnrolled": ("intake", "enrol_in_pilot"),
    "PolicePsychologistDeployed": ("intake", "record_pilot_intervention"),
    "SafetyCoordinatorAssigned": ("intake", "record_pilot_intervention"),
    "PeerSupportAssigned": ("intake", "record_pilot_intervention"),
    "InvestigationOpened": ("investigation", "open_investigation"),
    "SuspectIdentified": ("investigation", "identify_suspect"),
    "VictimHeard": ("investigation", "hear_victim"),
    "InvestigationSuspended": ("investigation", "suspend_investigation"),
    "InvestigationResumed": ("investigation", "resume_investigation"),
    "CaseSubmittedToProsecution": ("investigation", "submit_to_prosecution"),
    "InvestigationClosed": ("investigation", "close_investigation"),
    "NoInvestigationDecided": ("investigation", "decide_no_investigation"),
    "CaseRegistered": ("prosecution", "register_case"),
    "ExaminingMagistrateHearingHeld": ("prosecution", "hold_examining_magistrate_hearing"),
    "PresenceAssessed": ("prosecution", "assess_presence"),
    "SuspectSummoned": ("prosecution", "summon_suspect"),
    "CaseDismissed": ("prosecution", "dismiss_case"),
    "OtherDisposalDecided": ("prosecution", "decide_other_disposal"),
    "CaseReopened": ("prosecution", "reopen_case"),
    "CourtHearingHeld": ("prosecution", "hold_court_hearing"),
    "VerdictDelivered": ("prosecution", "deliver_verdict"),
    "AppealLodged": ("prosecution", "lodge_appeal"),
    "CaseFinal": ("prosecution", "mark_case_final"),
    "ReflectionPeriodGranted": ("residence", "grant_reflection_period"),
    "ReflectionPeriodEnded": ("residence", "end_reflection_period"),
    "DublinTransferResumed": ("residence", "resume_dublin_transfer"),
    "NoEuResidenceRightFound": ("residence", "find_no_eu_residence_right"),
}
"""The plan's permit decisions are not sent: the IND player decides on the triggers instead."""

PILOT_INTERVENTIONS = {
    "PolicePsychologistDeployed": "POLICE_PSYCHOLOGIST",
    "SafetyCoordinatorAssigned": "SAFETY_COORDINATOR",
    "PeerSupportAssigned": "PEER_SUPPORT",
}

SERVICES: dict[str, tuple[Any, Any, type[Message]]] = {
    "intake": (intake_pb2, intake_pb2_grpc.IntakeServiceStub, intake_pb2.IntakeCommand),
    "investigation": (investigation_pb2, investigation_pb2_grpc.InvestigationServiceStub,
                      investigation_pb2.InvestigationCommand),
    "prosecution": (prosecution_pb2, prosecution_pb2_grpc.ProsecutionServiceStub,
                    prosecution_pb2.ProsecutionCommand),
    "residence": (residence_pb2, residence_pb2_grpc.ResidenceServiceStub,
                  residence_pb2.ResidenceCommand),
}


def _enum_prefix(enum_name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", enum_name).upper() + "_"


def _wire(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def build_request(kind: type[Message], oneof_field: str, fields: dict[str, Any]) -> Message:
    """The bulk command for one fact: the contract's fields, enums spelled as the wire wants."""
    inner_type = kind.DESCRIPTOR.fields_by_name[oneof_field].message_type
    values: dict[str, Any] = {}
    for wire_field in inner_type.fields:
        name = wire_field.name
        if wire_field.enum_type is not None:
            raw = fields.get(name)
            if raw is None and name == "presence" and "presence_necessary" in fields:
                raw = "NECESSARY" if fields["presence_necessary"] else "NOT_NECESSARY"
            if raw is None:
                continue
            prefix = _enum_prefix(wire_field.enum_type.name)
            lookup = wire_field.enum_type.values_by_name
            if wire_field.is_repeated:
                values[name] = [lookup[prefix + str(v)].number for v in raw]
            else:
                values[name] = lookup[prefix + str(raw)].number
        elif name in fields and fields[name] is not None:
            raw = fields[name]
            values[name] = [_wire(v) for v in raw] if isinstance(raw, list | tuple) else _wire(raw)
    return kind(**{oneof_field: inner_type._concrete_class(**values)})


class CommandStream:
    """One bulk ``Submit`` stream: send a command, get a future of its result."""

    def __init__(self, stub: Any, window: int = 2000) -> None:
        self._queue: asyncio.Queue[Message | None] = asyncio.Queue()
        self._results: dict[int, asyncio.Future[Any]] = {}
        self._slots = asyncio.Semaphore(window)
        self._sequence = 0
        self._call = stub.Submit(self._requests())
        self._reader = asyncio.create_task(self._read())

    async def _requests(self) -> AsyncIterator[Message]:
        while (request := await self._queue.get()) is not None:
            yield request

    async def _read(self) -> None:
        try:
            async for result in self._call:
                future = self._results.pop(result.sequence)
                self._slots.release()
                if not future.done():
                    future.set_result(result)
        except grpc.aio.AioRpcError as error:
            for future in self._results.values():
                if not future.done():
                    future.set_exception(error)
            raise

    async def send(self, request: Message) -> asyncio.Future[Any]:
        await self._slots.acquire()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._results[self._sequence] = future
        self._sequence += 1
        await self._queue.put(request)
        return future

    async def close(self) -> None:
        await self._queue.put(None)
        with contextlib.suppress(grpc.aio.AioRpcError):
            await self._reader


@dataclass
class FeedReport:
    sent: int = 0
    accepted: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    ind_decisions: Counter[str] = field(default_factory=Counter)
    triggers: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class Endpoints:
    intake: str
    investigation: str
    prosecution: str
    residence: str
    nats_url: str


class Feeder:
    def __init__(self, endpoints: Endpoints, *, today: date, seed: int = 0,
                 tokens: dict[Actor, str] | None = None) -> None:
        self.endpoints = endpoints
        self.today = today
        self.tokens = tokens or LOCAL_TOKENS
        self.random = random.Random(seed)
        self.seed = seed
        self.report = FeedReport()
        self._channels: list[Any] = []
        self._streams: dict[tuple[str, Actor], CommandStream] = {}
        self._victims: dict[str, asyncio.Future[str]] = {}
        self._pending: set[asyncio.Task[None]] = set()

    async def _stream(self, service: str, actor: Actor) -> CommandStream:
        key = (service, actor)
        if key not in self._streams:
            context = connect(getattr(self.endpoints, service), token=self.tokens[actor])
            channel = await context.__aenter__()
            self._channels.append(context)
            self._streams[key] = CommandStream(SERVICES[service][1](channel))
        return self._streams[key]

    def _count(self, result: Any) -> bool:
        if result.HasField("error"):
            self.report.refused[grpc.StatusCode(
                next(c for c in grpc.StatusCode if c.value[0] == result.error.code)).name] += 1
            return False
        self.report.accepted += 1
        return True

    async def _send(self, service: str, actor: Actor, oneof: str,
                    fields: dict[str, Any]) -> Any:
        request = build_request(SERVICES[service][2], oneof, fields)
        self.report.sent += 1
        return await (await self._stream(service, actor)).send(request)

    async def _victim(self, planned_id: str) -> str:
        return await self._victims[planned_id]

    async def feed(self, plan: Iterable[PlannedCommand],
                   progress: Callable[[int], None] | None = None) -> FeedReport:
        """Send the plan; returns when every command of it has been answered."""
        index = 0
        for index, command in enumerate(plan, start=1):
            await self._feed_one(index, command)
            if progress is not None and index % 200 == 0:
                progress(index)
        await self.settled()
        if progress is not None:
            progress(index)
        return self.report

    async def settled(self) -> None:
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    async def _feed_one(self, index: int, command: PlannedCommand) -> None:
        route = ROUTES.get(command.event_type)
        if route is None:
            self.report.skipped[command.event_type] += 1
            return
        service, oneof = route
        fields = dict(command.fields) | {"occurred_on": command.occurred_on,
                                         "command_id": f"chainsim-{self.seed}-{index}"}
        if command.event_type in PILOT_INTERVENTIONS:
            fields["intervention"] = PILOT_INTERVENTIONS[command.event_type]
        planned_victim = str(fields.get("victim_id") or "")
        if command.event_type == "SignalRegistered" and planned_victim not in self._victims:
            # A new victim: intake issues the pseudonym; later facts wait for it.
            issued: asyncio.Future[str] = asyncio.get_running_loop().create_future()
            self._victims[planned_victim] = issued
            fields["victim_id"] = ""
            result_future = await self._send(service, command.actor, oneof, fields)
            self._track(self._settle_victim(result_future, issued))
            return
        if planned_victim:
            if planned_victim not in self._victims:
                self._victims[planned_victim] = asyncio.get_running_loop().create_future()
            issued_id = self._victims[planned_victim]
            if not issued_id.done():
                self._track(self._after_victim(issued_id, service, command.actor, oneof, fields))
                return
            if issued_id.exception() is not None:
                self.report.skipped["victim never registered"] += 1
                return
            fields["victim_id"] = issued_id.result()
        self._track(self._await_result(await self._send(service, command.actor, oneof,
                                                        fields)))

    def _track(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _await_result(self, future: asyncio.Future[Any]) -> None:
        self._count(await future)

    async def _settle_victim(self, future: asyncio.Future[Any],
                             issued: asyncio.Future[str]) -> None:
        result = await future
        if self._count(result):
            issued.set_result(result.signal.victim_id)
        else:
            issued.set_exception(LookupError("signal refused"))

    async def _after_victim(self, issued: asyncio.Future[str], service: str, actor: Actor,
                            oneof: str, fields: dict[str, Any]) -> None:
        try:
            fields["victim_id"] = await issued
        except LookupError:
            self.report.skipped["victim never registered"] += 1
            return
        self._count(await (await self._send(service, actor, oneof, fields)))

    # --- the IND ---

    def _capped(self, day: date) -> date:
        return min(day, self.today)

    def ind_decision(self, kind: str, trigger: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        """What the IND decides on a trigger (a simple, seeded policy)."""
        fires_on = date.fromisoformat(trigger["occurred_on"])
        victim = {"victim_id": trigger["victim_id"]}
        case = {"case_id": trigger.get("case_id")} if trigger.get("case_id") else {}
        if kind == "TemporaryPermitApplicationIndicated" and case:
            start = date.fromisoformat(trigger["application_date"])
            return "grant_temporary_permit", victim | case | {
                "occurred_on": self._capped(start + timedelta(days=self.random.randint(7, 42))),
                "valid_from": start, "valid_until": _plus_year(start)}
        if kind == "TemporaryPermitExtensionDue" and case:
            until = date.fromisoformat(trigger["permit_valid_until"])
            return "extend_temporary_permit", victim | case | {
                "occurred_on": self._capped(fires_on), "valid_until": _plus_year(until)}
        if kind == "TemporaryPermitBasisEnded" and case:
            return "end_temporary_permit", victim | case | {
                "occurred_on": self._capped(fires_on + timedelta(days=14)),
                "end_date": trigger["basis_ended_on"]}
        if kind == "NonTemporaryPermitIndicated":
            return "grant_non_temporary_permit", victim | {
                "occurred_on": self._capped(fires_on + timedelta(days=60))}
        if kind == "NonTemporaryAssessmentRequired":
            decision = ("grant_non_temporary_permit" if self.random.random() < 0.4
                        else "refuse_non_temporary_permit")
            return decision, victim | {"occurred_on": self._capped(fires_on + timedelta(days=90))}
        return None

    async def play_ind(self, stop: asyncio.Event, idle: asyncio.Event,
                       idle_after: float = 3.0) -> None:
        """Read the trigger feed as the IND does and report decisions back, until ``stop``.
        ``idle`` is set whenever nothing has arrived for ``idle_after`` seconds."""
        nc = await nats.connect(self.endpoints.nats_url)
        try:
            js = nc.jetstream()
            while True:
                try:
                    feed = await js.pull_subscribe(
                        "ketenzicht.residence.triggers.>", durable=f"chainsim-ind-{self.seed}",
                        stream="KETENZICHT_IND_TRIGGERS",
                        config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT,
                                              deliver_policy=DeliverPolicy.ALL))
                    break
                except nats.js.errors.NotFoundError:
                    await asyncio.sleep(0.5)
            quiet = 0.0
            number = 0
            while not stop.is_set():
                try:
                    messages = await feed.fetch(200, timeout=0.5)
                except (nats.errors.TimeoutError, TimeoutError):
                    quiet += 0.5
                    if quiet >= idle_after:
                        idle.set()
                    continue
                quiet = 0.0
                idle.clear()
                for message in messages:
                    kind = message.subject.rsplit(".", 1)[-1]
                    self.report.triggers[kind] += 1
                    decision = self.ind_decision(kind, json.loads(message.data))
                    if decision is not None:
                        oneof, fields = decision
                        number += 1
                        fields["command_id"] = f"chainsim-ind-{self.seed}-{number}"
                        self.report.ind_decisions[oneof] += 1
                        self._track(self._await_result(
                            await self._send("residence", Actor.IND, oneof, fields)))
                    await message.ack()
        finally:
            await nc.close()

    async def close(self) -> None:
        await self.settled()
        for stream in self._streams.values():
            await stream.close()
        for context in self._channels:
            await context.__aexit__(None, None, None)


def _plus_year(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)
