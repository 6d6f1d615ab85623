"""The gRPC API of intake: a translator from protobuf to commands and back, nothing more."""

from __future__ import annotations

from collections.abc import AsyncIterator

from intake.application import commands as c
from intake.application.intake import IntakeApplication, IntakeCommands
from ketenzicht.common.v1.common_pb2 import CommandAck
from ketenzicht.intake.v1 import intake_pb2 as pb
from ketenzicht_common.grpc_server import Caller
from ketenzicht_common.ingest import bulk_submit
from ketenzicht_common.translate import ack, acknowledged, command_from, pseudonym

DESCRIPTOR = pb.DESCRIPTOR.services_by_name["IntakeService"]


class IntakeApi:
    def __init__(self, app: IntakeApplication, commands: IntakeCommands) -> None:
        self.app = app
        self.commands = commands

    async def RegisterSignal(
        self, request: pb.RegisterSignalRequest, caller: Caller
    ) -> pb.RegisterSignalResponse:
        command, command_id = command_from(request, c.RegisterSignal)
        result = await self.commands.register_signal(command, caller.provenance(command_id))
        return pb.RegisterSignalResponse(
            victim_id=result.answer.victim_id,
            signal_id=result.answer.signal_id,
            matched=result.answer.matched,
            ack=ack(result),
        )

    async def HoldInformativeInterview(
        self, request: pb.VictimFactRequest, caller: Caller
    ) -> CommandAck:
        return await acknowledged(
            request, c.HoldInformativeInterview, caller, self.commands.hold_informative_interview
        )

    async def OfferReflectionPeriod(
        self, request: pb.VictimFactRequest, caller: Caller
    ) -> CommandAck:
        return await acknowledged(
            request, c.OfferReflectionPeriod, caller, self.commands.offer_reflection_period
        )

    async def DeclineReflectionPeriod(
        self, request: pb.VictimFactRequest, caller: Caller
    ) -> CommandAck:
        return await acknowledged(
            request, c.DeclineReflectionPeriod, caller, self.commands.decline_reflection_period
        )

    async def FileReport(self, request: pb.FileReportRequest, caller: Caller) -> CommandAck:
        return await acknowledged(request, c.FileReport, caller, self.commands.file_report)

    async def DeclareCooperation(
        self, request: pb.DeclareCooperationRequest, caller: Caller
    ) -> CommandAck:
        return await acknowledged(
            request, c.DeclareCooperation, caller, self.commands.declare_cooperation
        )

    async def RecordCooperationImpossible(
        self, request: pb.RecordCooperationImpossibleRequest, caller: Caller
    ) -> CommandAck:
        return await acknowledged(
            request,
            c.RecordCooperationImpossible,
            caller,
            self.commands.record_cooperation_impossible,
        )

    async def WithdrawReport(self, request: pb.CaseFactRequest, caller: Caller) -> CommandAck:
        return await acknowledged(request, c.WithdrawReport, caller, self.commands.withdraw_report)

    async def MarkVictimOutOfSight(
        self, request: pb.VictimFactRequest, caller: Caller
    ) -> CommandAck:
        return await acknowledged(
            request, c.MarkVictimOutOfSight, caller, self.commands.mark_victim_out_of_sight
        )

    async def CompleteIndividualAssessment(
        self, request: pb.CompleteIndividualAssessmentRequest, caller: Caller
    ) -> CommandAck:
        return await acknowledged(
            request,
            c.CompleteIndividualAssessment,
            caller,
            self.commands.complete_individual_assessment,
        )

    async def EnrolInPilot(self, request: pb.EnrolInPilotRequest, caller: Caller) -> CommandAck:
        return await acknowledged(request, c.EnrolInPilot, caller, self.commands.enrol_in_pilot)

    async def RecordPilotIntervention(
        self, request: pb.RecordPilotInterventionRequest, caller: Caller
    ) -> CommandAck:
        return await acknowledged(
            request, c.RecordPilotIntervention, caller, self.commands.record_pilot_intervention
        )

    async def ForgetMatchLink(
        self, request: pb.ForgetMatchLinkRequest, caller: Caller
    ) -> CommandAck:
        return await acknowledged(
            request, c.ForgetMatchLink, caller, self.commands.forget_match_link
        )

    async def AnnulFact(self, request: pb.AnnulFactRequest, caller: Caller) -> CommandAck:
        return await acknowledged(request, c.AnnulFact, caller, self.commands.correct_fact)

    async def AmendFact(self, request: pb.AmendFactRequest, caller: Caller) -> CommandAck:
        return await acknowledged(request, c.AmendFact, caller, self.commands.correct_fact)

    def Submit(
        self, requests: AsyncIterator[pb.IntakeCommand], caller: Caller
    ) -> AsyncIterator[pb.IntakeCommandResult]:
        return bulk_submit(self, requests, caller, pb.IntakeCommandResult)

    async def GetVictim(self, request: pb.GetVictimRequest, caller: Caller) -> pb.VictimSummary:
        victim_id = pseudonym("victim_id", request.victim_id)

        def summary() -> pb.VictimSummary:
            track = self.app.victim(victim_id)
            return pb.VictimSummary(
                victim_id=track.victim_id,
                first_signal_on=track.first_signal_on.isoformat(),
                signals=len(track.signals),
                reported_case_ids=sorted(track.reports),
                cooperating_case_ids=sorted(track.cooperations),
                out_of_sight=track.out_of_sight,
                in_pilot=bool(track.pilot_cohort),
            )

        return await self.commands.gateway.bus.query(summary)
