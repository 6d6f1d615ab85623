"""The residence application: facts in, triggers out, decided by the rules in domain/.

Split by job:

* `ResidenceApplication` — the event store: victims' and cases' files;
* `ResidenceCommands.note` and one method per IND decision (`grant_reflection_period`, …) —
  facts off the bus and the IND's decisions, stored as they come; each marks the victims it
  concerns as changed (`settling`);
* `ResidenceCommands.settle` — for victims that have settled, one pass of the rules over all
  their facts (with the steps of every case they take part in) and what ``reconcile`` says to
  send: new triggers, retractions, replacements; and each victim's next deadline for the
  `DeadlineSchedule`;
* `ResidenceCommands.position` — the IND's query.

The background tasks that drive settling and deadlines live in the adapters.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from uuid import uuid4

from eventsourcing.application import AggregateNotFoundError
from pydantic import BeforeValidator, PlainSerializer

from ketenzicht_common.bus import UnitOfWork
from ketenzicht_common.commands import CommandGateway, CommandResult
from ketenzicht_common.consumer import ReceivedEvent, Unprocessable
from ketenzicht_common.corrections import check_correction, correct
from ketenzicht_common.domain import Provenance
from ketenzicht_common.errors import NotActive, NotTheOwner
from ketenzicht_common.store import ChainApplication, topics_of
from ketenzicht_contracts.envelope import stream_for
from residence.application import commands as c
from residence.application import schedule
from residence.application.evaluations import DecisionCache
from residence.application.files import (
    DECISION_TOPICS,
    PRIVATE_TOPICS,
    TRIGGER_EVENT_TYPES,
    CaseFile,
    VictimFile,
)
from residence.application.settling import Settling
from residence.domain import (
    DEFAULT_SETTINGS,
    EmittedTrigger,
    Fact,
    FactError,
    ResidenceFile,
    RuleSettings,
    TriggerKind,
    addressee_of,
    all_decisions,
    fact_from_event,
    first_after,
    reconcile,
    residence_file,
)
from residence.domain.facts import POSITION_FIELD, RELEVANT_EVENTS
from residence.domain.model import Correction
from residence.domain.rule_change import FeedDifference, feed_difference

log = logging.getLogger(__name__)

UPSTREAM = ("intake", "investigation", "prosecution")
UPSTREAM_STREAMS = tuple(stream_for(service) for service in UPSTREAM)

RULES = Provenance(organisation="ketenzicht", system="residence-rules", command_id="")


class ResidenceApplication(ChainApplication):
    name = "residence"
    service = "residence"

    def event_topics(self) -> set[str]:
        return topics_of(VictimFile, CaseFile) - PRIVATE_TOPICS

    def subject_of(self, event: Any) -> str:
        event_type = type(event).__name__
        if event_type in TRIGGER_EVENT_TYPES:
            kind = (
                TRIGGER_KINDS.get(event_type)
                or TRIGGER_KINDS[str(getattr(event, "trigger_key", "")).split("|", 1)[0]]
            )
            return f"ketenzicht.residence.triggers.{addressee_of(kind).value}.{event_type}"
        return super().subject_of(event)

    def message_id(self, event: Any) -> str:
        return str(getattr(event, "trigger_id", ""))

    def victim_ids(self) -> list[str]:
        """Every victim with a file, read from the notification log."""
        ids: list[str] = []
        start = 1
        while True:
            page = self.recorder.select_notifications(start, 1000, topics=[VictimFile.Opened.TOPIC])
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

    def case_file(self, case_id: str) -> CaseFile | None:
        try:
            found: object = self.repository.get(CaseFile.id_for(case_id))
        except AggregateNotFoundError:
            return None
        assert isinstance(found, CaseFile)
        return found

    def held_facts(self) -> list[Fact]:
        """Every fact residence holds, once: each victim's own and those of the cases it is
        linked to (what one pass of the rules is judged over, `residence.domain.evaluate`)."""
        found: dict[str, Fact] = {}
        for victim_id in self.victim_ids():
            file = self.file_of(victim_id)
            if file is None:
                continue
            cases = [case for case_id in file.case_ids() if (case := self.case_file(case_id))]
            for fact in [*file.facts.values(), *(f for case in cases for f in case.facts.values())]:
                found.setdefault(fact.event_id, fact)
        return list(found.values())


TRIGGER_KINDS = {kind.value: kind for kind in TriggerKind}


@dataclass(frozen=True)
class VictimsChanged:
    """The victims whose facts a command changed: they must settle again."""

    victims: tuple[str, ...] = ()


def _iso_or_empty(day: date | None) -> str:
    return day.isoformat() if day else ""


@dataclass(frozen=True)
class Settled:
    """A victim's next deadline after its rules were applied; None when none is pending."""

    # Kept in the command log as an ISO date, or "" for none.
    next: Annotated[
        date | None,
        PlainSerializer(_iso_or_empty, return_type=str),
        BeforeValidator(lambda value: value or None),
    ] = None


