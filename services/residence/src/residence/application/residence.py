"""The residence application: facts in, triggers out, decided by the rules in domain/.

Every change to a victim's facts — an event off the bus, an IND decision over gRPC, or the
clock passing a deadline — is followed in the same transaction by applying the rules to all the
victim's facts (with the steps of every case the victim reported or cooperated in) and sending
what ``reconcile`` says: new triggers, and retractions of triggers that no longer hold.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

from eventsourcing.application import AggregateNotFoundError
from nats.js.api import StreamConfig, StreamSource

from ketenzicht_common.bus import UnitOfWork
from ketenzicht_common.commands import CommandGateway
from ketenzicht_common.consumer import ReceivedEvent, Unprocessable
from ketenzicht_common.domain import Provenance
from ketenzicht_common.errors import PreconditionFailed
from ketenzicht_common.store import ChainApplication, topics_of
from ketenzicht_common.streams import service_stream, stream_config
from residence.application import commands as c
from residence.application import schedule
from residence.application.files import (
    PRIVATE_TOPICS,
    TRIGGER_EVENT_TYPES,
    CaseFile,
    VictimFile,
)
from residence.domain import (
    DEFAULT_SETTINGS,
    Fact,
    FactError,
    ResidenceFile,
    RuleSettings,
    TriggerDecision,
    all_decisions,
    check_reflection_grant,
    fact_from_event,
    reconcile,
    residence_file,
)
from residence.domain.facts import RELEVANT_EVENTS
from residence.domain.model import VictimFact

log = logging.getLogger(__name__)

IND_TRIGGER_STREAM = "KETENZICHT_IND_TRIGGERS"
TRIGGER_SUBJECTS = "ketenzicht.residence.triggers.>"
RULES = Provenance(organisation="ketenzicht", system="residence-rules", command_id="")


def ind_trigger_stream(replicas: int = 1) -> StreamConfig:
    """The IND's feed: a stream of its own, sourced from residence's stream, triggers only."""
    config = stream_config(IND_TRIGGER_STREAM, [], replicas)
    config.subjects = None
    config.sources = [StreamSource(name="KETENZICHT_RESIDENCE", filter_subject=TRIGGER_SUBJECTS)]
    return config


class ResidenceApplication(ChainApplication):
    name = "residence"
    service = "residence"

    def event_topics(self) -> set[str]:
        return topics_of(VictimFile, CaseFile) - PRIVATE_TOPICS

    def subject_for(self, event_type: str) -> str:
        if event_type in TRIGGER_EVENT_TYPES:
            return f"ketenzicht.residence.triggers.{event_type}"
        return super().subject_for(event_type)

    def message_id(self, event: Any) -> str:
        return str(getattr(event, "trigger_id", ""))

    def streams(self, replicas: int = 1) -> list[StreamConfig]:
        return [service_stream(self.service, replicas), ind_trigger_stream(replicas)]

    def victim_ids(self) -> list[str]:
        """Every victim with a file, read from the notification log."""
        ids: list[str] = []
        start = 1
        while True:
            page = self.recorder.select_notifications(start, 1000,
                                                      topics=[VictimFile.Opened.TOPIC])
            if not page:
                return ids
            ids.extend(self.mapper.to_domain_event(n).victim_id for n in page)  # type: ignore[attr-defined]
            start = page[-1].id + 1

    def file_of(self, victim_id: str) -> VictimFile | None:
        try:
            found: object = self.repository.get(VictimFile.id_for(victim_id))
        except AggregateNotFoundError:
            return None
        assert isinstance(found, VictimFile)
        return found

    def case_facts(self, case_ids: set[str],
                   get: Callable[[str], CaseFile | None] | None = None) -> list[Fact]:
        def load(case_id: str) -> CaseFile | None:
            try:
                found: object = self.repository.get(CaseFile.id_for(case_id))
            except AggregateNotFoundError:
                return None
            assert isinstance(found, CaseFile)
            return found

        facts: list[Fact] = []
        for case_id in sorted(case_ids):
            case = (get or load)(case_id)
            if case is not None:
                facts.extend(case.facts.values())
        return facts


def _first_after(decisions: list[TriggerDecision], today: date) -> str:
    """The first day after today on which one of the decisions fires ("" for none)."""
    due = min((d.fires_on for d in decisions if d.fires_on > today), default=None)
    return due.isoformat() if due else ""


class ResidenceCommands:
    """What residence is told (by the bus, the IND and the clock), each applied with the rules."""

    def __init__(self, app: ResidenceApplication, gateway: CommandGateway,
                 rules: RuleSettings = DEFAULT_SETTINGS) -> None:
        self.app = app
        self.gateway = gateway
        self.rules = rules
        self.rules_fingerprint = schedule.rules_fingerprint(rules)
        """The rules as applied: their settings and the code of the residence domain."""
        self.deadlines: dict[str, date] = {}
        """The next day each victim's triggers change by themselves (for the scheduler)."""
        self.schedule_complete = False
        """`deadlines` covers every victim in the store: the rules were applied to all of them
        in this process, or their schedule was restored (see `schedule`)."""
        self._schedule_unsure = False  # a command was abandoned: the bus may yet store it
        self._unanswered = 0  # commands whose deadlines are not in the schedule yet

    # --- the rules, applied inside a unit of work ---

    def _facts(self, uow: UnitOfWork, file: VictimFile) -> list[Fact]:
        return list(file.facts.values()) + self.app.case_facts(
            file.case_ids(), lambda case_id: uow.get(CaseFile.id_for(case_id), CaseFile))

    def _apply_rules(self, uow: UnitOfWork, file: VictimFile, today: date,
                     cause: Provenance) -> dict[str, str]:
        facts = self._facts(uow, file)
        # One pass of the rules gives both what has fired and the next deadline.
        decisions = [d for d in all_decisions(facts, settings=self.rules)
                     if d.victim_id == file.victim_id]
        provenance = replace(RULES, command_id=cause.command_id, traceparent=cause.traceparent,
                             tracestate=cause.tracestate)
        for item in reconcile(file.emitted, [d for d in decisions if d.fires_on <= today]):
            file.send(item, provenance)
        return {file.victim_id: _first_after(decisions, today)}

    async def _remembered(self, execution: Awaitable[dict[str, Any]]) -> dict[str, Any]:
        """The command's result, once its victims' next deadlines are in the schedule."""
        self._unanswered += 1
        try:
            result = await execution
            if not result.get("replayed"):
                self._schedule(result.get("deadlines", {}))
            elif victims := list(result.get("deadlines", {})):
                # Answered from the command log: its deadlines are those of the first time.
                today = self.gateway.clock.today()
                self._schedule(await self.gateway.bus.query(
                    partial(self._next_deadlines, victims, today)))
            return result
        except asyncio.CancelledError:
            # The bus may still store it, and the schedule would never hear of it.
            self._schedule_unsure = True
            raise
        finally:
            self._unanswered -= 1

    def _schedule(self, deadlines: dict[str, str]) -> None:
        for victim_id, due in deadlines.items():
            if due:
                self.deadlines[victim_id] = date.fromisoformat(due)
            else:
                self.deadlines.pop(victim_id, None)

    def _next_deadlines(self, victim_ids: list[str], today: date) -> dict[str, str]:
        """Read-only (run by `bus.query`): each victim's next deadline as stored now; today
        when something is due that has not been sent."""
        found: dict[str, str] = {}
        for victim_id in victim_ids:
            file = self.app.file_of(victim_id)
            found[victim_id] = ""
            if file is not None:
                facts = list(file.facts.values()) + self.app.case_facts(file.case_ids())
                decisions = [d for d in all_decisions(facts, settings=self.rules)
                             if d.victim_id == victim_id]
                unsent = reconcile(file.emitted, [d for d in decisions if d.fires_on <= today])
                found[victim_id] = today.isoformat() if unsent else _first_after(decisions, today)
        return found

    @staticmethod
    def _file(uow: UnitOfWork, victim_id: str, provenance: Provenance,
              occurred_on: date) -> VictimFile:
        file = uow.get(VictimFile.id_for(victim_id), VictimFile)
        if file is None:
            # Facts may arrive before the signal that introduces the victim: accept them.
            file = VictimFile.open(victim_id, provenance, occurred_on)
            uow.add(file)
        return file

    @staticmethod
    def _case(uow: UnitOfWork, case_id: str, provenance: Provenance,
              occurred_on: date) -> CaseFile:
        case = uow.get(CaseFile.id_for(case_id), CaseFile)
        if case is None:
            # Case steps may arrive before any victim's report names the case.
            case = CaseFile.open(case_id, provenance, occurred_on)
            uow.add(case)
        return case

    # --- facts off the bus ---

    async def note(self, event: ReceivedEvent) -> dict[str, Any]:
        envelope = event.envelope
        if (envelope.service, envelope.event_type) not in RELEVANT_EVENTS:
            return {}
        try:
            fact = fact_from_event(str(envelope.event_id), envelope.service, envelope.event_type,
                                   envelope.occurred_on, event.data)
        except (FactError, ValueError) as error:  # ValueError: the body is not JSON
            raise Unprocessable(str(error)) from error
        if fact is None:
            return {}
        command = c.NoteFact(occurred_on=envelope.occurred_on, event_id=str(envelope.event_id),
                             service=envelope.service, event_type=envelope.event_type,
                             payload=event.data)
        provenance = Provenance(envelope.organisation or "unknown", envelope.system or "unknown",
                                str(envelope.event_id), envelope.traceparent,
                                envelope.tracestate)
        today = self.gateway.clock.today()

        def handle(uow: UnitOfWork) -> dict[str, Any]:
            args = (provenance, command.occurred_on, command.event_id, command.service,
                    command.event_type, command.payload)
            affected: list[VictimFile] = []
            if isinstance(fact, VictimFact):
                file = self._file(uow, fact.victim_id, provenance, command.occurred_on)
                if not file.note(*args):
                    return {}
                affected.append(file)
                case_id = getattr(fact, "case_id", None)
                if case_id:
                    self._case(uow, case_id, provenance, command.occurred_on).link(
                        provenance, command.occurred_on, fact.victim_id)
            else:
                case_id = str(getattr(fact, "case_id"))  # noqa: B009 — every case fact has one
                case = self._case(uow, case_id, provenance, command.occurred_on)
                if not case.note(*args):
                    return {}
                affected.extend(self._file(uow, v, provenance, command.occurred_on)
                                for v in sorted(case.victims))
            deadlines: dict[str, str] = {}
            for file in affected:
                deadlines |= self._apply_rules(uow, file, today, provenance)
            return {"deadlines": deadlines}

        # A fact dated after today (a test clock behind the sources) is still a fact.
        prefetch = [VictimFile.id_for(v) for v in [getattr(fact, "victim_id", None)] if v]
        prefetch += [CaseFile.id_for(c) for c in [getattr(fact, "case_id", None)] if c]
        return await self._remembered(
            self.gateway.bus.execute(command, provenance, handle, prefetch=prefetch))

    # --- the clock ---

    async def reevaluate(self, victim_id: str, today: date) -> dict[str, Any]:
        command = c.Reevaluate(occurred_on=today, victim_id=victim_id)
        # Once per victim, day and rules: other rules (an upgrade, other settings) on the same
        # day must be applied, not answered from the command log.
        provenance = replace(RULES, command_id=(f"reevaluate:{victim_id}:{today.isoformat()}:"
                                                f"{self.rules_fingerprint[:12]}"))

        def handle(uow: UnitOfWork) -> dict[str, Any]:
            file = uow.get(VictimFile.id_for(victim_id), VictimFile)
            if file is None:
                return {}
            return {"deadlines": self._apply_rules(uow, file, today, provenance)}

        return await self._remembered(self.gateway.bus.execute(command, provenance, handle))

    # --- the IND's decisions ---

    async def decide(self, command: c.VictimDecision, provenance: Provenance) -> dict[str, Any]:
        today = self.gateway.clock.today()
        fields = command.model_dump(exclude={"occurred_on", "victim_id"})
        fields = {k: v.value if hasattr(v, "value") else v for k, v in fields.items()}
        event_name = {
            c.GrantReflectionPeriod: "ReflectionPeriodGranted",
            c.EndReflectionPeriod: "ReflectionPeriodEnded",
            c.GrantTemporaryPermit: "TemporaryPermitGranted",
            c.RefuseTemporaryPermit: "TemporaryPermitRefused",
            c.ExtendTemporaryPermit: "TemporaryPermitExtended",
            c.EndTemporaryPermit: "TemporaryPermitEnded",
            c.GrantNonTemporaryPermit: "NonTemporaryPermitGranted",
            c.RefuseNonTemporaryPermit: "NonTemporaryPermitRefused",
            c.ResumeDublinTransfer: "DublinTransferResumed",
        }[type(command)]

        def handle(uow: UnitOfWork) -> dict[str, Any]:
            file = uow.get(VictimFile.id_for(command.victim_id), VictimFile)
            new_file = file is None
            if file is None:
                # The IND may report before the signal reaches residence; the file is added
                # only after the checks, so a refusal leaves nothing behind.
                file = VictimFile.open(command.victim_id, provenance, command.occurred_on)
            self._check(uow, file, command)
            if new_file:
                uow.add(file)
            file.decide(getattr(VictimFile, event_name), provenance, command.occurred_on,
                        **fields)
            return {"deadlines": self._apply_rules(uow, file, today, provenance)}

        return await self._remembered(self.gateway.submit(command, provenance, handle))

    def _check(self, uow: UnitOfWork, file: VictimFile, command: c.VictimDecision) -> None:
        """What the IND may not report: refused with a reason, nothing stored."""
        if isinstance(command, c.GrantReflectionPeriod):
            check = check_reflection_grant(self._facts(uow, file), file.victim_id,
                                           command.occurred_on, settings=self.rules)
            if not check.allowed:
                raise PreconditionFailed("REFLECTION_NOT_ALLOWED",
                                         f"{check.reason} ({check.rule}, rules of "
                                         f"{check.rule_version})", subject=file.victim_id)
        if isinstance(command, c.ExtendTemporaryPermit | c.EndTemporaryPermit):
            granted = [d for d in file.decisions
                       if d[0] == "TemporaryPermitGranted" and d[2] == command.case_id]
            if not granted:
                raise PreconditionFailed("NO_TEMPORARY_PERMIT",
                                         f"no temporary permit was granted in case "
                                         f"{command.case_id}", subject=command.case_id)
        if isinstance(command, c.GrantNonTemporaryPermit) and any(
                d[0] == "NonTemporaryPermitGranted" for d in file.decisions):
            raise PreconditionFailed("ALREADY_NON_TEMPORARY",
                                     "a non-temporary permit was already granted",
                                     subject=file.victim_id)

    # --- the schedule across a clean stop ---

    def _stamp(self) -> schedule.Stamp:
        return schedule.Stamp(self.app.store_id(), self.app.max_notification_id(),
                              self.rules_fingerprint)

    def restore_schedule(self, path: Path) -> bool:
        """Take the schedule a clean stop saved, if nothing was stored since under these rules;
        call before anything is consumed."""
        saved = schedule.load(path, self._stamp())
        if saved is None:
            return False
        self.deadlines = saved
        self.schedule_complete = True
        log.info("deadline schedule of the clean stop restored (%d victims with a deadline)",
                 len(saved))
        return True

    def save_schedule(self, path: Path, *, bus_stopped: bool) -> None:
        """At a clean stop, once the bus has stopped: the schedule, for the next start."""
        if (not (self.schedule_complete and bus_stopped) or self._schedule_unsure
                or self._unanswered):
            # Incomplete, or a command was stored (or may yet be) whose deadlines it does not
            # have: the next start applies the rules to every victim.
            path.unlink(missing_ok=True)
            log.info("deadline schedule not saved: the next start applies the rules to all")
            return
        schedule.save(path, self._stamp(), self.deadlines)
        log.info("deadline schedule saved (%d victims with a deadline)", len(self.deadlines))

    # --- the IND's query ---

    def position(self, victim_id: str, as_of: date) -> tuple[ResidenceFile, VictimFile | None]:
        file = self.app.file_of(victim_id)
        if file is None:
            return residence_file([], victim_id, as_of, settings=self.rules), None
        facts = list(file.facts.values()) + self.app.case_facts(file.case_ids())
        return residence_file(facts, victim_id, as_of, settings=self.rules), file
