"""Investigation's cases for the shared suite: the police open and run investigations."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
from google.rpc import code_pb2

from ketenzicht.common.v1.common_pb2 import CommandAck
from ketenzicht.investigation.v1 import investigation_pb2 as pb
from ketenzicht.investigation.v1.investigation_pb2_grpc import InvestigationServiceStub
from ketenzicht_common.testing.command_service import (
    Backlog,
    CommandService,
    Corrections,
    Refusal,
)


async def open_investigation(stub: InvestigationServiceStub, key: str) -> Any:
    return await stub.OpenInvestigation(
        pb.OpenInvestigationRequest(
            command_id=f"open-{key}", case_id=f"case-{key}", occurred_on="2022-02-01"
        )
    )


async def open_changed(stub: InvestigationServiceStub, key: str) -> Any:
    return await stub.OpenInvestigation(
        pb.OpenInvestigationRequest(
            command_id=f"open-{key}", case_id=f"case-{key}", occurred_on="2022-02-02"
        )
    )


async def refusals(stub: InvestigationServiceStub) -> list[Refusal]:
    case = "case-int-refusals"
    await stub.OpenInvestigation(
        pb.OpenInvestigationRequest(
            case_id=case, occurred_on="2022-02-01", police_registration_number="PL0100-2022-0002"
        )
    )
    await stub.IdentifySuspect(
        pb.IdentifySuspectRequest(case_id=case, suspect_id="suspect-r", occurred_on="2022-02-10")
    )
    await stub.SuspendInvestigation(pb.CaseFactRequest(case_id=case, occurred_on="2022-03-01"))
    await asyncio.sleep(0.6)
    failed, invalid = grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.INVALID_ARGUMENT
    exists, missing = grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.NOT_FOUND
    return [
        Refusal(
            stub.IdentifySuspect(
                pb.IdentifySuspectRequest(
                    case_id="case-int-unknown", suspect_id="suspect-r", occurred_on="2022-02-10"
                )
            ),
            failed,
            "INVESTIGATION_NOT_OPENED",
        ),
        Refusal(
            stub.HearVictim(
                pb.HearVictimRequest(case_id=case, victim_id="victim-r", occurred_on="2022-01-31")
            ),
            failed,
            "DATE_BEFORE_OPENING",
        ),
        Refusal(
            stub.ResumeInvestigation(pb.CaseFactRequest(case_id=case, occurred_on="2022-02-28")),
            failed,
            "DATE_BEFORE_SUSPENSION",
        ),
        Refusal(
            stub.SubmitToProsecution(
                pb.SubmitToProsecutionRequest(case_id=case, occurred_on="2022-03-05")
            ),
            failed,
            "INVESTIGATION_SUSPENDED",
        ),
        Refusal(
            stub.SubmitToProsecution(
                pb.SubmitToProsecutionRequest(
                    case_id=case, occurred_on="2022-02-20", suspect_ids=["suspect-x"]
                )
            ),
            failed,
            "SUSPECT_NOT_IDENTIFIED",
        ),
        Refusal(
            stub.CloseInvestigation(
                pb.CloseInvestigationRequest(
                    case_id=case,
                    occurred_on="2022-04-01",
                    reason=pb.INVESTIGATION_CLOSE_REASON_SUBMITTED,
                )
            ),
            failed,
            "NOT_SUBMITTED",
        ),
        Refusal(
            stub.DecideNoInvestigation(pb.CaseFactRequest(case_id=case, occurred_on="2022-04-01")),
            failed,
            "INVESTIGATION_OPEN",
        ),
        Refusal(
            stub.OpenInvestigation(
                pb.OpenInvestigationRequest(
                    case_id="case-int-other",
                    occurred_on="2022-02-01",
                    police_registration_number="PL0100-2022-0002",
                )
            ),
            failed,
            "REGISTRATION_NUMBER_IN_USE",
        ),
        Refusal(
            stub.OpenInvestigation(
                pb.OpenInvestigationRequest(case_id=case, occurred_on="2022-02-01")
            ),
            exists,
            "",
        ),
        Refusal(
            stub.IdentifySuspect(
                pb.IdentifySuspectRequest(
                    case_id=case, suspect_id="suspect-r", occurred_on="2022-02-11"
                )
            ),
            exists,
            "",
        ),
        Refusal(
            stub.OpenInvestigation(
                pb.OpenInvestigationRequest(
                    case_id="case-int-bad",
                    occurred_on="2022-02-01",
                    police_registration_number="pl 0100/22",
                )
            ),
            invalid,
            "",
        ),
        Refusal(
            stub.CloseInvestigation(
                pb.CloseInvestigationRequest(case_id=case, occurred_on="2022-04-01")
            ),
            invalid,
            "",
        ),
        Refusal(
            stub.GetInvestigation(pb.GetInvestigationRequest(case_id="case-int-unknown")),
            missing,
            "",
        ),
        Refusal(
            stub.FindInvestigation(
                pb.FindInvestigationRequest(police_registration_number="PL9999-0000")
            ),
            missing,
            "",
        ),
    ]


def open_case(
    case_id: str, on: str = "2022-01-10", *, command_id: str = "", number: str = ""
) -> pb.InvestigationCommand:
    return pb.InvestigationCommand(
        open_investigation=pb.OpenInvestigationRequest(
            command_id=command_id,
            case_id=case_id,
            occurred_on=on,
            police_registration_number=number,
        )
    )


async def backlog(stub: InvestigationServiceStub) -> Backlog:
    base = "case-bulk-base"
    first = await stub.OpenInvestigation(
        open_case(base, command_id="bulk-open-base", number="PL-BULK-0001").open_investigation
    )
    await stub.OpenInvestigation(open_case("case-bulk-closed").open_investigation)
    await stub.CloseInvestigation(
        pb.CloseInvestigationRequest(
            case_id="case-bulk-closed",
            occurred_on="2022-03-01",
            reason=pb.INVESTIGATION_CLOSE_REASON_NO_LEADS,
        )
    )
    commands = [open_case(f"case-bulk-{n}") for n in range(200)]
    commands += [
        pb.InvestigationCommand(
            hear_victim=pb.HearVictimRequest(
                case_id=base, victim_id=f"victim-bulk-{n}", occurred_on="2022-02-01"
            )
        )
        for n in range(100)
    ]
    commands += [
        # 300: a fact about a case no investigation was opened for
        pb.InvestigationCommand(
            identify_suspect=pb.IdentifySuspectRequest(
                case_id="case-bulk-never", suspect_id="suspect-x", occurred_on="2022-02-01"
            )
        ),
        # 301: a fact dated after the close
        pb.InvestigationCommand(
            suspend_investigation=pb.CaseFactRequest(
                case_id="case-bulk-closed", occurred_on="2022-04-01"
            )
        ),
        # 302: the registration number belongs to another case
        open_case("case-bulk-other", number="PL-BULK-0001"),
        # 303: the command id was used for a different command
        open_case("case-bulk-reused", command_id="bulk-open-base"),
        # 304: the same command again: a replay, acknowledged, nothing stored
        open_case(base, command_id="bulk-open-base", number="PL-BULK-0001"),
        # 305, 306, 307: not a pseudonym, a date in the future, no command at all
        open_case("bad id"),
        open_case("case-bulk-future", on="2999-01-01"),
        pb.InvestigationCommand(),
    ]

    async def hundred_victims_heard(stub: InvestigationServiceStub) -> None:
        summary = await stub.GetInvestigation(pb.GetInvestigationRequest(case_id=base))
        assert len(summary.heard_victim_ids) == 100

    failed = code_pb2.FAILED_PRECONDITION
    return Backlog(
        commands=commands,
        accepted=[(range(300), "ack")],
        refused={
            300: (failed, "INVESTIGATION_NOT_OPENED"),
            301: (failed, "INVESTIGATION_CLOSED"),
            302: (failed, "REGISTRATION_NUMBER_IN_USE"),
            303: (code_pb2.ALREADY_EXISTS, None),
            305: (code_pb2.INVALID_ARGUMENT, None),
            306: (code_pb2.INVALID_ARGUMENT, None),
            307: (code_pb2.INVALID_ARGUMENT, None),
        },
        replayed=(304, list(first.event_ids)),
        published=3 + 300,  # the three unary commands, then one event per accepted command
        check=hundred_victims_heard,
    )


async def closed(stub: InvestigationServiceStub, key: str) -> CommandAck:
    """A fact with a category: an investigation closed for lack of leads."""
    await stub.OpenInvestigation(
        pb.OpenInvestigationRequest(case_id=f"case-{key}", occurred_on="2022-01-10")
    )
    ack: CommandAck = await stub.CloseInvestigation(
        pb.CloseInvestigationRequest(
            case_id=f"case-{key}",
            occurred_on="2022-02-02",
            reason=pb.INVESTIGATION_CLOSE_REASON_NO_LEADS,
        )
    )
    return ack


def annul(
    stub: InvestigationServiceStub, key: str, event_id: str, reason: int, command_id: str
) -> Any:
    return stub.AnnulFact(
        pb.AnnulFactRequest(
            command_id=command_id,
            case_id=f"case-{key}",
            occurred_on="2022-06-01",
            corrected_event_id=event_id,
            reason=reason,  # type: ignore[arg-type]
        )
    )


def amend(
    stub: InvestigationServiceStub,
    key: str,
    event_id: str,
    reason: int,
    command_id: str,
    fact_occurred_on: str,
    category: bool,
) -> Any:
    amended = (
        pb.InvestigationAmendedFields(reason=pb.INVESTIGATION_CLOSE_REASON_NO_JURISDICTION)
        if category
        else None
    )
    return stub.AmendFact(
        pb.AmendFactRequest(
            command_id=command_id,
            case_id=f"case-{key}",
            occurred_on="2022-06-01",
            corrected_event_id=event_id,
            reason=reason,  # type: ignore[arg-type]
            fact_occurred_on=fact_occurred_on,
            amended=amended,
        )
    )


INVESTIGATION = CommandService(
    name="investigation",
    grpc_service="ketenzicht.investigation.v1.InvestigationService",
    stub=InvestigationServiceStub,
    role="POLICE",
    other_roles=("KMAR",),
    denied_roles=("OM", "IND"),
    command=open_investigation,
    changed=open_changed,
    refusals=refusals,
    private="PL0100",
    backlog=backlog,
    corrections=Corrections(
        state=closed,
        annul=annul,
        amend=amend,
        category=("reason", "NO_JURISDICTION"),
        other_organisation="KMAR",
    ),
)
