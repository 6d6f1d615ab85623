"""The feeder: plays police, KMar, Labour Inspectorate, OM and IND against the running services.

It drives the services only through their public gRPC APIs, with each organisation's own
credentials, as those systems would: facts with their business dates (often backdated), in the
order the sources register them. Each service gets one bulk ``Submit`` stream per organisation;
every command is validated and answered on its own.

Two things a real source system does, the feeder does too:

* Victims get their pseudonym from intake. The plan's victim ids are the generator's own; the
  first signal of a victim is registered without an id, and the id intake issues is used for
  everything after. A fact about a victim whose signal is not yet registered waits for it.
* Cases get theirs from investigation. The plan's case id stands for the police's own
  registration number (``source_case_number``): before the first fact that names a case, the
  police (KMar, the Labour Inspectorate: whoever states that fact) open the case under that
  number, and the pseudonym investigation issues is used for every fact of the case, at intake
  and the OM too. A fact about a case not yet opened waits for it.
* The IND decides on triggers: it reads its trigger feed and reports decisions back (a
  temporary permit on an application, an extension when one is due, the end of the permit when
  its basis ended, the non-temporary permit when a ground is reached).

With a scenario clock (``clock_file``, the file every service reads its present from, see
ketenzicht_common.clock) the feed also moves time: before the commands registered on a day it
sets the present to that day, and it moves on only once every command of the day is answered,
so no service lives past a day whose facts are still in flight. The IND decides on each
trigger by the trigger alone (the same seed and trigger give the same decision and dates every
run), and a decision dated after the present waits until the feed reaches its day, as the real
IND decides on that day and not before.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import heapq
import json
import logging
import random
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Final

import grpc
import nats
import nats.js.errors
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2

from chainsim.plan import MATCHED, Actor, PlannedCommand
from chainsim.retractions import Registration, RetractionSummary, summarise
from ketenzicht.intake.v1 import intake_pb2, intake_pb2_grpc
from ketenzicht.investigation.v1 import investigation_pb2, investigation_pb2_grpc
from ketenzicht.prosecution.v1 import prosecution_pb2, prosecution_pb2_grpc
from ketenzicht.residence.v1 import residence_pb2, residence_pb2_grpc
from ketenzicht_common.bus_access import Bus, addressee_feed
from ketenzicht_common.client import connect
from ketenzicht_common.clock import SETTLE_SECONDS, noon_on, write_present
from ketenzicht_common.contract import read_envelope

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
"""The plan's permit decisions are not sent: the IND player decides on the triggers instead.
The IND's reflection-period decisions and Dublin resumptions of the plan are sent as they are."""

RETRACTION: Final = "TriggerRetracted"

SUSPECT_ISSUERS = frozenset({"SuspectIdentified", "CaseRegistered"})
"""Where a suspect first enters the chain and ketenzicht issues its pseudonym: the police's
identification, or the OM's registration of a suspect the police never named (docs/adr/0025)."""

INVESTIGATING = frozenset({Actor.POLICE, Actor.KMAR, Actor.LABOUR_INSPECTORATE})
"""The actors that open cases at investigation (the OM opens its own only without them)."""

PILOT_INTERVENTIONS = {
    "PolicePsychologistDeployed": "POLICE_PSYCHOLOGIST",
    "SafetyCoordinatorAssigned": "SAFETY_COORDINATOR",
    "PeerSupportAssigned": "PEER_SUPPORT",
}

SERVICES: dict[str, tuple[Any, Any, type[Message]]] = {
    "intake": (intake_pb2, intake_pb2_grpc.IntakeServiceStub, intake_pb2.IntakeCommand),
    "investigation": (
        investigation_pb2,
        investigation_pb2_grpc.InvestigationServiceStub,
        investigation_pb2.InvestigationCommand,
    ),
    "prosecution": (
        prosecution_pb2,
        prosecution_pb2_grpc.ProsecutionServiceStub,
        prosecution_pb2.ProsecutionCommand,
    ),
    "residence": (
        residence_pb2,
        residence_pb2_grpc.ResidenceServiceStub,
        residence_pb2.ResidenceCommand,
    ),
}


