"""Investigation's cases for the shared suite: the police open and run investigations."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import grpc
from google.rpc import code_pb2

from ketenzicht.common.v1.common_pb2 import CommandAck
from ketenzicht.investigation.v1 import investigation_pb2 as pb
from ketenzicht.investigation.v1.investigation_pb2_grpc import InvestigationServiceStub
from ketenzicht_common.testing import suspect_pseudonym
from ketenzicht_common.testing.command_service import (
    Backlog,
    CommandService,
    Corrections,
    Refusal,
)

NOT_ISSUED = "C-00000000000000000000"
"""A case id of the issued shape that no service issued."""

_CASES: dict[str, str] = {}


def number_of(key: str) -> str:
    """The police registration number a test's case is registered under."""
    return ("T-" + re.sub(r"[^A-Z0-9-]", "-", key.upper()))[:32]


async def case_of(stub: InvestigationServiceStub, key: str) -> str:
    """The case pseudonym of a test's case: opened by the first caller and remembered, as a
    police system keeps it (another organisation may not open the police's number again).
    Keys are unique to one service process."""
    if key not in _CASES:
        opened = await stub.OpenCase(
            pb.OpenCaseRequest(occurred_on="2022-01-01", police_registration_number=number_of(key))
        )
        _CASES[key] = opened.case_id
    return _CASES[key]


def known_case(key: str) -> str:
    """The case pseudonym issued for a test's case, or (never opened) one nobody issued."""
    return _CASES.get(key, NOT_ISSUED)


async def open_investigation(stub: InvestigationServiceStub, key: str) -> Any:
    return await stub.OpenInvestigation(
        pb.OpenInvestigationRequest(
            command_id=f"open-{key}", case_id=await case_of(stub, key), occurred_on="2022-02-01"
        )
    )


async def open_changed(stub: InvestigationServiceStub, key: str) -> Any:
    return await stub.OpenInvestigation(
        pb.OpenInvestigationRequest(
            command_id=f"open-{key}", case_id=await case_of(stub, key), occurred_on="2022-02-02"
        )
    )


