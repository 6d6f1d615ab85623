"""The IND's gRPC API: a translator from protobuf to commands and back, nothing more."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from ketenzicht.common.v1 import common_pb2
from ketenzicht.residence.v1 import residence_pb2 as pb
from ketenzicht_common.errors import NotFound
from ketenzicht_common.grpc_server import Caller
from ketenzicht_common.ingest import bulk_submit
from ketenzicht_common.translate import command_from, pseudonym, query_date
from residence.application import commands as c
from residence.application.residence import ResidenceCommands

DESCRIPTOR = pb.DESCRIPTOR.services_by_name["ResidenceService"]


def _ack(result: dict[str, Any]) -> common_pb2.CommandAck:
    return common_pb2.CommandAck(event_ids=result["event_ids"],
                                 replayed=bool(result.get("replayed")))


class ResidenceApi:
    def __init__(self, commands: ResidenceCommands) -> None:
        self.commands = commands

    async def _decide(self, request: Any, caller: Caller,
                      kind: type[c.VictimDecision]) -> common_pb2.CommandAck:
        command, command_id = command_from(request, kind)
        return _ack(await self.commands.decide(command, caller.provenance(command_id)))

    async def GrantReflectionPeriod(self, request: Any, caller: Caller) -> Any:
        return await self._decide(request, caller, c.GrantReflectionPeriod)

    async def EndReflectionPeriod(self, request: Any, caller: Caller) -> Any:
        return await self._decide(request, caller, c.EndReflectionPeriod)

    async def GrantTemporaryPermit(self, request: Any, caller: Caller) -> Any:
        return await self._decide(request, caller, c.GrantTemporaryPermit)

    async def RefuseTemporaryPermit(self, request: Any, caller: Caller) -> Any:
        return await self._decide(request, caller, c.RefuseTemporaryPermit)

    async def ExtendTemporaryPermit(self, request: Any, caller: Caller) -> Any:
        return await self._decide(request, caller, c.ExtendTemporaryPermit)

    async def EndTemporaryPermit(self, request: Any, caller: Caller) -> Any:
        return await self._decide(request, caller, c.EndTemporaryPermit)

    async def GrantNonTemporaryPermit(self, request: Any, caller: Caller) -> Any:
        return await self._decide(request, caller, c.GrantNonTemporaryPermit)

    async def RefuseNonTemporaryPermit(self, request: Any, caller: Caller) -> Any:
        return await self._decide(request, caller, c.RefuseNonTemporaryPermit)

    async def ResumeDublinTransfer(self, request: Any, caller: Caller) -> Any:
        return await self._decide(request, caller, c.ResumeDublinTransfer)

    async def FindNoEuResidenceRight(self, request: Any, caller: Caller) -> Any:
        return await self._decide(request, caller, c.FindNoEuResidenceRight)

    def Submit(self, requests: AsyncIterator[Any], caller: Caller) -> AsyncIterator[Any]:
        return bulk_submit(self, requests, caller, pb.ResidenceCommandResult)

    async def GetResidencePosition(self, request: Any, caller: Caller) -> Any:
        victim_id = pseudonym("victim_id", request.victim_id)
        as_of = query_date("as_of", request.as_of) or self.commands.gateway.clock.today()

        def read() -> tuple[Any, list[Any] | None]:
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
            grounds=[pb.GroundReached(ground=g.ground.value, reached_on=g.reached_on.isoformat(),
                                      rule=g.rule, rule_version=g.rule_version,
                                      case_id=g.case_id or "")
                     for g in view.grounds],
            deadlines=[pb.PendingDeadline(kind=d.kind.value, due_on=d.due_on.isoformat(),
                                          rule=d.rule, case_id=d.case_id or "")
                       for d in view.pending],
            triggers=[pb.TriggerSummary(trigger_id=s.decision.trigger_id,
                                        kind=s.decision.kind.value, rule=s.decision.rule,
                                        fires_on=s.decision.fires_on.isoformat(),
                                        retracted=s.decision.trigger_id in retracted,
                                        reason=s.decision.reason)
                      for s in emitted],
        )
