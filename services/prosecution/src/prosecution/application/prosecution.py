"""The prosecution application: one method per command, each applied through the command bus."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eventsourcing.application import AggregateNotFoundError

from ketenzicht_common.bus import UnitOfWork
from ketenzicht_common.commands import CommandGateway
from ketenzicht_common.domain import Provenance
from ketenzicht_common.errors import AlreadyExists, NotFound, PreconditionFailed
from ketenzicht_common.store import ChainApplication, topics_of
from prosecution.application import commands as c
from prosecution.domain import prosecution_case
from prosecution.domain.prosecution_case import ProsecutionCase
from prosecution.domain.suspect_proceedings import Parketnummer, SuspectProceedings

PRIVATE_TOPICS = prosecution_case.PRIVATE_TOPICS | {
    SuspectProceedings.ParketnummerRecorded.TOPIC,
    Parketnummer.Opened.TOPIC,
}
"""Topics that stay in the prosecution store: they hold no chain fact, or a source id."""


class ProsecutionApplication(ChainApplication):
    name = "prosecution"
    service = "prosecution"

    def event_topics(self) -> set[str]:
        return topics_of(SuspectProceedings, ProsecutionCase, Parketnummer) - PRIVATE_TOPICS

    def _get(self, aggregate_id: Any, kind: type[Any], missing: str) -> Any:
        try:
            found: object = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFound(missing) from None
        assert isinstance(found, kind)
        return found

    def proceedings(self, case_id: str, suspect_id: str) -> SuspectProceedings:
        found: SuspectProceedings = self._get(
            SuspectProceedings.id_for(case_id, suspect_id), SuspectProceedings,
            # The ids are not echoed: a query refusal repeats nothing the caller sent.
            "that case is not registered against that suspect")
        return found

    def by_parketnummer(self, parketnummer: str) -> SuspectProceedings:
        # The number is not echoed: it is a source identifier.
        number: Parketnummer = self._get(Parketnummer.id_for(parketnummer), Parketnummer,
                                         "no proceedings have that parketnummer")
        return self.proceedings(number.case_id, number.suspect_id)

    def case(self, case_id: str) -> ProsecutionCase:
        found: ProsecutionCase = self._get(ProsecutionCase.id_for(case_id), ProsecutionCase,
                                           "the OM knows no such case")
        return found


def _case(uow: UnitOfWork, case_id: str, provenance: Provenance,
          occurred_on: Any) -> ProsecutionCase:
    case = uow.get(ProsecutionCase.id_for(case_id), ProsecutionCase)
    if case is None:
        case = ProsecutionCase.create(case_id, provenance, occurred_on)
        uow.add(case)
    return case


class ProsecutionCommands:
    """What the prosecution service can be told. Every method checks before it records."""

    def __init__(self, gateway: CommandGateway) -> None:
        self.gateway = gateway

    async def register_case(self, cmd: c.RegisterCase, provenance: Provenance) -> dict[str, Any]:
        parketnummer = cmd.parketnummer or ""

        def handle(uow: UnitOfWork) -> dict[str, Any]:
            aggregate_id = SuspectProceedings.id_for(cmd.case_id, cmd.suspect_id)
            if uow.get(aggregate_id, SuspectProceedings) is not None:
                raise AlreadyExists(f"case {cmd.case_id} is already registered against suspect "
                                    f"{cmd.suspect_id}")
            if parketnummer and uow.get(Parketnummer.id_for(parketnummer),
                                        Parketnummer) is not None:
                raise PreconditionFailed(
                    "PARKETNUMMER_IN_USE", "that parketnummer belongs to other proceedings",
                    subject=f"{cmd.case_id}/{cmd.suspect_id}",
                )
            # Every check is done: from here on the command only records.
            uow.add(SuspectProceedings.register(cmd.case_id, cmd.suspect_id, provenance,
                                                cmd.occurred_on, parketnummer))
            if parketnummer:
                uow.add(Parketnummer.link(parketnummer, cmd.case_id, cmd.suspect_id,
                                          provenance, cmd.occurred_on))
            _case(uow, cmd.case_id, provenance, cmd.occurred_on).add_suspect(
                provenance, cmd.occurred_on, cmd.suspect_id)
            return {}

        return await self.gateway.submit(cmd, provenance, handle)

    async def on_suspect(self, cmd: c.SuspectCommand, provenance: Provenance,
                         act: Callable[[SuspectProceedings], None]) -> dict[str, Any]:
        def handle(uow: UnitOfWork) -> dict[str, Any]:
            proceedings = uow.get(SuspectProceedings.id_for(cmd.case_id, cmd.suspect_id),
                                  SuspectProceedings)
            if proceedings is None:
                raise PreconditionFailed(
                    "CASE_NOT_REGISTERED",
                    f"the OM registered no case {cmd.case_id} against suspect {cmd.suspect_id}",
                    subject=f"{cmd.case_id}/{cmd.suspect_id}",
                )
            act(proceedings)
            return {}

        return await self.gateway.submit(cmd, provenance, handle)

    async def on_victim(self, cmd: c.VictimCommand, provenance: Provenance,
                        act: Callable[[ProsecutionCase], None]) -> dict[str, Any]:
        def handle(uow: UnitOfWork) -> dict[str, Any]:
            case = uow.get(ProsecutionCase.id_for(cmd.case_id), ProsecutionCase)
            if case is None:
                # A victim fact may arrive before any suspect is registered: accept it.
                case = ProsecutionCase.create(cmd.case_id, provenance, cmd.occurred_on)
                act(case)
                uow.add(case)
            else:
                act(case)
            return {}

        return await self.gateway.submit(cmd, provenance, handle)

    async def execute(self, cmd: c.SuspectCommand | c.VictimCommand,
                      provenance: Provenance) -> dict[str, Any]:
        p, d = provenance, cmd.occurred_on
        if isinstance(cmd, c.RegisterCase):
            return await self.register_case(cmd, p)
        if isinstance(cmd, c.HoldExaminingMagistrateHearing):
            victim = cmd.victim_id
            return await self.on_victim(
                cmd, p, lambda case: case.hold_examining_magistrate_hearing(p, d, victim))
        if isinstance(cmd, c.AssessPresence):
            victim, necessary = cmd.victim_id, cmd.presence == "NECESSARY"
            return await self.on_victim(
                cmd, p, lambda case: case.assess_presence(p, d, victim, necessary))
        if isinstance(cmd, c.VictimCommand):
            raise TypeError(f"no handler for {type(cmd).__name__}")
        return await self.on_suspect(cmd, p, self._suspect_action(cmd, p))

    @staticmethod
    def _suspect_action(cmd: c.SuspectCommand,
                        p: Provenance) -> Callable[[SuspectProceedings], None]:
        d = cmd.occurred_on
        if isinstance(cmd, c.SummonSuspect):
            return lambda s: s.summon(p, d)
        if isinstance(cmd, c.DismissCase):
            kind, code = cmd.kind.value, cmd.code
            return lambda s: s.dismiss(p, d, kind, code)
        if isinstance(cmd, c.DecideOtherDisposal):
            disposal = cmd.kind.value
            return lambda s: s.dispose_otherwise(p, d, disposal)
        if isinstance(cmd, c.ReopenCase):
            return lambda s: s.reopen(p, d)
        if isinstance(cmd, c.HoldCourtHearing):
            instance = cmd.instance.value
            return lambda s: s.hold_court_hearing(p, d, instance)
        if isinstance(cmd, c.DeliverVerdict):
            instance, outcome = cmd.instance.value, cmd.outcome.value
            return lambda s: s.deliver_verdict(p, d, instance, outcome)
        if isinstance(cmd, c.LodgeAppeal):
            return lambda s: s.lodge_appeal(p, d)
        if isinstance(cmd, c.MarkCaseFinal):
            return lambda s: s.mark_final(p, d)
        raise TypeError(f"no handler for {type(cmd).__name__}")
