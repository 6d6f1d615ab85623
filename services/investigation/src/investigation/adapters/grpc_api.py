"""The gRPC API of the investigation service: a translator from protobuf to commands and back."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date

from investigation.application import commands as c
from investigation.application.investigation import (
    InvestigationApplication,
    InvestigationCommands,
)
from investigation.domain.case_investigation import CaseInvestigation
from ketenzicht.common.v1.common_pb2 import CommandAck
from ketenzicht.investigation.v1 import investigation_pb2 as pb
from ketenzicht_common.errors import InvalidCommand
from ketenzicht_common.grpc_server import Caller
from ketenzicht_common.ingest import bulk_submit
from ketenzicht_common.translate import (
    ack,
    acknowledged,
    as_of_command,
    case_pseudonym,
    command_from,
)

DESCRIPTOR = pb.DESCRIPTOR.services_by_name["InvestigationService"]

_REGISTRATION_NUMBER = re.compile(c.REGISTRATION_NUMBER_PATTERN)


def _day(value: date | None) -> str:
    return value.isoformat() if value is not None else ""


def summary_of(
    app: InvestigationApplication, case: CaseInvestigation, organisation: str
) -> pb.InvestigationSummary:
    """The summary as ``organisation`` may see it: the registration number only for the
    organisation that registered it (its controller), and "" once it is forgotten."""
    last = case.periods[-1] if case.periods else None
    closed = last is not None and last.closed_on is not None
    return pb.InvestigationSummary(
        case_id=case.case_id,
        status=pb.InvestigationStatus.Value(f"INVESTIGATION_STATUS_{case.status}"),
        first_opened_on=_day(case.first_opened_on),
        suspect_ids=sorted(case.suspects),
        heard_victim_ids=sorted(case.heard_victims),
        submitted_suspect_ids=sorted(case.submitted),
        first_submitted_on=_day(min(case.submitted.values(), default=None)),
        close_reason=pb.InvestigationCloseReason.Value(
            f"INVESTIGATION_CLOSE_REASON_{last.close_reason if closed and last else 'UNSPECIFIED'}"
        ),
        closed_on=_day(last.closed_on if last else None),
        no_investigation_decided_on=_day(case.no_investigation_on),
        police_registration_number=(
            app.registration_number_of(case) if case.registered_by == organisation else ""
        ),
        police_registration_number_forgotten=app.registration_number_forgotten(case),
    )


class InvestigationApi:
    def __init__(self, app: InvestigationApplication, commands: InvestigationCommands) -> None:
        self.app = app
        self.commands = commands

    async def OpenCase(self, request: pb.OpenCaseRequest, caller: Caller) -> pb.OpenCaseResponse:
        command, command_id = command_from(request, c.OpenCase)
        result = await self.commands.open_case(command, caller.provenance(command_id))
        return pb.OpenCaseResponse(case_id=result.answer.case_id, ack=ack(result))

    async def OpenInvestigation(
        self, request: pb.OpenInvestigationRequest, caller: Caller
    ) -> CommandAck:
        return await acknowledged(
            request, c.OpenInvestigation, caller, self.commands.open_investigation
        )

    async def IdentifySuspect(
        self, request: pb.IdentifySuspectRequest, caller: Caller
    ) -> pb.IdentifySuspectResponse:
        command, command_id = command_from(request, c.IdentifySuspect)
        result = await self.commands.identify_suspect(command, caller.provenance(command_id))
        return pb.IdentifySuspectResponse(suspect_id=result.answer.suspect_id, ack=ack(result))

    async def HearVictim(self, request: pb.HearVictimRequest, caller: Caller) -> CommandAck:
        return await acknowledged(request, c.HearVictim, caller, self.commands.hear_victim)

    async def SuspendInvestigation(self, request: pb.CaseFactRequest, caller: Caller) -> CommandAck:
        return await acknowledged(
            request, c.SuspendInvestigation, caller, self.commands.suspend_investigation
        )

    async def ResumeInvestigation(self, request: pb.CaseFactRequest, caller: Caller) -> CommandAck:
        return await acknowledged(
            request, c.ResumeInvestigation, caller, self.commands.resume_investigation
        )

    async def SubmitToProsecution(
        self, request: pb.SubmitToProsecutionRequest, caller: Caller
    ) -> CommandAck:
        return await acknowledged(
            request, c.SubmitToProsecution, caller, self.commands.submit_to_prosecution
        )

    async def CloseInvestigation(
        self, request: pb.CloseInvestigationRequest, caller: Caller
    ) -> CommandAck:
        return await acknowledged(
            request, c.CloseInvestigation, caller, self.commands.close_investigation
        )

    async def DecideNoInvestigation(
        self, request: pb.CaseFactRequest, caller: Caller
    ) -> CommandAck:
        return await acknowledged(
            request, c.DecideNoInvestigation, caller, self.commands.decide_no_investigation
        )

    async def AnnulFact(self, request: pb.AnnulFactRequest, caller: Caller) -> CommandAck:
        return await acknowledged(request, c.AnnulFact, caller, self.commands.correct_fact)

    async def AmendFact(self, request: pb.AmendFactRequest, caller: Caller) -> CommandAck:
        return await acknowledged(request, c.AmendFact, caller, self.commands.correct_fact)

    async def ForgetRegistrationNumber(
        self, request: pb.ForgetRegistrationNumberRequest, caller: Caller
    ) -> CommandAck:
        return await acknowledged(
            request, c.ForgetRegistrationNumber, caller, self.commands.forget_registration_number
        )

    async def SweepRetention(
        self, request: pb.SweepRetentionRequest, caller: Caller
    ) -> pb.SweepRetentionResult:
        command, command_id = as_of_command(request, c.SweepRetention)
        result = await self.commands.sweep_retention(command, caller.provenance(command_id))
        return pb.SweepRetentionResult(forgotten=result.answer.forgotten, kept=result.answer.kept)

    def Submit(
        self, requests: AsyncIterator[pb.InvestigationCommand], caller: Caller
    ) -> AsyncIterator[pb.InvestigationCommandResult]:
        return bulk_submit(self, requests, caller, pb.InvestigationCommandResult)

    async def GetInvestigation(
        self, request: pb.GetInvestigationRequest, caller: Caller
    ) -> pb.InvestigationSummary:
        case_id = case_pseudonym("case_id", request.case_id)
        organisation = caller.identity.organisation
        return await self.commands.gateway.bus.query(
            lambda: summary_of(self.app, self.app.investigation(case_id), organisation)
        )

    async def FindInvestigation(
        self, request: pb.FindInvestigationRequest, caller: Caller
    ) -> pb.InvestigationSummary:
        number = request.police_registration_number
        if not _REGISTRATION_NUMBER.fullmatch(number):
            raise InvalidCommand.of(
                "police_registration_number", "use 4-32 capitals, digits or '-'"
            )
        organisation = caller.identity.organisation
        return await self.commands.gateway.bus.query(
            lambda: summary_of(
                self.app, self.app.by_registration_number(number, organisation), organisation
            )
        )
