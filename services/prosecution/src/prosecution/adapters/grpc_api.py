"""The gRPC API of the prosecution service: a translator from protobuf to commands and back."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

from ketenzicht.common.v1 import common_pb2
from ketenzicht.prosecution.v1 import prosecution_pb2 as pb
from ketenzicht_common.errors import InvalidCommand
from ketenzicht_common.grpc_server import Caller
from ketenzicht_common.ingest import bulk_submit
from ketenzicht_common.translate import command_from, pseudonym
from prosecution.application import commands as c
from prosecution.application.prosecution import ProsecutionApplication, ProsecutionCommands
from prosecution.domain.prosecution_case import ProsecutionCase
from prosecution.domain.suspect_proceedings import SuspectProceedings

DESCRIPTOR = pb.DESCRIPTOR.services_by_name["ProsecutionService"]

_PARKETNUMMER = re.compile(c.PARKETNUMMER_PATTERN)


def _ack(result: dict[str, Any]) -> common_pb2.CommandAck:
    return common_pb2.CommandAck(event_ids=result["event_ids"],
                                 replayed=bool(result.get("replayed")))


def _day(value: date | None) -> str:
    return value.isoformat() if value is not None else ""


def summary_of(proceedings: SuspectProceedings) -> pb.ProsecutionSummary:
    kind, code = proceedings.dismissal or ("UNSPECIFIED", "")
    return pb.ProsecutionSummary(
        case_id=proceedings.case_id,
        suspect_id=proceedings.suspect_id,
        registered_on=_day(proceedings.registered_on),
        parketnummer=proceedings.parketnummer,
        decision=pb.ProsecutionDecision.Value(
            f"PROSECUTION_DECISION_{proceedings.decision or 'UNSPECIFIED'}"),
        decided_on=_day(proceedings.decided_on),
        dismissal_kind=pb.DismissalKind.Value(f"DISMISSAL_KIND_{kind}"),
        dismissal_code=code,
        other_disposal_kind=pb.OtherDisposalKind.Value(
            f"OTHER_DISPOSAL_KIND_{proceedings.disposal_kind or 'UNSPECIFIED'}"),
        reopenings=len(proceedings.reopenings),
        summoned_on=_day(proceedings.summoned_on),
        court_hearings=len(proceedings.hearings),
        verdicts=[
            pb.Verdict(instance=pb.CourtInstance.Value(f"COURT_INSTANCE_{instance}"),
                       outcome=pb.VerdictOutcome.Value(f"VERDICT_OUTCOME_{outcome}"),
                       delivered_on=_day(on))
            for instance, (outcome, on) in sorted(proceedings.verdicts.items(),
                                                  key=lambda item: item[1][1])
        ],
        appeal_lodged_on=_day(proceedings.appeal_lodged_on),
        final_on=_day(proceedings.final_on),
    )


def case_summary_of(case: ProsecutionCase) -> pb.ProsecutionCaseSummary:
    return pb.ProsecutionCaseSummary(
        case_id=case.case_id,
        suspect_ids=sorted(case.suspects),
        heard_victim_ids=sorted(case.hearings),
        presence_assessments=[
            pb.PresenceAssessment(victim_id=victim, presence_necessary=necessary,
                                  assessed_on=_day(on))
            for victim, (necessary, on) in sorted(case.presence.items())
        ],
    )


class ProsecutionApi:
    def __init__(self, app: ProsecutionApplication, commands: ProsecutionCommands) -> None:
        self.app = app
        self.commands = commands

    async def _command(self, request: Any, caller: Caller,
                       kind: type[c.SuspectCommand] | type[c.VictimCommand]
                       ) -> common_pb2.CommandAck:
        command, command_id = command_from(request, kind)
        return _ack(await self.commands.execute(command, caller.provenance(command_id)))

    async def RegisterCase(self, request: Any, caller: Caller) -> Any:
        return await self._command(request, caller, c.RegisterCase)

    async def HoldExaminingMagistrateHearing(self, request: Any, caller: Caller) -> Any:
        return await self._command(request, caller, c.HoldExaminingMagistrateHearing)

    async def AssessPresence(self, request: Any, caller: Caller) -> Any:
        return await self._command(request, caller, c.AssessPresence)

    async def SummonSuspect(self, request: Any, caller: Caller) -> Any:
        return await self._command(request, caller, c.SummonSuspect)

    async def DismissCase(self, request: Any, caller: Caller) -> Any:
        return await self._command(request, caller, c.DismissCase)

    async def DecideOtherDisposal(self, request: Any, caller: Caller) -> Any:
        return await self._command(request, caller, c.DecideOtherDisposal)

    async def ReopenCase(self, request: Any, caller: Caller) -> Any:
        return await self._command(request, caller, c.ReopenCase)

    async def HoldCourtHearing(self, request: Any, caller: Caller) -> Any:
        return await self._command(request, caller, c.HoldCourtHearing)

    async def DeliverVerdict(self, request: Any, caller: Caller) -> Any:
        return await self._command(request, caller, c.DeliverVerdict)

    async def LodgeAppeal(self, request: Any, caller: Caller) -> Any:
        return await self._command(request, caller, c.LodgeAppeal)

    async def MarkCaseFinal(self, request: Any, caller: Caller) -> Any:
        return await self._command(request, caller, c.MarkCaseFinal)

    def Submit(self, requests: AsyncIterator[Any], caller: Caller) -> AsyncIterator[Any]:
        return bulk_submit(self, requests, caller, pb.ProsecutionCommandResult)

    async def GetProsecution(self, request: Any, caller: Caller) -> Any:
        case_id = pseudonym("case_id", request.case_id)
        suspect_id = pseudonym("suspect_id", request.suspect_id)
        return await self.commands.gateway.bus.query(
            lambda: summary_of(self.app.proceedings(case_id, suspect_id)))

    async def FindProsecution(self, request: Any, caller: Caller) -> Any:
        parketnummer = request.parketnummer
        if not _PARKETNUMMER.fullmatch(parketnummer):
            raise InvalidCommand.of("parketnummer", "use the OM format NN/NNNNNN-NN")
        return await self.commands.gateway.bus.query(
            lambda: summary_of(self.app.by_parketnummer(parketnummer)))

    async def GetProsecutionCase(self, request: Any, caller: Caller) -> Any:
        case_id = pseudonym("case_id", request.case_id)
        return await self.commands.gateway.bus.query(
            lambda: case_summary_of(self.app.case(case_id)))
