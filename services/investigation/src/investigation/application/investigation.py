"""The investigation application: one method per command, each applied through the command bus."""

from __future__ import annotations

from collections.abc import Callable

from eventsourcing.application import AggregateNotFoundError

from investigation.application import commands as c
from investigation.domain.case_investigation import (
    CORRECTION_TOPICS,
    PRIVATE_TOPICS,
    CaseInvestigation,
    PoliceRegistration,
)
from ketenzicht_common.bus import UnitOfWork
from ketenzicht_common.commands import CommandGateway, CommandResult
from ketenzicht_common.corrections import check_correction, correct
from ketenzicht_common.domain import Provenance
from ketenzicht_common.errors import NotFound, PreconditionFailed
from ketenzicht_common.store import ChainApplication, topics_of


class InvestigationApplication(ChainApplication):
    name = "investigation"
    service = "investigation"

    def event_topics(self) -> set[str]:
        return topics_of(CaseInvestigation, PoliceRegistration) - PRIVATE_TOPICS

    def investigation(self, case_id: str) -> CaseInvestigation:
        try:
            case: object = self.repository.get(CaseInvestigation.id_for(case_id))
        except AggregateNotFoundError:
            # The id is not echoed: a query refusal repeats nothing the caller sent.
            raise NotFound("no investigation of that case") from None
        assert isinstance(case, CaseInvestigation)
        return case

    def by_registration_number(self, number: str) -> CaseInvestigation:
        try:
            registration: object = self.repository.get(PoliceRegistration.id_for(number))
        except AggregateNotFoundError:
            # The number is not echoed: it is a source identifier.
            raise NotFound("no case has that police registration number") from None
        assert isinstance(registration, PoliceRegistration)
        return self.investigation(registration.case_id)


def _existing(uow: UnitOfWork, case_id: str) -> CaseInvestigation:
    case = uow.get(CaseInvestigation.id_for(case_id), CaseInvestigation)
    if case is None:
        raise PreconditionFailed(
            "INVESTIGATION_NOT_OPENED",
            f"no investigation was opened in case {case_id}",
            subject=case_id,
        )
    return case


class InvestigationCommands:
    """What the investigation service can be told: one method per command. Every method
    checks before it records (see bus.py)."""

    def __init__(self, gateway: CommandGateway) -> None:
        self.gateway = gateway

    async def open_investigation(
        self, cmd: c.OpenInvestigation, provenance: Provenance
    ) -> CommandResult[None]:
        number = cmd.police_registration_number or ""

        def handle(uow: UnitOfWork) -> None:
            registration = None
            if number:
                registration = uow.get(PoliceRegistration.id_for(number), PoliceRegistration)
                if registration is not None and registration.case_id != cmd.case_id:
                    raise PreconditionFailed(
                        "REGISTRATION_NUMBER_IN_USE",
                        "that police registration number belongs to another case",
                        subject=cmd.case_id,
                    )
            case = uow.get(CaseInvestigation.id_for(cmd.case_id), CaseInvestigation)
            if case is None:
                case = CaseInvestigation.create(cmd.case_id, provenance, cmd.occurred_on)
                uow.add(case)
            else:
                # Checked here too so that a refusal leaves no index entry behind.
                case.check_open(cmd.occurred_on, number)
            if number and registration is None:
                uow.add(PoliceRegistration.link(number, cmd.case_id, provenance, cmd.occurred_on))
            case.open_investigation(provenance, cmd.occurred_on, number)

        return await self.gateway.submit(cmd, provenance, handle)

    async def decide_no_investigation(
        self, cmd: c.DecideNoInvestigation, provenance: Provenance
    ) -> CommandResult[None]:
        def handle(uow: UnitOfWork) -> None:
            case = uow.get_or_open(
                CaseInvestigation.id_for(cmd.case_id),
                CaseInvestigation,
                lambda: CaseInvestigation.create(cmd.case_id, provenance, cmd.occurred_on),
            )
            case.decide_no_investigation(provenance, cmd.occurred_on)

        return await self.gateway.submit(cmd, provenance, handle)

    async def _on_case(
        self, cmd: c.CaseCommand, provenance: Provenance, act: Callable[[CaseInvestigation], None]
    ) -> CommandResult[None]:
        """A command about a case the investigation service already knows."""

        def handle(uow: UnitOfWork) -> None:
            act(_existing(uow, cmd.case_id))

        return await self.gateway.submit(cmd, provenance, handle)

    async def identify_suspect(
        self, cmd: c.IdentifySuspect, provenance: Provenance
    ) -> CommandResult[None]:
        return await self._on_case(
            cmd,
            provenance,
            lambda case: case.identify_suspect(provenance, cmd.occurred_on, cmd.suspect_id),
        )

    async def hear_victim(self, cmd: c.HearVictim, provenance: Provenance) -> CommandResult[None]:
        return await self._on_case(
            cmd,
            provenance,
            lambda case: case.hear_victim(
                provenance, cmd.occurred_on, cmd.victim_id, cmd.with_police_psychologist
            ),
        )

    async def suspend_investigation(
        self, cmd: c.SuspendInvestigation, provenance: Provenance
    ) -> CommandResult[None]:
        return await self._on_case(
            cmd, provenance, lambda case: case.suspend(provenance, cmd.occurred_on)
        )

    async def resume_investigation(
        self, cmd: c.ResumeInvestigation, provenance: Provenance
    ) -> CommandResult[None]:
        return await self._on_case(
            cmd, provenance, lambda case: case.resume(provenance, cmd.occurred_on)
        )

    async def submit_to_prosecution(
        self, cmd: c.SubmitToProsecution, provenance: Provenance
    ) -> CommandResult[None]:
        return await self._on_case(
            cmd,
            provenance,
            lambda case: case.submit_to_prosecution(
                provenance, cmd.occurred_on, list(cmd.suspect_ids)
            ),
        )

    async def close_investigation(
        self, cmd: c.CloseInvestigation, provenance: Provenance
    ) -> CommandResult[None]:
        return await self._on_case(
            cmd, provenance, lambda case: case.close(provenance, cmd.occurred_on, cmd.reason.value)
        )

    async def correct_fact(
        self, cmd: c.AnnulFact | c.AmendFact, provenance: Provenance
    ) -> CommandResult[None]:
        """Annul or amend a fact of the case (docs/domain.md#corrections)."""
        check_correction(cmd, self.gateway.clock.today())
        facts = self.fact_topics()

        def handle(uow: UnitOfWork) -> None:
            case = uow.get(CaseInvestigation.id_for(cmd.case_id), CaseInvestigation)
            correct(
                uow,
                case,
                cmd,
                provenance,
                service="investigation",
                subject=cmd.case_id,
                fact_topics=facts,
            )

        return await self.gateway.submit(cmd, provenance, handle)

    @staticmethod
    def fact_topics() -> frozenset[str]:
        return frozenset(topics_of(CaseInvestigation) - PRIVATE_TOPICS - CORRECTION_TOPICS)
