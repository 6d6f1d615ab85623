"""Intake's cases for the shared suite: the police register signals and file reports."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import grpc
from google.rpc import code_pb2

from ketenzicht.common.v1 import common_pb2
from ketenzicht.common.v1.common_pb2 import CommandAck
from ketenzicht.intake.v1 import intake_pb2 as pb
from ketenzicht.intake.v1.intake_pb2_grpc import IntakeServiceStub
from ketenzicht_common.testing import case_pseudonym
from ketenzicht_common.testing.command_service import (
    Backlog,
    CommandService,
    Corrections,
    Refusal,
)


def signal_request(**overrides: Any) -> pb.RegisterSignalRequest:
    fields: dict[str, Any] = dict(
        occurred_on="2022-01-03",
        source_organisation=pb.SOURCE_ORGANISATION_POLICE,
        form=common_pb2.EXPLOITATION_FORM_SEXUAL,
        minor=True,
        nationality_group=pb.NATIONALITY_GROUP_THIRD_COUNTRY,
        residence_position=pb.RESIDENCE_POSITION_IRREGULAR,
        region=pb.POLICE_REGION_AMSTERDAM,
    )
    fields.update(overrides)
    return pb.RegisterSignalRequest(**fields)


async def register(stub: IntakeServiceStub, key: str) -> Any:
    return await stub.RegisterSignal(signal_request(command_id=f"signal-{key}"))


async def register_changed(stub: IntakeServiceStub, key: str) -> Any:
    return await stub.RegisterSignal(signal_request(command_id=f"signal-{key}", minor=False))


async def refusals(stub: IntakeServiceStub) -> list[Refusal]:
    signal = await stub.RegisterSignal(signal_request(command_id="signal-bad"))
    await stub.FileReport(
        pb.FileReportRequest(
            command_id="report-bad",
            victim_id=signal.victim_id,
            case_id=case_pseudonym("case-bad"),
            occurred_on="2022-01-10",
        )
    )
    await asyncio.sleep(0.5)
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    v = signal.victim_id
    invalid, failed = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION
    return [
        Refusal(
            stub.FileReport(pb.FileReportRequest(victim_id=v, occurred_on="2022-01-10")),
            invalid,
            fields=frozenset({"case_id"}),
        ),
        Refusal(
            stub.FileReport(
                pb.FileReportRequest(victim_id=v, case_id="case bad!", occurred_on="2022-01-10")
            ),
            invalid,
            fields=frozenset({"case_id"}),
        ),
        Refusal(
            # The police's own number where the case pseudonym belongs: not the issued shape.
            stub.FileReport(
                pb.FileReportRequest(
                    victim_id=v, case_id="PL0100-2022-0001", occurred_on="2022-01-10"
                )
            ),
            invalid,
            fields=frozenset({"case_id"}),
        ),
        Refusal(
            stub.FileReport(
                pb.FileReportRequest(
                    victim_id=v, case_id=case_pseudonym("case-x"), occurred_on="10-01-2022"
                )
            ),
            invalid,
            fields=frozenset({"occurred_on"}),
        ),
        Refusal(
            stub.FileReport(
                pb.FileReportRequest(
                    victim_id=v, case_id=case_pseudonym("case-x"), occurred_on=tomorrow
                )
            ),
            invalid,
            fields=frozenset({"occurred_on"}),
        ),
        Refusal(
            stub.RegisterSignal(signal_request(form=common_pb2.EXPLOITATION_FORM_UNSPECIFIED)),
            invalid,
            fields=frozenset({"form"}),
        ),
        Refusal(
            stub.FileReport(
                pb.FileReportRequest(
                    victim_id="never-signalled",
                    case_id=case_pseudonym("case-x"),
                    occurred_on="2022-01-10",
                )
            ),
            failed,
        ),
        Refusal(
            stub.FileReport(
                pb.FileReportRequest(
                    victim_id=v, case_id=case_pseudonym("case-bad"), occurred_on="2022-01-12"
                )
            ),
            grpc.StatusCode.ALREADY_EXISTS,
        ),
        Refusal(
            stub.RegisterSignal(signal_request(victim_id="unknown-victim")),
            grpc.StatusCode.NOT_FOUND,
        ),
        Refusal(
            stub.GetVictim(pb.GetVictimRequest(victim_id="unknown-victim")),
            grpc.StatusCode.NOT_FOUND,
        ),
        Refusal(
            stub.WithdrawReport(
                pb.CaseFactRequest(
                    victim_id=v, case_id=case_pseudonym("case-none"), occurred_on="2022-02-01"
                )
            ),
            failed,
        ),
    ]


def bulk_signal() -> pb.IntakeCommand:
    return pb.IntakeCommand(
        register_signal=pb.RegisterSignalRequest(
            occurred_on="2021-06-01",
            source_organisation=pb.SOURCE_ORGANISATION_LABOUR_INSPECTORATE,
            form=common_pb2.EXPLOITATION_FORM_LABOUR,
            nationality_group=pb.NATIONALITY_GROUP_OTHER_EU,
            residence_position=pb.RESIDENCE_POSITION_LAWFUL,
            region=pb.POLICE_REGION_OOST_BRABANT,
        )
    )


def report(victim_id: str, case_id: str, on: str) -> pb.IntakeCommand:
    return pb.IntakeCommand(
        file_report=pb.FileReportRequest(victim_id=victim_id, case_id=case_id, occurred_on=on)
    )


async def backlog(stub: IntakeServiceStub) -> Backlog:
    first = await stub.RegisterSignal(bulk_signal().register_signal)
    commands = [bulk_signal() for _ in range(300)]
    commands += [
        report(first.victim_id, case_pseudonym(f"case-{n}"), "2021-07-01") for n in range(200)
    ]
    commands += [
        report(
            first.victim_id, case_pseudonym("case-0"), "2021-07-02"
        ),  # 500: reported in that case already
        report(first.victim_id, "bad id", "2021-07-02"),  # 501: not a pseudonym
        pb.IntakeCommand(),  # 502: no command at all
    ]
    return Backlog(
        commands=commands,
        accepted=[(range(300), "signal"), (range(300, 500), "ack")],
        refused={
            500: (code_pb2.ALREADY_EXISTS, None),
            501: (code_pb2.INVALID_ARGUMENT, None),
            502: (code_pb2.INVALID_ARGUMENT, None),
        },
        replayed=None,
        published=1 + 300 + 200,  # the first signal, the signals and the reports
    )


# Intake issues the victim pseudonym, so the suite's key names the victim through this map; a
# key never stated names a victim intake does not know.
_victims: dict[str, str] = {}


def _victim(key: str) -> str:
    return _victims.get(key, f"V-unknown-{key}")


async def signalled(stub: IntakeServiceStub, key: str) -> CommandAck:
    """A fact with categories: the police register a signal of a new victim."""
    response = await stub.RegisterSignal(signal_request(command_id=f"correct-signal-{key}"))
    _victims[key] = response.victim_id
    ack: CommandAck = response.ack
    return ack


def annul(stub: IntakeServiceStub, key: str, event_id: str, reason: int, command_id: str) -> Any:
    return stub.AnnulFact(
        pb.AnnulFactRequest(
            command_id=command_id,
            victim_id=_victim(key),
            occurred_on="2022-06-01",
            corrected_event_id=event_id,
            reason=reason,  # type: ignore[arg-type]
        )
    )


def amend(
    stub: IntakeServiceStub,
    key: str,
    event_id: str,
    reason: int,
    command_id: str,
    fact_occurred_on: str,
    category: bool,
) -> Any:
    amended = pb.IntakeAmendedFields(form=common_pb2.EXPLOITATION_FORM_LABOUR) if category else None
    return stub.AmendFact(
        pb.AmendFactRequest(
            command_id=command_id,
            victim_id=_victim(key),
            occurred_on="2022-06-01",
            corrected_event_id=event_id,
            reason=reason,  # type: ignore[arg-type]
            fact_occurred_on=fact_occurred_on,
            amended=amended,
        )
    )


INTAKE = CommandService(
    name="intake",
    grpc_service="ketenzicht.intake.v1.IntakeService",
    stub=IntakeServiceStub,
    role="POLICE",
    other_roles=("KMAR", "LABOUR_INSPECTORATE"),
    denied_roles=("OM", "IND", "ANALYST"),
    command=register,
    changed=register_changed,
    ack=lambda reply: reply.ack,
    refusals=refusals,
    backlog=backlog,
    corrections=Corrections(
        state=signalled,
        annul=annul,
        amend=amend,
        category=("form", "LABOUR"),
        other_organisation="KMAR",
    ),
)
