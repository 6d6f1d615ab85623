"""The gRPC API of the prosecution service: a translator from protobuf to commands and back."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date

from ketenzicht.common.v1.common_pb2 import CommandAck
from ketenzicht.prosecution.v1 import prosecution_pb2 as pb
from ketenzicht_common.errors import InvalidCommand
from ketenzicht_common.grpc_server import Caller
from ketenzicht_common.ingest import bulk_submit
from ketenzicht_common.translate import (
    ack,
    acknowledged,
    as_of_command,
    case_pseudonym,
    command_from,
    pseudonym,
)
from prosecution.application import commands as c
from prosecution.application.prosecution import ProsecutionApplication, ProsecutionCommands
from prosecution.domain.prosecution_case import ProsecutionCase
from prosecution.domain.suspect_proceedings import SuspectProceedings

DESCRIPTOR = pb.DESCRIPTOR.services_by_name["ProsecutionService"]

_PARKETNUMMER = re.compile(c.PARKETNUMMER_PATTERN)


def _day(value: date | None) -> str:
    return value.isoformat() if value is not None else ""


def summary_of(
    proceedings: SuspectProceedings, app: ProsecutionApplication
) -> pb.ProsecutionSummary:
    kind, code = proceedings.dismissal or ("UNSPECIFIED", "")
    return pb.ProsecutionSummary(
        case_id=proceedings.case_id,
        suspect_id=proceedings.suspect_id,
        registered_on=_day(proceedings.registered_on),
        parketnummer=app.parketnummer_of(proceedings),
        parketnummer_forgotten=app.parketnummer_forgotten(proceedings),
        decision=pb.ProsecutionDecision.Value(
            f"PROSECUTION_DECISION_{proceedings.decision or 'UNSPECIFIED'}"
        ),
        decided_on=_day(proceedings.decided_on),
        dismissal_kind=pb.DismissalKind.Value(f"DISMISSAL_KIND_{kind}"),
        dismissal_code=code,
        other_disposal_kind=pb.OtherDisposalKind.Value(
            f"OTHER_DISPOSAL_KIND_{proceedings.disposal_kind or 'UNSPECIFIED'}"
        ),
        reopenings=len(proceedings.reopenings),
        summoned_on=_day(proceedings.summoned_on),
        court_hearings=len(proceedings.hearings),
        verdicts=[
            pb.Verdict(
                instance=pb.CourtInstance.Value(f"COURT_INSTANCE_{instance}"),
                outcome=pb.VerdictOutcome.Value(f"VERDICT_OUTCOME_{outcome}"),
                delivered_on=_day(on),
            )
            for instance, (outcome, on) in sorted(
                proceedings.verdicts.items(), key=lambda item: item[1][1]
            )
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
            pb.PresenceAssessment(
                victim_id=victim, presence_necessary=necessary, assessed_on=_day(on)
            )
            for victim, (necessary, on) in sorted(case.presence.items())
        ],
    )


class ProsecutionApi:
    def __init__(self, app: ProsecutionApplication, commands: ProsecutionCommands) -> None:
        self.app = app
        self.commands = commands

    async def OpenCase(self, request: pb.OpenCaseRequest, caller: Caller) -> pb.OpenCaseResponse:
        command, command_id = command_from(request, c.OpenCase)
        result = await self.commands.open_case(command, caller.provenance(command_id))
        return pb.OpenCaseResponse(
            case_id=result.answer.case_id, suspect_id=result.answer.suspect_id, ack=ack(result)
        )

    async def RegisterCase(
        self, request: pb.RegisterCaseRequest, caller: Caller
    ) -> pb.RegisterCaseResponse:
        command, command_id = command_from(request, c.RegisterCase)
        result = await self.commands.register_case(command, caller.provenance(command_id))
        return pb.RegisterCaseResponse(suspect_id=result.answer.suspect_id, ack=ack(result))

    async def HoldExaminingMagistrateHearing(
        self, request: pb.VictimFactRequest, caller: Caller
    ) -> CommandAck:
        return await acknowledged(
            request,
            c.HoldExaminingMagistrateHearing,
            caller,
            self.commands.hold_examining_magistrate_hearing,
        )

    async def AssessPresence(self, request: pb.AssessPresenceRequest, caller: Caller) -> CommandAck:
        return await acknowledged(request, c.AssessPresence, caller, self.commands.assess_presence)

    async def SummonSuspect(self, request: pb.SuspectFactRequest, caller: Caller) -> CommandAck:
        return await acknowledged(request, c.SummonSuspect, caller, self.commands.summon_suspect)

    async def DismissCase(self, request: pb.DismissCaseRequest, caller: Caller) -> CommandAck:
        return await acknowledged(request, c.DismissCase, caller, self.commands.dismiss_case)

    async def DecideOtherDisposal(
        self, request: pb.OtherDisposalRequest, caller: Caller
    ) -> CommandAck:
        return await acknowledged(
            request, c.DecideOtherDisposal, caller, self.commands.decide_other_disposal
        )

    async def ReopenCase(self, request: pb.SuspectFactRequest, caller: Caller) -> CommandAck:
        return await acknowledged(request, c.ReopenCase, caller, self.commands.reopen_case)

    async def HoldCourtHearing(self, request: pb.CourtHearingRequest, caller: Caller) -> CommandAck:
        return await acknowledged(
            request, c.HoldCourtHearing, caller, self.commands.hold_court_hearing
        )

    async def DeliverVerdict(self, request: pb.VerdictRequest, caller: Caller) -> CommandAck:
        return await acknowledged(request, c.DeliverVerdict, caller, self.commands.deliver_verdict)

    async def LodgeAppeal(self, request: pb.SuspectFactRequest, caller: Caller) -> CommandAck:
        return await acknowledged(request, c.LodgeAppeal, caller, self.commands.lodge_appeal)

    async def MarkCaseFinal(self, request: pb.SuspectFactRequest, caller: Caller) -> CommandAck:
        return await acknowledged(request, c.MarkCaseFinal, caller, self.commands.mark_case_final)

    async def AnnulFact(self, request: pb.AnnulFactRequest, caller: Caller) -> CommandAck:
        return await acknowledged(request, c.AnnulFact, caller, self.commands.correct_fact)

    async def AmendFact(self, request: pb.AmendFactRequest, caller: Caller) -> CommandAck:
        return await acknowledged(request, c.AmendFact, caller, self.commands.correct_fact)

    async def ForgetParketnummer(
        self, request: pb.ForgetParketnummerRequest, caller: Caller
    ) -> CommandAck:
        return await acknowledged(
            request, c.ForgetParketnummer, caller, self.commands.forget_parketnummer
        )

    async def SweepRetention(
        self, request: pb.SweepRetentionRequest, caller: Caller
    ) -> pb.SweepRetentionResult:
        command, command_id = as_of_command(request, c.SweepRetention)
        result = await self.commands.sweep_retention(command, caller.provenance(command_id))
        return pb.SweepRetentionResult(forgotten=result.answer.forgotten, kept=result.answer.kept)

    def Submit(
        self, requests: AsyncIterator[pb.ProsecutionCommand], caller: Caller
    ) -> AsyncIterator[pb.ProsecutionCommandResult]:
        return bulk_submit(self, requests, caller, pb.ProsecutionCommandResult)

    async def GetProsecution(
        self, request: pb.GetProsecutionRequest, caller: Caller
    ) -> pb.ProsecutionSummary:
        case_id = case_pseudonym("case_id", request.case_id)
        suspect_id = pseudonym("suspect_id", request.suspect_id)
        return await self.commands.gateway.bus.query(
            lambda: summary_of(self.app.proceedings(case_id, suspect_id), self.app)
        )

    async def FindProsecution(
        self, request: pb.FindProsecutionRequest, caller: Caller
    ) -> pb.ProsecutionSummary:
        parketnummer = request.parketnummer
        if not _PARKETNUMMER.fullmatch(parketnummer):
            raise InvalidCommand.of("parketnummer", "use the OM format NN/NNNNNN-NN")
        organisation = caller.identity.organisation
        return await self.commands.gateway.bus.query(
            lambda: summary_of(self.app.by_parketnummer(parketnummer, organisation), self.app)
        )

    async def GetProsecutionCase(
        self, request: pb.GetProsecutionCaseRequest, caller: Caller
    ) -> pb.ProsecutionCaseSummary:
        case_id = case_pseudonym("case_id", request.case_id)
        return await self.commands.gateway.bus.query(
            lambda: case_summary_of(self.app.case(case_id))
        )