def parketnummer_for(index: int, occurred_on: date) -> str:
    """The OM's parketnummer the scenario gives the registration at plan position ``index``
    ("NN/NNNNNN-YY"): unique per registration up to 90 million commands, so that none is
    refused as a number in use. A source identifier: the prosecution service holds it sealed
    (ADR 0020), and a scan of every store after a scenario looks for these in the clear."""
    arrondissement = 10 + (index // 1_000_000) % 90
    return f"{arrondissement:02d}/{index % 1_000_000:06d}-{occurred_on.year % 100:02d}"


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


_UNAVAILABLE = grpc.StatusCode.UNAVAILABLE.value[0]

PATIENCE_SECONDS = 120.0
"""How long a bulk stream keeps sending again what it has not had answered, while nothing is
answered at all (its service's instances all down or their stores unreachable), before it gives
up: every command still waiting then fails with the stream's error (reported, not waited on)."""
_DEFINITIVE = {
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.UNIMPLEMENTED,
}
"""How a stream ends that would end so again (its credentials, a frame that is no command):
its commands fail at once. Any other end is the instance or the connection going away —
UNAVAILABLE, CANCELLED, or INTERNAL when grpcio could not write to a call whose peer died
("Failed execute_batch") — and what it had not answered is sent again on a new stream."""


@dataclass
class _Unanswered:
    request: Message
    future: asyncio.Future[Any]
    unavailable_since: float | None = None
    """When an instance first answered it UNAVAILABLE (it stored nothing of it)."""


class CommandStream:
    """One bulk ``Submit`` stream: send a command, get a future of its result.

    Where a service runs several instances (the cluster profile), the stream is served by one
    of them. The commands it has not answered are sent again, in the order they were first
    sent and with their command ids, on a new stream, which the channel gives (round robin) to
    an instance that is up; each is stored once (the command log). Later commands follow
    them, so a case's facts keep the source's order. A new stream is opened

    * when the stream breaks (the instance died, a connection broke), and
    * when a command is answered UNAVAILABLE (the instance's store is unreachable, or it is
      residence's warm standby): sent again on the same stream it would meet the same
      instance, so the stream is ended and the command goes, with those after it, to the next.

    A command answered with any other refusal is answered: its future has that result. One
    answered UNAVAILABLE for ``patience`` seconds on end is answered with that UNAVAILABLE
    result; if nothing at all is answered for ``patience`` seconds, the stream gives up and
    every unanswered future fails with the stream's error. No future is left unresolved."""

    def __init__(self, stub: Any, window: int = 2000, patience: float = PATIENCE_SECONDS) -> None:
        self._stub = stub
        self._patience = patience
        self._slots = asyncio.Semaphore(window)
        self._unanswered: dict[int, _Unanswered] = {}
        """Every command sent and not answered, by the order it was first sent in."""
        self._sent = 0
        self._closing = False
        self.resent = 0
        """Commands sent again on a new stream."""
        self.reopened = 0
        """New streams opened (a stream broke, or an instance answered UNAVAILABLE)."""
        self._open()
        self._reader = asyncio.create_task(self._read())

    def _open(self) -> None:
        self._queue: asyncio.Queue[Message | None] = asyncio.Queue()
        self._on_stream: dict[int, int] = {}  # the stream's sequence -> the order first sent
        self._call = self._stub.Submit(self._requests(self._queue))
        for order, entry in self._unanswered.items():
            self._put(order, entry.request)
        self.resent += len(self._unanswered)

    def _put(self, order: int, request: Message) -> None:
        self._on_stream[len(self._on_stream)] = order
        self._queue.put_nowait(request)

    @staticmethod
    async def _requests(queue: asyncio.Queue[Message | None]) -> AsyncIterator[Message]:
        while (request := await queue.get()) is not None:
            yield request

    def _answer(self, order: int, result: Any) -> None:
        entry = self._unanswered.pop(order)
        self._slots.release()
        if not entry.future.done():
            entry.future.set_result(result)

    def _unavailable(self, order: int, now: float) -> bool:
        """Whether the command must go to another instance: answered UNAVAILABLE, for less
        than ``patience`` so far (then it is answered with that result instead)."""
        entry = self._unanswered[order]
        if entry.unavailable_since is None:
            entry.unavailable_since = now
        return now - entry.unavailable_since < self._patience

    async def _read(self) -> None:
        loop = asyncio.get_running_loop()
        failures = 0  # new streams opened since the last answer
        progress = loop.time()  # the last answer
        while True:
            error: BaseException | None = None
            try:
                async for result in self._call:
                    order = self._on_stream[result.sequence]
                    if order not in self._unanswered:
                        continue  # answered on an earlier stream
                    if (
                        result.HasField("error")
                        and result.error.code == _UNAVAILABLE
                        and self._unavailable(order, loop.time())
                    ):
                        error = ConnectionError("an instance answered UNAVAILABLE")
                        break
                    self._answer(order, result)
                    failures, progress = 0, loop.time()
                else:
                    if not self._unanswered:
                        return  # closed, and everything answered
                    error = ConnectionError("the stream ended unanswered")
            except grpc.aio.AioRpcError as broken:
                error = broken
                if broken.code() in _DEFINITIVE:
                    self._fail(broken)  # refused as a whole (its credentials, a bad frame)
                    raise
            # This stream is done with: what it has not answered goes on a new one.
            self._call.cancel()
            self._queue.put_nowait(None)
            if self._closing or loop.time() - progress >= self._patience:
                self._fail(error)
                raise error
            failures += 1
            await asyncio.sleep(min(0.05 * 2**failures, 4.0))
            self.reopened += 1
            self._open()

    def _fail(self, error: BaseException) -> None:
        for entry in self._unanswered.values():
            if not entry.future.done():
                entry.future.set_exception(error)

    async def send(self, request: Message) -> asyncio.Future[Any]:
        await self._slots.acquire()
        if self._reader.done():
            self._slots.release()
            raise self._reader.exception() or ConnectionError("the stream is closed")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._unanswered[self._sent] = _Unanswered(request, future)
        self._put(self._sent, request)
        self._sent += 1
        return future

    async def close(self) -> None:
        self._closing = True
        self._queue.put_nowait(None)
        with contextlib.suppress(grpc.aio.AioRpcError, ConnectionError):
            await self._reader


@dataclass
class FeedReport:
    sent: int = 0
    accepted: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    ind_decisions: Counter[str] = field(default_factory=Counter)
    """Decisions the IND sent, by residence command."""
    ind_held: int = 0
    """Decisions dated after the last present the feed reached: not sent (the IND would decide
    them on a later day)."""
    triggers: Counter[str] = field(default_factory=Counter)
    """Trigger messages the IND received, by kind (each trigger id once)."""
    days: int = 0
    """Days the scenario clock was moved to (0 without a scenario clock)."""
    planned_victims: dict[str, str] = field(default_factory=dict)
    """The pseudonym intake issued → the plan's victim id."""
    matched_sent: int = 0
    """Signals of a second organisation sent with a match token and no pseudonym (ADR 0028)."""
    seconds: float = 0.0
    """How long the feed of the plan took, until its last command was answered."""
    retractions: RetractionSummary | None = None


@dataclass(frozen=True, slots=True)
class IndDecision:
    """What the IND decides on one trigger: the residence command and its fields (with the
    command id, derived from the trigger id, and ``occurred_on``, the day of the decision)."""

    trigger_id: str
    command: str
    fields: Mapping[str, Any]

    @property
    def decided_on(self) -> date:
        day: date = self.fields["occurred_on"]
        return day

    @property
    def command_id(self) -> str:
        return str(self.fields["command_id"])


@dataclass(frozen=True)
class Endpoints:
    intake: str
    investigation: str
    prosecution: str
    residence: str
    nats: Bus
    """The bus, whose `login` connects as a party: the IND's player reads as the IND."""


class Feeder:
    def __init__(
        self,
        endpoints: Endpoints,
        *,
        today: date,
        seed: int = 0,
        tokens: dict[Actor, str] | None = None,
        clock_file: Path | None = None,
        clock_step_days: int = 1,
    ) -> None:
        if clock_step_days < 1:
            raise ValueError("the scenario clock moves by one day or more")
        self.endpoints = endpoints
        self.today = today
        self.tokens = tokens or LOCAL_TOKENS
        self.seed = seed
        self.clock_file = clock_file
        self.clock_step_days = clock_step_days
        """How far the scenario clock moves at a time: 1, day by day, keeps the services'
        present on the day of the facts in flight; more days wait less often for the answers,
        but the services' present then runs up to that many days less one ahead of the feed."""
        self.present = date.min if clock_file is not None else today
        """The day the feed has reached: the IND decides up to it. With a scenario clock it is
        nothing until the feed begins; the services' clock is on it or (by steps) ahead."""
        self._clock_day = date.min  # the day the scenario clock file says
        self.report = FeedReport()
        self.registrations: dict[str, Registration] = {}
        """How the events the feeder stored were registered, by event id — only those that can
        decide a retraction's cause (late ones and the IND's), to keep a large feed small."""
        self.retracted: list[list[str]] = []
        """The ``caused_by`` of every retraction the IND received."""
        self._channels: list[Any] = []
        self._streams: dict[tuple[str, Actor], CommandStream] = {}
        self._victims: dict[str, asyncio.Future[str]] = {}
        self._cases: dict[str, asyncio.Future[str]] = {}
        self._suspects: dict[str, asyncio.Future[str]] = {}
        """The pseudonym issued for each planned suspect, by planned case and suspect."""
        self._signalled: dict[str, asyncio.Future[str]] = {}
        """The answer to each planned victim's latest signal (their pseudonym once accepted): a
        second organisation's signal about them waits for it, because only then is the
        episode's match token indexed. Waiting for the pseudonym alone is not enough for a
        victim who comes back: it was issued an episode ago, and the other organisation's
        signal would reach intake first on its own stream, open a second victim for the token,
        and leave the first signal refused (MATCH_TOKEN_IN_USE)."""
        self._waiting: Counter[int] = Counter()
        """Commands still waiting for a pseudonym, by the id() of the future they wait on: a
        later command about the same victim or case waits behind them, so that the facts of
        one case reach its service in the plan's order."""
        self._pending: set[asyncio.Task[None]] = set()
        self._case_tails: dict[str, asyncio.Task[None]] = {}
        """The last command of each planned case still waiting to be sent: the case's next
        command goes behind it, even one that needs no pseudonym of its own (a close behind
        the submission that waits for its suspects' pseudonyms)."""
        self._received: set[str] = set()  # trigger ids the IND has had: it acts once on each
        self._held: list[tuple[date, str, IndDecision]] = []  # a heap, by day then trigger id

    async def _stream(self, service: str, actor: Actor) -> CommandStream:
        key = (service, actor)
        if key not in self._streams:
            context = connect(getattr(self.endpoints, service), token=self.tokens[actor])
            channel = await context.__aenter__()
            self._channels.append(context)
            self._streams[key] = CommandStream(SERVICES[service][1](channel))
        return self._streams[key]

    async def _result(self, future: asyncio.Future[Any], what: str) -> Any:
        """The command's result; None when its stream gave up on it (counted as refused, by
        the stream's status), so that what waits for the pseudonym it would issue is skipped
        rather than left waiting."""
        try:
            return await future
        except (grpc.aio.AioRpcError, ConnectionError) as failed:
            code = failed.code().name if isinstance(failed, grpc.aio.AioRpcError) else "LOST"
            self.report.refused[f"{what} stream {code}"] += 1
            return None

    def _count(
        self, result: Any | None, registration: Registration | None = None, what: str = ""
    ) -> bool:
        """Count an answer: accepted, or refused, keyed by what was sent (``what``: the planned
        fact's event type, or the command the feeder sent of its own) and why."""
        if result is None:
            return False
        if result.HasField("error"):
            self.report.refused[f"{what} {_refusal(result.error)}".lstrip()] += 1
            return False
        self.report.accepted += 1
        if registration is not None and registration.decisive:
            for event_id in _event_ids(result):
                self.registrations[event_id] = registration
        return True

    async def _send(self, service: str, actor: Actor, oneof: str, fields: dict[str, Any]) -> Any:
        """The future of the command's result (the stream keeps many in flight)."""
        if fields.pop(MATCHED, False):
            # Another organisation's signal about the same person: it knows the person (the
            # token), not ketenzicht's pseudonym; intake finds the victim by the token.
            fields = {**fields, "victim_id": ""}
            self.report.matched_sent += 1
        request = build_request(SERVICES[service][2], oneof, fields)
        self.report.sent += 1
        return await (await self._stream(service, actor)).send(request)

    async def _victim(self, planned_id: str) -> str:
        return await self._victims[planned_id]

    async def feed(
        self, plan: Iterable[PlannedCommand], progress: Callable[[int], None] | None = None
    ) -> FeedReport:
        """Send the plan; returns when every command of it has been answered.

        With a scenario clock, day by day (or `clock_step_days` at a time): the present is set
        to the day the commands are known on before they are sent, and every command of that
        day (the IND's decisions due that day too) is answered before the present moves on."""
        started = time.perf_counter()
        index = 0
        step_end: date | None = None  # the services' present while this step is sent
        for index, command in enumerate(plan, start=1):
            if self.clock_file is not None:
                if step_end is None or command.known_on > step_end:
                    if step_end is not None:
                        await self.settled()
                    step_end = max(
                        command.known_on,
                        min(
                            command.known_on + timedelta(days=self.clock_step_days - 1), self.today
                        ),
                    )
                    await self._set_clock(step_end)
                await self._reach(command.known_on)
            await self._feed_one(index, command)
            if progress is not None and index % 200 == 0:
                progress(index)
        await self.settled()
        self.report.seconds = time.perf_counter() - started
        if progress is not None:
            progress(index)
        return self.report

    async def advance(self, day: date) -> None:
        """Move the scenario present to ``day`` (never back) and send the IND's decisions
        that fall due by then. Without a scenario clock, the present stays today."""
        if self.clock_file is None:
            return
        await self._set_clock(day)
        await self._reach(day)

    async def _set_clock(self, day: date) -> None:
        if day <= self._clock_day:
            return
        assert self.clock_file is not None
        write_present(self.clock_file, noon_on(day))
        # Every service re-reads the clock within this time: a fact dated today sent sooner
        # could still meet yesterday's present and be refused as lying in the future.
        await asyncio.sleep(SETTLE_SECONDS)
        self._clock_day = day
        self.report.days += 1

    async def _reach(self, day: date) -> None:
        """The feed has reached ``day``: the IND's decisions held for it are sent now, before
        the facts registered that day, in the order of their days."""
        if day <= self.present:
            return
        self.present = day
        while self._held and self._held[0][0] <= day:
            await self._decide(heapq.heappop(self._held)[2])

    async def settled(self) -> None:
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    async def _feed_one(
        self, index: int, command: PlannedCommand, behind_its_case: bool = False
    ) -> asyncio.Task[None] | None:
        """Send one planned command, or leave it waiting for the pseudonyms it names; the
        task it waits in, if any."""
        route = ROUTES.get(command.event_type)
        if route is None:
            self.report.skipped[command.event_type] += 1
            return None
        case_key = str(command.fields.get("case_id") or "")
        tail = self._case_tails.get(case_key) if case_key else None
        if tail is not None and not tail.done() and not behind_its_case:
            # The source registered its case's facts in this order, and the services check
            # each against those before it.
            self._case_tails[case_key] = self._track(self._behind(tail, index, command))
            return None
        service, oneof = route
        registration = Registration(service, command.occurred_on, command.known_on)
        what = command.event_type
        fields = dict(command.fields) | {
            "occurred_on": command.occurred_on,
            "command_id": f"chainsim-{self.seed}-{index}",
        }
        if command.event_type in PILOT_INTERVENTIONS:
            fields["intervention"] = PILOT_INTERVENTIONS[command.event_type]
        if command.event_type == "CaseRegistered":
            fields["parketnummer"] = parketnummer_for(index, command.occurred_on)
        planned_victim = str(fields.get("victim_id") or "")
        if command.event_type == "SignalRegistered" and planned_victim not in self._victims:
            # A new victim: intake issues the pseudonym; later facts wait for it.
            issued: asyncio.Future[str] = asyncio.get_running_loop().create_future()
            self._victims[planned_victim] = self._signalled[planned_victim] = issued
            fields["victim_id"] = ""
            result_future = await self._send(service, command.actor, oneof, fields)
            self._track(self._settle_victim(result_future, issued, registration))
            return None
        needed: list[tuple[str, asyncio.Future[str]]] = []
        if planned_victim:
            if planned_victim not in self._victims:
                self._victims[planned_victim] = asyncio.get_running_loop().create_future()
            if command.event_type == "SignalRegistered" and fields.get(MATCHED):
                # After the victim's latest signal is answered (its token indexed), not only
                # after their pseudonym is issued (see `_signalled`).
                needed.append(("victim_id", self._signalled[planned_victim]))
            else:
                needed.append(("victim_id", self._victims[planned_victim]))
        planned_case = str(fields.get("case_id") or "")
        if planned_case:
            needed.append(("case_id", await self._case(planned_case, command)))
        known, issuing = self._suspects_needed(command, planned_case, fields, needed)
        if not known:
            return None
        if command.event_type == "SignalRegistered" and not fields.get(MATCHED):
            # A victim who comes back: this signal's answer is what the other organisations'
            # signals of the episode wait for (a signal names no suspect to issue).
            issuing = asyncio.get_running_loop().create_future()
            self._signalled[planned_victim] = issuing
        if not all(future.done() and not self._waiting[id(future)] for _, future in needed):
            for _, future in needed:
                self._waiting[id(future)] += 1
            waiting = self._track(
                self._after_ids(
                    needed, service, command.actor, oneof, fields, registration, issuing, what
                )
            )
            if case_key and not behind_its_case:
                self._case_tails[case_key] = waiting
            return waiting
        if not self._issued(needed, fields):
            if issuing is not None:
                self._settle_issuing(None, issuing)
            return None
        self._track(
            self._await_result(
                await self._send(service, command.actor, oneof, fields),
                registration,
                issuing,
                what,
            )
        )
        return None

    async def _behind(self, tail: asyncio.Task[None], index: int, command: PlannedCommand) -> None:
        await asyncio.gather(tail, return_exceptions=True)
        waiting = await self._feed_one(index, command, behind_its_case=True)
        if waiting is not None:
            await asyncio.gather(waiting, return_exceptions=True)

    def _settle_issuing(self, result: Any | None, issuing: asyncio.Future[str]) -> None:
        """The pseudonym the accepted ``result`` issued (IdentifySuspect's or RegisterCase's
        response) or answered (a returning victim's RegisterSignal), or the failure the
        commands waiting for it are skipped for; a later command where the suspect can enter
        the chain then tries again (the OM's registration after a refused identification)."""
        if result is None:
            signal = any(f is issuing for f in self._signalled.values())
            issuing.set_exception(
                LookupError("signal never registered" if signal else "suspect never registered")
            )
            issuing.exception()  # retrieved: nothing may be waiting for it
            for key in [k for k, f in self._suspects.items() if f is issuing]:
                del self._suspects[key]
            return
        kind = str(result.WhichOneof("outcome"))
        outcome = getattr(result, kind)
        issuing.set_result(outcome.victim_id if kind == "signal" else outcome.suspect_id)

    def _suspects_needed(
        self,
        command: PlannedCommand,
        planned_case: str,
        fields: dict[str, Any],
        needed: list[tuple[str, asyncio.Future[str]]],
    ) -> tuple[bool, asyncio.Future[str] | None]:
        """Add the pseudonyms of the planned suspects the command names to ``needed``. The
        first command that names a suspect, where it enters the chain (`SUSPECT_ISSUERS`), is
        sent without one and issues it: its future is returned. (False, None), counted as
        skipped: the command names a suspect nobody has issued a pseudonym for, which every
        service would refuse as unknown (a fact about a suspect registered later than it)."""
        issuing: asyncio.Future[str] | None = None
        planned = str(fields.get("suspect_id") or "")
        if planned:
            key = f"{planned_case}/{planned}"
            if key in self._suspects:
                needed.append(("suspect_id", self._suspects[key]))
            elif command.event_type in SUSPECT_ISSUERS:
                issuing = asyncio.get_running_loop().create_future()
                self._suspects[key] = issuing
                fields["suspect_id"] = ""
            else:
                self.report.skipped["suspect never issued"] += 1
                return False, None
        listed = [str(s) for s in fields.get("suspect_ids") or ()]
        if listed:
            keys = [f"{planned_case}/{s}" for s in listed]
            if not all(k in self._suspects for k in keys):
                self.report.skipped["suspect never issued"] += 1
                return False, None
            fields["suspect_ids"] = []
            needed += [("suspect_ids[]", self._suspects[k]) for k in keys]
        return True, issuing

    async def _case(self, planned_case: str, command: PlannedCommand) -> asyncio.Future[str]:
        """The pseudonym investigation issues for a planned case: asked for (the case opened
        under its source number) by the first fact that names the case."""
        if planned_case not in self._cases:
            issued: asyncio.Future[str] = asyncio.get_running_loop().create_future()
            self._cases[planned_case] = issued
            actor = command.actor if command.actor in INVESTIGATING else Actor.POLICE
            fields = {
                "occurred_on": command.occurred_on,
                "command_id": f"chainsim-{self.seed}-case-{planned_case}",
                "police_registration_number": source_case_number(planned_case),
            }
            result_future = await self._send("investigation", actor, "open_case", fields)
            self._track(self._settle_case(result_future, issued))
        return self._cases[planned_case]

    async def _settle_case(self, future: asyncio.Future[Any], issued: asyncio.Future[str]) -> None:
        result = await self._result(future, "open_case")
        if self._count(result, what="open_case"):
            issued.set_result(result.opened.case_id)
        else:
            issued.set_exception(LookupError("case never opened"))
            issued.exception()  # retrieved: nothing may be waiting for it

    def _issued(
        self, needed: list[tuple[str, asyncio.Future[str]]], fields: dict[str, Any]
    ) -> bool:
        """Put the issued pseudonyms into ``fields``; False (counted as skipped) when one was
        never issued."""
        for name, future in needed:
            error = future.exception()
            if error is not None:
                self.report.skipped[str(error)] += 1
                return False
            if name.endswith("[]"):
                fields[name[:-2]].append(future.result())
            else:
                fields[name] = future.result()
        return True

    def _track(self, coroutine: Any) -> asyncio.Task[None]:
        task = asyncio.create_task(coroutine)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return task

    async def _await_result(
        self,
        future: asyncio.Future[Any],
        registration: Registration | None = None,
        issuing: asyncio.Future[str] | None = None,
        what: str = "",
    ) -> None:
        result = await self._result(future, what)
        accepted = self._count(result, registration, what)
        if issuing is not None:
            self._settle_issuing(result if accepted else None, issuing)

    async def _settle_victim(
        self, future: asyncio.Future[Any], issued: asyncio.Future[str], registration: Registration
    ) -> None:
        result = await self._result(future, "SignalRegistered")
        if self._count(result, registration, "SignalRegistered"):
            issued.set_result(result.signal.victim_id)
        else:
            issued.set_exception(LookupError("victim never registered"))
            issued.exception()  # retrieved: nothing may be waiting for it

    async def _after_ids(
        self,
        needed: list[tuple[str, asyncio.Future[str]]],
        service: str,
        actor: Actor,
        oneof: str,
        fields: dict[str, Any],
        registration: Registration,
        issuing: asyncio.Future[str] | None = None,
        what: str = "",
    ) -> None:
        await asyncio.gather(*(future for _, future in needed), return_exceptions=True)
        try:
            if not self._issued(needed, fields):
                if issuing is not None:
                    self._settle_issuing(None, issuing)
                return
            try:
                sent = await self._send(service, actor, oneof, fields)
            except BaseException:
                # Its stream gave up: what waits for the suspect it would issue is skipped.
                if issuing is not None:
                    self._settle_issuing(None, issuing)
                raise
        finally:
            for _, future in needed:
                self._waiting[id(future)] -= 1
        await self._await_result(sent, registration, issuing, what)

    # --- the IND ---

    def _draws(self, trigger: Mapping[str, Any]) -> random.Random:
        """The IND's own numbers for one trigger, from the seed and what the trigger says: the
        same every run and in whatever order triggers arrive. By the key, not the id, so a
        trigger retracted and raised again later is decided the same way."""
        basis = trigger.get("trigger_key") or trigger["trigger_id"]
        digest = hashlib.blake2b(f"{self.seed}|{basis}".encode(), digest_size=8).digest()
        return random.Random(int.from_bytes(digest, "big"))

    def ind_decision(self, kind: str, trigger: Mapping[str, Any]) -> IndDecision | None:
        """What the IND decides on a trigger (a simple policy, seeded per trigger); None for
        triggers it only takes note of. Dates follow from the trigger alone: a decision may lie
        after the present, and is then sent when the feed reaches its day."""
        trigger_id = str(trigger["trigger_id"])
        fires_on = date.fromisoformat(trigger["occurred_on"])
        victim = {"victim_id": trigger["victim_id"]}
        case = {"case_id": trigger.get("case_id")} if trigger.get("case_id") else {}
        decision: tuple[str, dict[str, Any]] | None = None
        if kind == "TemporaryPermitApplicationIndicated" and case:
            start = date.fromisoformat(trigger["application_date"])
            decision = (
                "grant_temporary_permit",
                victim
                | case
                | {
                    "occurred_on": start + timedelta(days=self._draws(trigger).randint(7, 42)),
                    "valid_from": start,
                    "valid_until": _plus_year(start),
                },
            )
        elif kind == "TemporaryPermitExtensionDue" and case:
            until = date.fromisoformat(trigger["permit_valid_until"])
            decision = (
                "extend_temporary_permit",
                victim | case | {"occurred_on": fires_on, "valid_until": _plus_year(until)},
            )
        elif kind == "TemporaryPermitBasisEnded" and case:
            decision = (
                "end_temporary_permit",
                victim
                | case
                | {
                    "occurred_on": fires_on + timedelta(days=14),
                    "end_date": trigger["basis_ended_on"],
                },
            )
        elif kind == "NonTemporaryPermitIndicated":
            decision = (
                "grant_non_temporary_permit",
                victim | {"occurred_on": fires_on + timedelta(days=60)},
            )
        elif kind == "NonTemporaryAssessmentRequired":
            granted = self._draws(trigger).random() < 0.4
            decision = (
                ("grant_non_temporary_permit" if granted else "refuse_non_temporary_permit"),
                victim | {"occurred_on": fires_on + timedelta(days=90)},
            )
        if decision is None:
            return None
        command, fields = decision
        # From the trigger id: a decision sent again (a retry, a second run on the same store)
        # is answered from residence's command log instead of being stored twice.
        fields["command_id"] = f"chainsim-ind-{self.seed}-{trigger_id}"
        return IndDecision(trigger_id, command, fields)

    async def receive(self, kind: str, trigger: Mapping[str, Any]) -> None:
        """One message of the trigger feed, as the IND takes it."""
        trigger_id = str(trigger.get("trigger_id", ""))
        if trigger_id in self._received:
            return  # delivered again (its ack came late): acted on already
        self._received.add(trigger_id)
        self.report.triggers[kind] += 1
        if kind == RETRACTION:
            # Only counted: the decision the IND made on the trigger stands.
            self.retracted.append([str(e) for e in trigger.get("caused_by") or []])
            return
        decision = self.ind_decision(kind, trigger)
        if decision is None:
            return
        if decision.decided_on <= self.present:
            await self._decide(decision)
        else:
            heapq.heappush(self._held, (decision.decided_on, decision.trigger_id, decision))
        self.report.ind_held = len(self._held)

    async def _decide(self, decision: IndDecision) -> None:
        self.report.ind_decisions[decision.command] += 1
        self.report.ind_held = len(self._held)
        registration = Registration("residence", decision.decided_on, self.present)
        self._track(
            self._await_result(
                await self._send("residence", Actor.IND, decision.command, dict(decision.fields)),
                registration,
                what=decision.command,
            )
        )

    async def play_ind(
        self, stop: asyncio.Event, idle: asyncio.Event, idle_after: float = 3.0
    ) -> None:
        """Read the trigger feed as the IND does and report decisions back, until ``stop``.
        ``idle`` is set whenever nothing has arrived for ``idle_after`` seconds."""
        nc = await nats.connect(**self.endpoints.nats.login("ind"))
        try:
            while True:
                try:
                    feed = await addressee_feed(nc, "ind")
                    await feed.consumer_info()
                    break
                except (nats.js.errors.NotFoundError, nats.js.errors.ServiceUnavailableError):
                    await asyncio.sleep(0.5)  # residence has not made the IND's feed yet
                except (nats.errors.TimeoutError, TimeoutError):
                    await asyncio.sleep(0.5)  # JetStream busy (a cluster electing a leader)
            quiet = 0.0
            while not stop.is_set():
                try:
                    messages = await feed.fetch(200, timeout=0.5)
                except (nats.errors.TimeoutError, TimeoutError):
                    quiet += 0.5
                    if quiet >= idle_after:
                        idle.set()
                    continue
                except (nats.js.errors.ServiceUnavailableError, nats.errors.NoRespondersError):
                    # A node of a cluster was lost and the feed's consumer is electing a new
                    # leader: the IND's system waits and reads on (not idle: triggers wait).
                    await asyncio.sleep(0.5)
                    continue
                quiet = 0.0
                idle.clear()
                for message in messages:
                    # The trigger is the envelope's data, in either envelope version.
                    _, data = read_envelope(message.headers, message.data or b"")
                    await self.receive(message.subject.rsplit(".", 1)[-1], json.loads(data))
                    await message.ack()
        finally:
            await nc.close()

    def planned_victims(self) -> dict[str, str]:
        """The pseudonyms intake and investigation issued for each planned victim and case,
        mapped back: issued → planned."""
        return {
            future.result(): planned
            for issued in (self._victims, self._cases)
            for planned, future in issued.items()
            if future.done() and not future.cancelled() and future.exception() is None
        }

    def retraction_summary(self) -> RetractionSummary:
        """The triggers the IND received and the retractions among them, by cause."""
        return summarise(sum(self.report.triggers.values()), self.retracted, self.registrations)

    async def close(self) -> None:
        await self.settled()
        for stream in self._streams.values():
            await stream.close()
        for context in self._channels:
            await context.__aexit__(None, None, None)


def _refusal(error: status_pb2.Status) -> str:
    """A refused command's status name, with the precondition's reason code where it has one
    (`FAILED_PRECONDITION NOT_SUBMITTED`), so the run's report says why."""
    name: str = next(c for c in grpc.StatusCode if c.value[0] == error.code).name
    for detail in error.details:
        failure = error_details_pb2.PreconditionFailure()
        if detail.Unpack(failure) and failure.violations:
            return f"{name} {failure.violations[0].type!s}"
    return name


def _event_ids(result: Any) -> list[str]:
    """The ids of the events an accepted command stored (a response that issues a pseudonym
    carries its ack)."""
    outcome = getattr(result, str(result.WhichOneof("outcome")))
    ack = outcome.ack if outcome.DESCRIPTOR.name.endswith("Response") else outcome
    return list(ack.event_ids)


def source_case_number(planned_case: str) -> str:
    """The police's own registration number of a planned case (the plan's case id stands for
    it): capitals, digits and '-', as investigation takes them."""
    return "BVH-" + planned_case.removeprefix("c-").upper()


def _plus_year(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)
