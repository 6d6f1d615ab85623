"""The IND's gRPC API: a translator from protobuf to commands and back, nothing more."""

from __future__ import annotations

from collections.abc import AsyncIterator

from ketenzicht.common.v1.common_pb2 import CommandAck
from ketenzicht.residence.v1 import residence_pb2 as pb
from ketenzicht_common.errors import NotFound
from ketenzicht_common.grpc_server import Caller
from ketenzicht_common.ingest import bulk_submit
from ketenzicht_common.translate import acknowledged, pseudonym, query_date
from residence.application import commands as c
from residence.application.residence import ResidenceCommands
from residence.domain import EmittedTrigger, ResidenceFile

DESCRIPTOR = pb.DESCRIPTOR.services_by_name["ResidenceService"]


class ResidenceApi:
    def __init__(self, commands: ResidenceCommands) -> None:
        self.commands = commands

    async def GrantReflectionPeriod(
        self, request: pb.VictimDecisionRequest, caller: Caller
    ) -> CommandAck:
        return await acknowledged(
            request, c.GrantReflectionPeriod, caller, self.commands.grant_reflection_period
        )

    async def EndReflectionPeriod(
        self, request: pb.EndReflectionPeriodRequest, caller: Caller
    ) -> CommandAck:
        return await acknowledged(
            request, c.EndReflectionPeriod, caller, self.commands.end_reflection_period
        )

    async def GrantTemporaryPermit(
        self, request: pb.GrantTemporaryPermitRequest, caller: Caller
    ) -> CommandAck:
        return await acknowledged(
            request, c.GrantTemporaryPermit, caller, self.commands.grant_temporary_permit
        )

    async def RefuseTemporaryPermit(
        self, request: pb.CaseDecisionRequest, caller: Caller
    ) -> CommandAck:
        return await acknowledged(
            request, c.RefuseTemporaryPermit, caller, self.commands.refuse_temporary_permit
        )

    async def ExtendTemporaryPermit(
        self, request: pb.ExtendTemporaryPermitRequest, caller: Caller
    ) -> CommandAck:
        return await acknowledged(
            request, c.ExtendTemporaryPermit, caller, self.commands.extend_temporary_permit
        )

    async def EndTemporaryPermit(
        self, request: pb.EndTemporaryPermitRequest, caller: Caller
    ) -> CommandAck:
        return await acknowledged(
            request, c.EndTemporaryPermit, caller, self.commands.end_temporary_permit
        )

    async def GrantNonTemporaryPermit(
        self, request: pb.VictimDecisionRequest, caller: Caller
    ) -> CommandAck:
        return await acknowledged(
            request, c.GrantNonTemporaryPermit, caller, self.commands.grant_non_temporary_permit
        )

    async def RefuseNonTemporaryPermit(
        self, request: pb.VictimDecisionRequest, caller: Caller
    ) -> CommandAck:
        return await acknowledged(
            request, c.RefuseNonTemporaryPermit, caller, self.commands.refuse_non_temporary_permit
        )

    async def ResumeDublinTransfer(
        self, request: pb.VictimDecisionRequest, caller: Caller
    ) -> CommandAck:
        return await acknowledged(
            request, c.ResumeDublinTransfer, caller, self.commands.resume_dublin_transfer
        )

    async def FindNoEuResidenceRight(
        self, request: pb.VictimDecisionRequest, caller: Caller
    ) -> CommandAck:
        return await acknowledged(
            request, c.FindNoEuResidenceRight, caller, self.commands.find_no_eu_residence_right
        )

    async def AnnulFact(self, request: pb.AnnulFactRequest, caller: Caller) -> CommandAck:
        return await acknowledged(request, c.AnnulFact, caller, self.commands.correct_fact)

    async def AmendFact(self, request: pb.AmendFactRequest, caller: Caller) -> CommandAck:
        return await acknowledged(request, c.AmendFact, caller, self.commands.correct_fact)

    def Submit(
        self, requests: AsyncIterator[pb.ResidenceCommand], caller: Caller
    ) -> AsyncIterator[pb.ResidenceCommandResult]:
        return bulk_submit(self, requests, caller, pb.ResidenceCommandResult)

    async def GetResidencePosition(
        self, request: pb.GetResidencePositionRequest, caller: Caller
    ) -> pb.ResidencePosition:
        victim_id = pseudonym("victim_id", request.victim_id)
        as_of = query_date("as_of", request.as_of) or self.commands.gateway.clock.today()

        def read() -> tuple[ResidenceFile, list[EmittedTrigger] | None]:
            view, file = self.commands.position(victim_id, as_of)
            return view, None if file is None else list(file.emitted)

        view, emitted = await self.commands.gateway.bus.query(read)
        if emitted is None:
            raise NotFound("residence knows no such victim")
        retracted = {s.decision.trigger_id for s in emitted if s.retracted}
        return pb.ResidencePosition(
            victim_id=view.victim_id,
            position=view.position.standing.value,
            since=view.position.since.isoformat() if view.position.since else "",
            until=view.position.until.isoformat() if view.position.until else "",
            grounds=[
                pb.GroundReached(
                    ground=g.ground.value,
                    reached_on=g.reached_on.isoformat(),
                    rule=g.rule,
                    rule_version=g.rule_version,
                    case_id=g.case_id or "",
                )
                for g in view.grounds
            ],
            deadlines=[
                pb.PendingDeadline(
                    kind=d.kind.value,
                    due_on=d.due_on.isoformat(),
                    rule=d.rule,
                    case_id=d.case_id or "",
                )
                for d in view.pending
            ],
            triggers=[
                pb.TriggerSummary(
                    trigger_id=s.decision.trigger_id,
                    kind=s.decision.kind.value,
                    rule=s.decision.rule,
                    fires_on=s.decision.fires_on.isoformat(),
                    retracted=s.decision.trigger_id in retracted,
                    reason=s.decision.reason,
                )
                for s in emitted
            ],
        )
