"""The gRPC API of intake: a translator from protobuf to commands and back, nothing more."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from intake.application import commands as c
from intake.application.intake import IntakeApplication, IntakeCommands
from ketenzicht.common.v1 import common_pb2
from ketenzicht.intake.v1 import intake_pb2
from ketenzicht_common.grpc_server import Caller
from ketenzicht_common.ingest import bulk_submit
from ketenzicht_common.translate import command_from, pseudonym

DESCRIPTOR = intake_pb2.DESCRIPTOR.services_by_name["IntakeService"]


def _ack(result: dict[str, Any]) -> common_pb2.CommandAck:
    return common_pb2.CommandAck(event_ids=result["event_ids"],
                                 replayed=bool(result.get("replayed")))


class IntakeApi:
    def __init__(self, app: IntakeApplication, commands: IntakeCommands) -> None:
        self.app = app
        self.commands = commands

    async def RegisterSignal(self, request: Any, caller: Caller) -> Any:
        command, command_id = command_from(request, c.RegisterSignal)
        result = await self.commands.register_signal(command, caller.provenance(command_id))
        return intake_pb2.RegisterSignalResponse(
            victim_id=result["victim_id"], signal_id=result["signal_id"], ack=_ack(result)
        )

    async def _victim_command(self, request: Any, caller: Caller,
                              kind: type[c.VictimCommand]) -> common_pb2.CommandAck:
        command, command_id = command_from(request, kind)
        return _ack(await self.commands.execute(command, caller.provenance(command_id)))

    async def HoldInformativeInterview(self, request: Any, caller: Caller) -> Any:
        return await self._victim_command(request, caller, c.HoldInformativeInterview)

    async def OfferReflectionPeriod(self, request: Any, caller: Caller) -> Any:
        return await self._victim_command(request, caller, c.OfferReflectionPeriod)

    async def DeclineReflectionPeriod(self, request: Any, caller: Caller) -> Any:
        return await self._victim_command(request, caller, c.DeclineReflectionPeriod)

    async def FileReport(self, request: Any, caller: Caller) -> Any:
        return await self._victim_command(request, caller, c.FileReport)

    async def DeclareCooperation(self, request: Any, caller: Caller) -> Any:
        return await self._victim_command(request, caller, c.DeclareCooperation)

    async def RecordCooperationImpossible(self, request: Any, caller: Caller) -> Any:
        return await self._victim_command(request, caller, c.RecordCooperationImpossible)

    async def WithdrawReport(self, request: Any, caller: Caller) -> Any:
        return await self._victim_command(request, caller, c.WithdrawReport)

    async def MarkVictimOutOfSight(self, request: Any, caller: Caller) -> Any:
        return await self._victim_command(request, caller, c.MarkVictimOutOfSight)

    async def CompleteIndividualAssessment(self, request: Any,
                                           caller: Caller) -> Any:
        return await self._victim_command(request, caller, c.CompleteIndividualAssessment)

    async def EnrolInPilot(self, request: Any, caller: Caller) -> Any:
        return await self._victim_command(request, caller, c.EnrolInPilot)

    async def RecordPilotIntervention(self, request: Any, caller: Caller) -> Any:
        return await self._victim_command(request, caller, c.RecordPilotIntervention)

    def Submit(self, requests: AsyncIterator[Any], caller: Caller) -> AsyncIterator[Any]:
        return bulk_submit(self, requests, caller, intake_pb2.IntakeCommandResult)

    async def GetVictim(self, request: Any, caller: Caller) -> Any:
        victim_id = pseudonym("victim_id", request.victim_id)

        def summary() -> Any:
            track = self.app.victim(victim_id)
            return intake_pb2.VictimSummary(
                victim_id=track.victim_id,
                first_signal_on=track.first_signal_on.isoformat(),
                signals=len(track.signals),
                reported_case_ids=sorted(track.reports),
                cooperating_case_ids=sorted(track.cooperations),
                out_of_sight=track.out_of_sight,
                in_pilot=bool(track.pilot_cohort),
            )

        return await self.commands.gateway.bus.query(summary)