async def refusals(stub: InvestigationServiceStub) -> list[Refusal]:
    registered = await stub.OpenCase(
        pb.OpenCaseRequest(occurred_on="2022-01-20", police_registration_number="PL0100-2022-0002")
    )
    case = registered.case_id
    await stub.OpenInvestigation(
        pb.OpenInvestigationRequest(case_id=case, occurred_on="2022-02-01")
    )
    never_opened = await case_of(stub, "int-unknown")
    await stub.IdentifySuspect(
        pb.IdentifySuspectRequest(
            case_id=case, suspect_id=suspect_pseudonym("suspect-r"), occurred_on="2022-02-10"
        )
    )
    await stub.SuspendInvestigation(pb.CaseFactRequest(case_id=case, occurred_on="2022-03-01"))
    await asyncio.sleep(0.6)
    failed, invalid = grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.INVALID_ARGUMENT
    exists, missing = grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.NOT_FOUND
    return [
        Refusal(
            stub.IdentifySuspect(
                pb.IdentifySuspectRequest(
                    case_id=never_opened,
                    suspect_id=suspect_pseudonym("suspect-r"),
                    occurred_on="2022-02-10",
                )
            ),
            failed,
            "INVESTIGATION_NOT_OPENED",
        ),
        Refusal(
            stub.IdentifySuspect(
                pb.IdentifySuspectRequest(
                    case_id=NOT_ISSUED,
                    suspect_id=suspect_pseudonym("suspect-r"),
                    occurred_on="2022-02-10",
                )
            ),
            failed,
            "CASE_NOT_REGISTERED",
        ),
        Refusal(
            # A source's own number where the pseudonym belongs: refused by its shape.
            stub.OpenInvestigation(
                pb.OpenInvestigationRequest(case_id="PL0100-2022-0002", occurred_on="2022-02-01")
            ),
            invalid,
            None,
            fields=frozenset({"case_id"}),
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
                    case_id=case,
                    occurred_on="2022-02-20",
                    suspect_ids=[suspect_pseudonym("suspect-x")],
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
                pb.OpenInvestigationRequest(case_id=case, occurred_on="2022-02-01")
            ),
            exists,
            "",
        ),
        Refusal(
            stub.IdentifySuspect(
                pb.IdentifySuspectRequest(
                    case_id=case,
                    suspect_id=suspect_pseudonym("suspect-r"),
                    occurred_on="2022-02-11",
                )
            ),
            exists,
            "",
        ),
        Refusal(
            stub.OpenCase(
                pb.OpenCaseRequest(
                    occurred_on="2022-02-01", police_registration_number="pl 0100/22"
                )
            ),
            invalid,
            "",
        ),
        Refusal(
            stub.OpenCase(pb.OpenCaseRequest(occurred_on="2022-02-01")),
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
            stub.GetInvestigation(pb.GetInvestigationRequest(case_id=NOT_ISSUED)),
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


def open_investigation_command(
    case_id: str, on: str = "2022-01-10", *, command_id: str = ""
) -> pb.InvestigationCommand:
    return pb.InvestigationCommand(
        open_investigation=pb.OpenInvestigationRequest(
            command_id=command_id, case_id=case_id, occurred_on=on
        )
    )


def open_case_command(number: str, on: str = "2022-01-05") -> pb.InvestigationCommand:
    return pb.InvestigationCommand(
        open_case=pb.OpenCaseRequest(occurred_on=on, police_registration_number=number)
    )


async def backlog(stub: InvestigationServiceStub) -> Backlog:
    base = await case_of(stub, "bulk-base")
    first = await stub.OpenInvestigation(
        open_investigation_command(base, command_id="bulk-open-base").open_investigation
    )
    closed_case = await case_of(stub, "bulk-closed")
    await stub.OpenInvestigation(open_investigation_command(closed_case).open_investigation)
    await stub.CloseInvestigation(
        pb.CloseInvestigationRequest(
            case_id=closed_case,
            occurred_on="2022-03-01",
            reason=pb.INVESTIGATION_CLOSE_REASON_NO_LEADS,
        )
    )
    cases = [await case_of(stub, f"bulk-{n}") for n in range(200)]
    never_opened = await case_of(stub, "bulk-never")
    commands = [open_investigation_command(case) for case in cases]
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
                case_id=never_opened,
                suspect_id=suspect_pseudonym("suspect-x"),
                occurred_on="2022-02-01",
            )
        ),
        # 301: a fact dated after the close
        pb.InvestigationCommand(
            suspend_investigation=pb.CaseFactRequest(case_id=closed_case, occurred_on="2022-04-01")
        ),
        # 302: a case id of the issued shape that was never issued
        open_investigation_command(NOT_ISSUED),
        # 303: the command id was used for a different command
        open_investigation_command(cases[0], command_id="bulk-open-base"),
        # 304: the same command again: a replay, acknowledged, nothing stored
        open_investigation_command(base, command_id="bulk-open-base"),
        # 305, 306, 307: not a case pseudonym, a date in the future, no command at all
        open_investigation_command("case-bulk-bad"),
        open_investigation_command(cases[1], on="2999-01-01"),
        pb.InvestigationCommand(),
        # 308, 309: a new case, and a known number again (its pseudonym; nothing published)
        open_case_command("PL-BULK-NEW"),
        open_case_command(number_of("bulk-base")),
    ]

    async def hundred_victims_heard(stub: InvestigationServiceStub) -> None:
        summary = await stub.GetInvestigation(pb.GetInvestigationRequest(case_id=base))
        assert len(summary.heard_victim_ids) == 100
        again = await stub.OpenCase(
            pb.OpenCaseRequest(occurred_on="2022-01-05", police_registration_number="PL-BULK-NEW")
        )
        found = await stub.FindInvestigation(
            pb.FindInvestigationRequest(police_registration_number="PL-BULK-NEW")
        )
        assert found.case_id == again.case_id

    failed = code_pb2.FAILED_PRECONDITION
    return Backlog(
        commands=commands,
        accepted=[(range(300), "ack"), (range(308, 310), "opened")],
        refused={
            300: (failed, "INVESTIGATION_NOT_OPENED"),
            301: (failed, "INVESTIGATION_CLOSED"),
            302: (failed, "CASE_NOT_REGISTERED"),
            303: (code_pb2.ALREADY_EXISTS, None),
            305: (code_pb2.INVALID_ARGUMENT, None),
            306: (code_pb2.INVALID_ARGUMENT, None),
            307: (code_pb2.INVALID_ARGUMENT, None),
        },
        replayed=(304, list(first.event_ids)),
        published=3 + 300,  # the three unary facts, then one event per accepted fact
        check=hundred_victims_heard,
    )


async def closed(stub: InvestigationServiceStub, key: str) -> CommandAck:
    """A fact with a category: an investigation closed for lack of leads."""
    case = await case_of(stub, key)
    await stub.OpenInvestigation(
        pb.OpenInvestigationRequest(case_id=case, occurred_on="2022-01-10")
    )
    ack: CommandAck = await stub.CloseInvestigation(
        pb.CloseInvestigationRequest(
            case_id=case,
            occurred_on="2022-02-02",
            reason=pb.INVESTIGATION_CLOSE_REASON_NO_LEADS,
        )
    )
    return ack


async def annul(
    stub: InvestigationServiceStub, key: str, event_id: str, reason: int, command_id: str
) -> Any:
    return await stub.AnnulFact(
        pb.AnnulFactRequest(
            command_id=command_id,
            case_id=known_case(key),
            occurred_on="2022-06-01",
            corrected_event_id=event_id,
            reason=reason,  # type: ignore[arg-type]
        )
    )


async def amend(
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
    return await stub.AmendFact(
        pb.AmendFactRequest(
            command_id=command_id,
            case_id=known_case(key),
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
