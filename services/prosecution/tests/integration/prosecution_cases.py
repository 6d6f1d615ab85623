"""Prosecution's cases for the shared suite: the OM registers and decides on suspects."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
from google.rpc import code_pb2

from ketenzicht.common.v1.common_pb2 import CommandAck
from ketenzicht.prosecution.v1 import prosecution_pb2 as pb
from ketenzicht.prosecution.v1.prosecution_pb2_grpc import ProsecutionServiceStub
from ketenzicht_common.testing import case_pseudonym, suspect_pseudonym
from ketenzicht_common.testing.command_service import (
    Backlog,
    CommandService,
    Corrections,
    Refusal,
)

FIRST, APPEAL = pb.COURT_INSTANCE_FIRST_INSTANCE, pb.COURT_INSTANCE_APPEAL


def fact(case: str, suspect: str, on: str) -> pb.SuspectFactRequest:
    return pb.SuspectFactRequest(case_id=case, suspect_id=suspect, occurred_on=on)


async def register_case(stub: ProsecutionServiceStub, key: str) -> Any:
    return await stub.RegisterCase(
        pb.RegisterCaseRequest(
            command_id=f"register-{key}",
            case_id=case_pseudonym(f"case-{key}"),
            suspect_id=suspect_pseudonym(f"suspect-{key}"),
            occurred_on="2022-06-01",
        )
    )


async def register_changed(stub: ProsecutionServiceStub, key: str) -> Any:
    return await stub.RegisterCase(
        pb.RegisterCaseRequest(
            command_id=f"register-{key}",
            case_id=case_pseudonym(f"case-{key}"),
            suspect_id=suspect_pseudonym(f"suspect-{key}-b"),
            occurred_on="2022-06-01",
        )
    )


async def refusals(stub: ProsecutionServiceStub) -> list[Refusal]:
    c = case_pseudonym("case-om-refusals")
    s, d, f = (
        suspect_pseudonym("suspect-om-summoned"),
        suspect_pseudonym("suspect-om-dismissed"),
        suspect_pseudonym("suspect-om-final"),
    )
    for suspect in (s, d, f):
        await stub.RegisterCase(
            pb.RegisterCaseRequest(case_id=c, suspect_id=suspect, occurred_on="2022-06-01")
        )
    await stub.RegisterCase(
        pb.RegisterCaseRequest(
            case_id=case_pseudonym("case-om-number"),
            suspect_id=s,
            occurred_on="2022-06-01",
            parketnummer="08/654321-22",
        )
    )
    await stub.SummonSuspect(fact(c, s, "2022-09-01"))
    await stub.DismissCase(
        pb.DismissCaseRequest(
            case_id=c,
            suspect_id=d,
            occurred_on="2022-08-01",
            kind=pb.DISMISSAL_KIND_TECHNICAL,
            code="02",
        )
    )
    await stub.SummonSuspect(fact(c, f, "2022-09-01"))
    await stub.DeliverVerdict(
        pb.VerdictRequest(
            case_id=c,
            suspect_id=f,
            occurred_on="2023-01-10",
            instance=FIRST,
            outcome=pb.VERDICT_OUTCOME_ACQUITTAL,
        )
    )
    await stub.MarkCaseFinal(fact(c, f, "2023-01-30"))
    await stub.AssessPresence(
        pb.AssessPresenceRequest(
            case_id=c,
            victim_id="victim-om-r",
            occurred_on="2022-07-01",
            presence=pb.PRESENCE_NECESSARY,
        )
    )
    await asyncio.sleep(0.6)
    failed, invalid = grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.INVALID_ARGUMENT
    exists = grpc.StatusCode.ALREADY_EXISTS

    def verdict(suspect: str, on: str, instance: int) -> Any:
        return stub.DeliverVerdict(
            pb.VerdictRequest(
                case_id=c,
                suspect_id=suspect,
                occurred_on=on,
                instance=instance,
                outcome=pb.VERDICT_OUTCOME_ACQUITTAL,
            )
        )

    return [
        Refusal(verdict(d, "2023-01-10", FIRST), failed, "NOT_SUMMONED"),
        Refusal(verdict(s, "2022-08-31", FIRST), failed, "DATE_BEFORE_SUMMONS"),
        Refusal(stub.LodgeAppeal(fact(c, s, "2023-01-01")), failed, "NO_FIRST_INSTANCE_VERDICT"),
        Refusal(verdict(s, "2023-06-01", APPEAL), failed, "NO_FIRST_INSTANCE_VERDICT"),
        Refusal(stub.LodgeAppeal(fact(c, f, "2023-02-01")), failed, "CASE_FINAL"),
        Refusal(
            stub.HoldCourtHearing(
                pb.CourtHearingRequest(
                    case_id=c, suspect_id=f, occurred_on="2023-03-01", instance=FIRST
                )
            ),
            failed,
            "CASE_FINAL",
        ),
        Refusal(
            stub.DismissCase(
                pb.DismissCaseRequest(
                    case_id=c,
                    suspect_id=s,
                    occurred_on="2022-10-01",
                    kind=pb.DISMISSAL_KIND_POLICY,
                    code="50",
                )
            ),
            failed,
            "SUSPECT_SUMMONED",
        ),
        Refusal(stub.SummonSuspect(fact(c, d, "2022-09-01")), failed, "CASE_DISMISSED"),
        Refusal(stub.ReopenCase(fact(c, d, "2022-07-01")), failed, "DATE_BEFORE_DECISION"),
        Refusal(stub.MarkCaseFinal(fact(c, s, "2023-01-01")), failed, "NO_VERDICT"),
        Refusal(
            stub.SummonSuspect(fact(c, suspect_pseudonym("suspect-om-unknown"), "2022-09-01")),
            failed,
            "CASE_NOT_REGISTERED",
        ),
        Refusal(stub.SummonSuspect(fact(c, d, "2022-05-01")), failed, "DATE_BEFORE_REGISTRATION"),
        Refusal(
            stub.RegisterCase(
                pb.RegisterCaseRequest(
                    case_id=case_pseudonym("case-om-other"),
                    suspect_id=s,
                    occurred_on="2022-06-01",
                    parketnummer="08/654321-22",
                )
            ),
            failed,
            "PARKETNUMMER_IN_USE",
        ),
        Refusal(
            stub.RegisterCase(
                pb.RegisterCaseRequest(case_id=c, suspect_id=s, occurred_on="2022-06-01")
            ),
            exists,
            "",
        ),
        Refusal(
            stub.AssessPresence(
                pb.AssessPresenceRequest(
                    case_id=c,
                    victim_id="victim-om-r",
                    occurred_on="2022-07-02",
                    presence=pb.PRESENCE_NOT_NECESSARY,
                )
            ),
            exists,
            "",
        ),
        Refusal(
            stub.RegisterCase(
                pb.RegisterCaseRequest(
                    case_id=c,
                    suspect_id=suspect_pseudonym("suspect-om-x"),
                    occurred_on="2022-06-01",
                    parketnummer="8/1234-22",
                )
            ),
            invalid,
            "",
        ),
        Refusal(
            stub.DismissCase(
                pb.DismissCaseRequest(
                    case_id=c,
                    suspect_id=s,
                    occurred_on="2022-10-01",
                    kind=pb.DISMISSAL_KIND_POLICY,
                    code="5",
                )
            ),
            invalid,
            "",
        ),
        Refusal(
            stub.AssessPresence(
                pb.AssessPresenceRequest(
                    case_id=c, victim_id="victim-om-q", occurred_on="2022-07-02"
                )
            ),
            invalid,
            "",
        ),
        Refusal(
            stub.FindProsecution(pb.FindProsecutionRequest(parketnummer="99/999999-99")),
            grpc.StatusCode.NOT_FOUND,
            "",
        ),
    ]


def register(
    case_id: str,
    suspect_id: str,
    on: str = "2022-06-01",
    *,
    command_id: str = "",
    parketnummer: str = "",
) -> pb.ProsecutionCommand:
    return pb.ProsecutionCommand(
        register_case=pb.RegisterCaseRequest(
            command_id=command_id,
            case_id=case_id,
            suspect_id=suspect_id,
            occurred_on=on,
            parketnummer=parketnummer,
        )
    )


async def backlog(stub: ProsecutionServiceStub) -> Backlog:
    base, final = case_pseudonym("case-om-bulk"), suspect_pseudonym("suspect-om-final")
    first = await stub.RegisterCase(
        register(
            base,
            suspect_pseudonym("suspect-om-base"),
            command_id="bulk-base",
            parketnummer="08/111111-22",
        ).register_case
    )
    await stub.RegisterCase(register(base, final).register_case)
    await stub.SummonSuspect(fact(base, final, "2022-09-01"))
    await stub.DeliverVerdict(
        pb.VerdictRequest(
            case_id=base,
            suspect_id=final,
            occurred_on="2023-01-10",
            instance=FIRST,
            outcome=pb.VERDICT_OUTCOME_ACQUITTAL,
        )
    )
    await stub.MarkCaseFinal(fact(base, final, "2023-01-30"))
    commands = [
        register(case_pseudonym(f"case-om-bulk-{n}"), suspect_pseudonym(f"suspect-om-{n}"))
        for n in range(200)
    ]
    commands += [
        pb.ProsecutionCommand(
            hold_examining_magistrate_hearing=pb.VictimFactRequest(
                case_id=base, victim_id=f"victim-om-{n}", occurred_on="2022-07-01"
            )
        )
        for n in range(100)
    ]
    commands += [
        # 300: a fact about a suspect the OM registered no case against
        pb.ProsecutionCommand(
            summon_suspect=fact(base, suspect_pseudonym("suspect-om-never"), "2022-09-01")
        ),
        # 301: anything after the case became final
        pb.ProsecutionCommand(lodge_appeal=fact(base, final, "2023-02-01")),
        # 302: the parketnummer belongs to other proceedings
        register(base, suspect_pseudonym("suspect-om-other"), parketnummer="08/111111-22"),
        # 303: the command id was used for a different command
        register(base, suspect_pseudonym("suspect-om-reused"), command_id="bulk-base"),
        # 304: the same command again: a replay, acknowledged, nothing stored
        register(
            base,
            suspect_pseudonym("suspect-om-base"),
            command_id="bulk-base",
            parketnummer="08/111111-22",
        ),
        # 305: the case is already registered against this suspect
        register(base, final),
        # 306, 307, 308: a malformed parketnummer, a date in the future, no command at all
        register(base, suspect_pseudonym("suspect-om-bad"), parketnummer="123"),
        register(base, suspect_pseudonym("suspect-om-future"), on="2999-01-01"),
        pb.ProsecutionCommand(),
    ]

    async def hundred_victims_heard(stub: ProsecutionServiceStub) -> None:
        case = await stub.GetProsecutionCase(pb.GetProsecutionCaseRequest(case_id=base))
        assert len(case.heard_victim_ids) == 100

    failed, invalid = code_pb2.FAILED_PRECONDITION, code_pb2.INVALID_ARGUMENT
    return Backlog(
        commands=commands,
        accepted=[(range(200), "registered"), (range(200, 300), "ack")],
        refused={
            300: (failed, "CASE_NOT_REGISTERED"),
            301: (failed, "CASE_FINAL"),
            302: (failed, "PARKETNUMMER_IN_USE"),
            303: (code_pb2.ALREADY_EXISTS, None),
            305: (code_pb2.ALREADY_EXISTS, None),
            306: (invalid, None),
            307: (invalid, None),
            308: (invalid, None),
        },
        replayed=(304, list(first.ack.event_ids)),
        published=5 + 300,  # the five unary commands, then one event per accepted command
        check=hundred_victims_heard,
    )


async def acquitted(stub: ProsecutionServiceStub, key: str) -> CommandAck:
    """A fact with a category: a first-instance acquittal."""
    case, suspect = case_pseudonym(f"case-{key}"), suspect_pseudonym(f"suspect-{key}")
    await stub.RegisterCase(
        pb.RegisterCaseRequest(case_id=case, suspect_id=suspect, occurred_on="2022-01-10")
    )
    await stub.SummonSuspect(fact(case, suspect, "2022-01-20"))
    ack: CommandAck = await stub.DeliverVerdict(
        pb.VerdictRequest(
            case_id=case,
            suspect_id=suspect,
            occurred_on="2022-02-02",
            instance=FIRST,
            outcome=pb.VERDICT_OUTCOME_ACQUITTAL,
        )
    )
    return ack


def annul(
    stub: ProsecutionServiceStub, key: str, event_id: str, reason: int, command_id: str
) -> Any:
    return stub.AnnulFact(
        pb.AnnulFactRequest(
            command_id=command_id,
            case_id=case_pseudonym(f"case-{key}"),
            suspect_id=suspect_pseudonym(f"suspect-{key}"),
            occurred_on="2022-06-01",
            corrected_event_id=event_id,
            reason=reason,  # type: ignore[arg-type]
        )
    )


def amend(
    stub: ProsecutionServiceStub,
    key: str,
    event_id: str,
    reason: int,
    command_id: str,
    fact_occurred_on: str,
    category: bool,
) -> Any:
    amended = (
        pb.ProsecutionAmendedFields(outcome=pb.VERDICT_OUTCOME_CONVICTION_TRAFFICKING)
        if category
        else None
    )
    return stub.AmendFact(
        pb.AmendFactRequest(
            command_id=command_id,
            case_id=case_pseudonym(f"case-{key}"),
            suspect_id=suspect_pseudonym(f"suspect-{key}"),
            occurred_on="2022-06-01",
            corrected_event_id=event_id,
            reason=reason,  # type: ignore[arg-type]
            fact_occurred_on=fact_occurred_on,
            amended=amended,
        )
    )


PROSECUTION = CommandService(
    name="prosecution",
    grpc_service="ketenzicht.prosecution.v1.ProsecutionService",
    stub=ProsecutionServiceStub,
    role="OM",
    other_roles=(),
    denied_roles=("POLICE", "IND"),
    command=register_case,
    changed=register_changed,
    ack=lambda reply: reply.ack,
    refusals=refusals,
    private="654321",
    backlog=backlog,
    corrections=Corrections(
        state=acquitted,
        annul=annul,
        amend=amend,
        category=("outcome", "CONVICTION_TRAFFICKING"),
        other_organisation="OM_OTHER",  # another OM organisation (deploy/local/identities.toml)
    ),
)
