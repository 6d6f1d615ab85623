"""The investigation application: one method per command, each applied through the command bus."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eventsourcing.application import AggregateNotFoundError

from investigation.application import commands as c
from investigation.domain.case_investigation import (
    PRIVATE_TOPICS,
    CaseInvestigation,
    PoliceRegistration,
)
from ketenzicht_common.bus import UnitOfWork
from ketenzicht_common.commands import CommandGateway
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
        raise PreconditionFailed("INVESTIGATION_NOT_OPENED",
                                 f"no investigation was opened in case {case_id}",
                                 subject=case_id)
    return case


class InvestigationCommands:
    """What the investigation service can be told. Every method checks before it records."""

    def __init__(self, gateway: CommandGateway) -> None:
        self.gateway = gateway

    async def open_investigation(self, cmd: c.OpenInvestigation,
                                 provenance: Provenance) -> dict[str, Any]:
        number = cmd.police_registration_number or ""

        def handle(uow: UnitOfWork) -> dict[str, Any]:
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
                uow.add(PoliceRegistration.link(number, cmd.case_id, provenance,
                                                cmd.occurred_on))
            case.open_investigation(provenance, cmd.occurred_on, number)
            return {}

        return await self.gateway.submit(cmd, provenance, handle)

    async def decide_no_investigation(self, cmd: c.DecideNoInvestigation,
                                      provenance: Provenance) -> dict[str, Any]:
        def handle(uow: UnitOfWork) -> dict[str, Any]:
            case = uow.get(CaseInvestigation.id_for(cmd.case_id), CaseInvestigation)
            if case is None:
                case = CaseInvestigation.create(cmd.case_id, provenance, cmd.occurred_on)
                uow.add(case)
            case.decide_no_investigation(provenance, cmd.occurred_on)
            return {}

        return await self.gateway.submit(cmd, provenance, handle)

    async def on_case(self, cmd: c.CaseCommand, provenance: Provenance,
                      act: Callable[[CaseInvestigation], None]) -> dict[str, Any]:
        def handle(uow: UnitOfWork) -> dict[str, Any]:
            act(_existing(uow, cmd.case_id))
            return {}

        return await self.gateway.submit(cmd, provenance, handle)

    async def execute(self, cmd: c.CaseCommand, provenance: Provenance) -> dict[str, Any]:
        """Every command about a case the investigation service already knows."""
        p, d = provenance, cmd.occurred_on
        if isinstance(cmd, c.OpenInvestigation):
            return await self.open_investigation(cmd, p)
        if isinstance(cmd, c.DecideNoInvestigation):
            return await self.decide_no_investigation(cmd, p)
        if isinstance(cmd, c.IdentifySuspect):
            return await self.on_case(cmd, p,
                                      lambda case: case.identify_suspect(p, d, cmd.suspect_id))
        if isinstance(cmd, c.HearVictim):
            return await self.on_case(cmd, p, lambda case: case.hear_victim(
                p, d, cmd.victim_id, cmd.with_police_psychologist))
        if isinstance(cmd, c.SuspendInvestigation):
            return await self.on_case(cmd, p, lambda case: case.suspend(p, d))
        if isinstance(cmd, c.ResumeInvestigation):
            return await self.on_case(cmd, p, lambda case: case.resume(p, d))
        if isinstance(cmd, c.SubmitToProsecution):
            return await self.on_case(cmd, p, lambda case: case.submit_to_prosecution(
                p, d, list(cmd.suspect_ids)))
        if isinstance(cmd, c.CloseInvestigation):
            return await self.on_case(cmd, p, lambda case: case.close(p, d, cmd.reason.value))
        raise TypeError(f"no handler for {type(cmd).__name__}")
