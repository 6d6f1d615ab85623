"""The investigation application: one method per command, each applied through the command bus."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from eventsourcing.application import AggregateNotFoundError

from investigation.application import commands as c
from investigation.domain.case_investigation import (
    CORRECTION_TOPICS,
    PRIVATE_TOPICS,
    CaseInvestigation,
    PoliceRegistration,
)
from ketenzicht_common.bus import UnitOfWork
from ketenzicht_common.commands import CommandGateway, CommandResult, issue_case_id
from ketenzicht_common.corrections import check_correction, correct
from ketenzicht_common.domain import Provenance
from ketenzicht_common.errors import NotFound, NotTheOwner, PreconditionFailed
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

    def by_registration_number(self, number: str, organisation: str) -> CaseInvestigation:
        """The case behind a registration number, for the organisation that registered it."""
        try:
            registration: object = self.repository.get(PoliceRegistration.id_for(number))
        except AggregateNotFoundError:
            # The number is not echoed: it is a source identifier.
            raise NotFound("no case has that police registration number") from None
        assert isinstance(registration, PoliceRegistration)
        if registration.organisation != organisation:
            raise _not_yours()
        return self.investigation(registration.case_id)


def _not_yours() -> NotTheOwner:
    # A source number is its organisation's (the controller's): another may not learn which
    # case it is, nor register it again.
    return NotTheOwner("that police registration number was registered by another organisation")


@dataclass(frozen=True)
class CaseOpened:
    """The case pseudonym issued for a registration number (the first time, or again)."""

    case_id: str


def _existing(uow: UnitOfWork, case_id: str) -> CaseInvestigation:
    case = uow.get(CaseInvestigation.id_for(case_id), CaseInvestigation)
    if case is None:
        raise PreconditionFailed(
            "CASE_NOT_REGISTERED",
            f"ketenzicht issued no case {case_id}: open the case first (OpenCase)",
            subject=case_id,
        )
    return case


class InvestigationCommands:
    """What the investigation service can be told: one method per command. Every method
    checks before it records (see bus.py)."""

    def __init__(self, gateway: CommandGateway) -> None:
        self.gateway = gateway

    async def open_case(self, cmd: c.OpenCase, provenance: Provenance) -> CommandResult[CaseOpened]:
        """Issue the case pseudonym for a registration number: a new one the first time, the
        same one every time after (under any command id), storing nothing new then."""
        number = cmd.police_registration_number
        # Drawn before the command is applied: a retry is answered from the command log.
        new_case_id = issue_case_id()

        def handle(uow: UnitOfWork) -> CaseOpened:
            registration = uow.get(PoliceRegistration.id_for(number), PoliceRegistration)
            if registration is not None:
                if registration.organisation != provenance.organisation:
                    raise _not_yours()
                return CaseOpened(registration.case_id)
            uow.add(CaseInvestigation.register(new_case_id, number, provenance, cmd.occurred_on))
            uow.add(PoliceRegistration.link(number, new_case_id, provenance, cmd.occurred_on))
            return CaseOpened(new_case_id)

        return await self.gateway.submit(cmd, provenance, handle, CaseOpened)

    async def open_investigation(
        self, cmd: c.OpenInvestigation, provenance: Provenance
    ) -> CommandResult[None]:
        return await self._on_case(
            cmd, provenance, lambda case: case.open_investigation(provenance, cmd.occurred_on)
        )

    async def decide_no_investigation(
        self, cmd: c.DecideNoInvestigation, provenance: Provenance
    ) -> CommandResult[None]:
        return await self._on_case(
            cmd, provenance, lambda case: case.decide_no_investigation(provenance, cmd.occurred_on)
        )

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