class ResidenceCommands:
    """What residence is told (by the bus, the IND and the clock), and the rules applied to it
    once it has settled."""

    def __init__(
        self,
        app: ResidenceApplication,
        gateway: CommandGateway,
        rules: RuleSettings = DEFAULT_SETTINGS,
        *,
        settling: Settling | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.gateway = gateway
        self.rules = rules
        self.rules_fingerprint = schedule.rules_fingerprint(rules)
        """The rules as applied: their settings and the code of the residence domain."""
        self.schedule = schedule.DeadlineSchedule()
        self.settling = settling or Settling(UPSTREAM_STREAMS)
        self.monotonic = monotonic
        self.evaluations = DecisionCache()
        """Each victim's decisions while its facts stay the same (`evaluations`)."""
        self._unanswered = 0  # commands whose victims are not marked yet
        self.active = True
        """False on a warm standby (docs/adr/0034): it neither consumes nor settles, and it
        refuses the IND's decisions (UNAVAILABLE: sent again, they reach the active instance,
        whose settling alone would know the victim changed)."""

    def stand_by(self) -> None:
        """From now on a warm standby: what an active instance kept in memory (the unsettled
        victims, the watermark, the deadline schedule) is dropped; `take_over` starts afresh."""
        self.active = False
        self.settling = Settling(UPSTREAM_STREAMS, self.settling.grace)
        self.schedule = schedule.DeadlineSchedule()

    def take_over(self, schedule_file: Path) -> None:
        """The active instance from now on (its lease held): the schedule of a clean stop is
        taken if nothing was stored since, else the rules are applied to every victim once
        upstream has settled, as at a start. Call before anything is consumed."""
        self.settling = Settling(UPSTREAM_STREAMS, self.settling.grace)
        self.schedule = schedule.DeadlineSchedule()
        self.restore_schedule(schedule_file)
        self.active = True

    def _require_active(self) -> None:
        if not self.active:
            raise NotActive()

    # --- facts in: stored as they come, the victims marked as changed ---

    async def _marking(
        self, execution: Awaitable[CommandResult[VictimsChanged]]
    ) -> CommandResult[VictimsChanged]:
        """The command's result, once the victims it changed are marked unsettled."""
        self._unanswered += 1
        try:
            result = await execution
            self.settling.changed(result.answer.victims, self.monotonic())
            return result
        except asyncio.CancelledError:
            # The bus may still store it, and nothing would then mark its victims.
            self.schedule.unsure = True
            raise
        finally:
            self._unanswered -= 1

    @staticmethod
    def _file(
        uow: UnitOfWork, victim_id: str, provenance: Provenance, occurred_on: date
    ) -> VictimFile:
        # Facts may arrive before the signal that introduces the victim: accept them.
        return uow.get_or_open(
            VictimFile.id_for(victim_id),
            VictimFile,
            lambda: VictimFile.open(victim_id, provenance, occurred_on),
        )

    @staticmethod
    def _case(uow: UnitOfWork, case_id: str, provenance: Provenance, occurred_on: date) -> CaseFile:
        # Case steps may arrive before any victim's report names the case.
        return uow.get_or_open(
            CaseFile.id_for(case_id),
            CaseFile,
            lambda: CaseFile.open(case_id, provenance, occurred_on),
        )

    async def note(self, event: ReceivedEvent) -> None:
        """A fact off the bus: kept in the victim's or the case's file."""
        envelope = event.envelope
        if (envelope.service, envelope.event_type) not in RELEVANT_EVENTS:
            return
        try:
            payload = event.data
            if envelope.event_type in ("FactAnnulled", "FactAmended"):
                # Its place among the corrections of the same fact, kept with it.
                payload = dict(payload) | {POSITION_FIELD: envelope.aggregate_version}
            fact = fact_from_event(
                str(envelope.event_id),
                envelope.service,
                envelope.event_type,
                envelope.occurred_on,
                payload,
            )
        except (FactError, ValueError) as error:  # ValueError: the body is not JSON
            raise Unprocessable(str(error)) from error
        if fact is None:
            return
        command = c.NoteFact(
            occurred_on=envelope.occurred_on,
            event_id=str(envelope.event_id),
            service=envelope.service,
            event_type=envelope.event_type,
            payload=payload,
        )
        provenance = Provenance(
            envelope.organisation or "unknown",
            envelope.system or "unknown",
            str(envelope.event_id),
            envelope.traceparent,
            envelope.tracestate,
        )

        def handle(uow: UnitOfWork) -> VictimsChanged:
            args = (
                provenance,
                command.occurred_on,
                command.event_id,
                command.service,
                command.event_type,
                command.payload,
            )
            # A fact about a victim (and intake's corrections, which name the victim) is kept
            # in the victim's file; a case step (and a correction by case) in the case's file,
            # whose victims it concerns.
            victim_id = getattr(fact, "victim_id", None)
            if victim_id:
                file = self._file(uow, victim_id, provenance, command.occurred_on)
                if not file.note(*args):
                    return VictimsChanged()
                case_id = None if isinstance(fact, Correction) else getattr(fact, "case_id", None)
                if case_id:
                    self._case(uow, case_id, provenance, command.occurred_on).link(
                        provenance, command.occurred_on, victim_id
                    )
                return VictimsChanged((victim_id,))
            case_id = str(getattr(fact, "case_id"))  # noqa: B009 — every case fact has one
            case = self._case(uow, case_id, provenance, command.occurred_on)
            if not case.note(*args):
                return VictimsChanged()
            for victim_id in sorted(case.victims):
                self._file(uow, victim_id, provenance, command.occurred_on)
            return VictimsChanged(tuple(sorted(case.victims)))

        prefetch = [VictimFile.id_for(v) for v in [getattr(fact, "victim_id", None)] if v]
        prefetch += [CaseFile.id_for(c) for c in [getattr(fact, "case_id", None)] if c]
        await self._marking(
            self.gateway.bus.execute(command, provenance, handle, VictimsChanged, prefetch=prefetch)
        )

    # --- the IND's decisions: one method each, naming the event it is recorded as ---

    async def _decide(
        self, command: c.VictimDecision, provenance: Provenance, recorded_as: type[VictimFile.Event]
    ) -> CommandResult[VictimsChanged]:
        """An IND decision: always recorded as the fact it is, with the command's fields.
        Where the rules say it was not allowed, the rules raise a finding for the IND (R4),
        judged on all the facts once settled — never refused by what happened to have arrived
        first."""
        self._require_active()
        fields = command.model_dump(exclude={"occurred_on", "victim_id"})
        fields = {k: v.value if hasattr(v, "value") else v for k, v in fields.items()}

        def handle(uow: UnitOfWork) -> VictimsChanged:
            file = self._file(uow, command.victim_id, provenance, command.occurred_on)
            file.decide(recorded_as, provenance, command.occurred_on, **fields)
            return VictimsChanged((command.victim_id,))

        return await self._marking(self.gateway.submit(command, provenance, handle, VictimsChanged))

    async def grant_reflection_period(
        self, command: c.GrantReflectionPeriod, provenance: Provenance
    ) -> CommandResult[VictimsChanged]:
        return await self._decide(command, provenance, VictimFile.ReflectionPeriodGranted)

    async def end_reflection_period(
        self, command: c.EndReflectionPeriod, provenance: Provenance
    ) -> CommandResult[VictimsChanged]:
        return await self._decide(command, provenance, VictimFile.ReflectionPeriodEnded)

    async def grant_temporary_permit(
        self, command: c.GrantTemporaryPermit, provenance: Provenance
    ) -> CommandResult[VictimsChanged]:
        return await self._decide(command, provenance, VictimFile.TemporaryPermitGranted)

    async def refuse_temporary_permit(
        self, command: c.RefuseTemporaryPermit, provenance: Provenance
    ) -> CommandResult[VictimsChanged]:
        return await self._decide(command, provenance, VictimFile.TemporaryPermitRefused)

    async def extend_temporary_permit(
        self, command: c.ExtendTemporaryPermit, provenance: Provenance
    ) -> CommandResult[VictimsChanged]:
        return await self._decide(command, provenance, VictimFile.TemporaryPermitExtended)

    async def end_temporary_permit(
        self, command: c.EndTemporaryPermit, provenance: Provenance
    ) -> CommandResult[VictimsChanged]:
        return await self._decide(command, provenance, VictimFile.TemporaryPermitEnded)

    async def grant_non_temporary_permit(
        self, command: c.GrantNonTemporaryPermit, provenance: Provenance
    ) -> CommandResult[VictimsChanged]:
        return await self._decide(command, provenance, VictimFile.NonTemporaryPermitGranted)

    async def refuse_non_temporary_permit(
        self, command: c.RefuseNonTemporaryPermit, provenance: Provenance
    ) -> CommandResult[VictimsChanged]:
        return await self._decide(command, provenance, VictimFile.NonTemporaryPermitRefused)

    async def resume_dublin_transfer(
        self, command: c.ResumeDublinTransfer, provenance: Provenance
    ) -> CommandResult[VictimsChanged]:
        return await self._decide(command, provenance, VictimFile.DublinTransferResumed)

    async def find_no_eu_residence_right(
        self, command: c.FindNoEuResidenceRight, provenance: Provenance
    ) -> CommandResult[VictimsChanged]:
        return await self._decide(command, provenance, VictimFile.NoEuResidenceRightFound)

    async def correct_fact(
        self, command: c.AnnulFact | c.AmendFact, provenance: Provenance
    ) -> CommandResult[VictimsChanged]:
        """Annul or amend a decision the IND reported (docs/domain.md#corrections), through
        the same checks as every writing service's; the victim settles again, so the rules
        judge the decisions as they stand after it."""
        self._require_active()
        check_correction(command, self.gateway.clock.today())

        def handle(uow: UnitOfWork) -> VictimsChanged:
            file = uow.get(VictimFile.id_for(command.victim_id), VictimFile)
            if file is not None:
                cases = [uow.get(CaseFile.id_for(case_id), CaseFile) for case_id in file.case_ids()]
                noted = file.noted.union(*(case.noted for case in cases if case is not None))
                if command.corrected_event_id in noted:
                    # Residence holds it, but its source states it: only they correct it.
                    raise NotTheOwner("only the organisation that stated a fact may correct it")
            correct(
                uow,
                file,
                command,
                provenance,
                service="residence",
                subject=command.victim_id,
                fact_topics=DECISION_TOPICS,
            )
            return VictimsChanged((command.victim_id,))

        return await self._marking(self.gateway.submit(command, provenance, handle, VictimsChanged))

    # --- settled: the rules applied, the feed corrected ---

    def _facts(
        self, file: VictimFile, get: Callable[[str], CaseFile | None]
    ) -> tuple[list[Fact], list[CaseFile]]:
        cases = [case for case_id in sorted(file.case_ids()) if (case := get(case_id))]
        return list(file.facts.values()) + [f for case in cases for f in case.facts.values()], cases

    @staticmethod
    def _causes(
        file: VictimFile, cases: list[CaseFile]
    ) -> Callable[[EmittedTrigger], tuple[str, ...]]:
        """The facts noted after a trigger was sent; those dated on or before its day first
        (a fact late in business terms), else all of them. A correction counts as dated: it
        may move its fact to either side of the trigger's day (the date it states is not the
        one it corrects), and the retraction must name it."""
        noted = [
            (at, fact)
            for at, fact in ((file.noted_at.get(i), f) for i, f in file.facts.items())
            if at
        ] + [
            (at, fact)
            for case in cases
            for i, fact in case.facts.items()
            if (at := case.noted_at.get(i))
        ]

        def causes(sent: EmittedTrigger) -> tuple[str, ...]:
            if sent.sent_at is None:
                return ()
            later = sorted((at, f) for at, f in noted if at > sent.sent_at)
            dated = [
                f.event_id
                for _, f in later
                if isinstance(f, Correction) or f.occurred_on <= sent.decision.fires_on
            ]
            return tuple(dated or [f.event_id for _, f in later])

        return causes

    def _apply_rules(
        self, uow: UnitOfWork, file: VictimFile, today: date, provenance: Provenance
    ) -> date | None:
        facts, cases = self._facts(
            file, lambda case_id: uow.get(CaseFile.id_for(case_id), CaseFile)
        )
        victim_id = file.victim_id
        decisions = self.evaluations.decisions(
            victim_id,
            facts,
            lambda noted: [
                d for d in all_decisions(noted, settings=self.rules) if d.victim_id == victim_id
            ],
        )
        fired = [d for d in decisions if d.fires_on <= today]
        for item in reconcile(file.emitted, fired, self._causes(file, cases)):
            file.send(item, provenance)
        return first_after(decisions, today)

    async def settle(self, victim_ids: list[str], today: date) -> dict[str, date | None]:
        """Apply the rules to each victim as of ``today`` and send what changed; returns each
        victim's next deadline. One command per victim, so that they share a transaction and a
        failing victim fails alone (the bus retries a failed batch one by one)."""

        async def one(victim_id: str) -> tuple[str, date | None]:
            command = c.Settle(occurred_on=today, victim_id=victim_id)
            # A settle is a pure function of the stored facts: it needs no replay protection,
            # so each gets an id of its own (recorded only when it sends something).
            provenance = replace(RULES, command_id=f"settle:{victim_id}:{uuid4()}")

            def handle(uow: UnitOfWork) -> Settled:
                file = uow.get(VictimFile.id_for(victim_id), VictimFile)
                if file is None:
                    return Settled()
                return Settled(self._apply_rules(uow, file, today, provenance))

            result = await self.gateway.bus.execute(
                command, provenance, handle, Settled, prefetch=[VictimFile.id_for(victim_id)]
            )
            return victim_id, result.answer.next

        return dict(await asyncio.gather(*(one(v) for v in victim_ids)))

    # --- the schedule across a clean stop ---

    def _stamp(self) -> schedule.Stamp:
        return schedule.Stamp(
            self.app.store_id(), self.app.max_notification_id(), self.rules_fingerprint
        )

    def restore_schedule(self, path: Path) -> bool:
        """Take the schedule a clean stop saved, if nothing was stored since under these rules;
        call before anything is consumed."""
        return self.schedule.restore(path, self._stamp())

    def save_schedule(self, path: Path, *, bus_stopped: bool) -> None:
        """At a clean stop, once the bus has stopped: the schedule, for the next start."""
        self.schedule.save_at_stop(
            path,
            self._stamp(),
            unsettled=self.settling.unsettled_victims(),
            today=self.gateway.clock.today(),
            safe=bus_stopped and not self._unanswered,
        )

    def all_victims(self) -> list[str]:
        return self.app.victim_ids()

    # --- what a rule change would do ---

    def rule_change(self, proposed: RuleSettings, as_of: date) -> list[FeedDifference]:
        """For every victim, how the standing feed would differ under ``proposed`` settings
        (read-only: nothing is sent). Victims without a difference are left out."""
        differences = []
        for victim_id in self.app.victim_ids():
            file = self.app.file_of(victim_id)
            if file is None:
                continue
            facts, _ = self._facts(file, self.app.case_file)
            difference = feed_difference(facts, as_of, self.rules, proposed)
            if difference:
                differences.append(difference)
        return differences

    # --- the IND's query ---

    def position(self, victim_id: str, as_of: date) -> tuple[ResidenceFile, VictimFile | None]:
        file = self.app.file_of(victim_id)
        if file is None:
            return residence_file([], victim_id, as_of, settings=self.rules), None
        facts, _ = self._facts(file, self.app.case_file)
        return residence_file(facts, victim_id, as_of, settings=self.rules), file
