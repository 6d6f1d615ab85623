"""The audit trail over real gRPC (docs/domain.md#audit): facts registered and corrected through
the intake service by two organisations, and a case's facts and corrections published the
relays' way, read back from the monitor by an auditor — with who stated each and when, which
corrections touched which facts, and nothing personal; refused to everyone else."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest
from monitor_bus_events import corrected_case_events, publish

from ketenzicht.common.v1 import common_pb2
from ketenzicht.intake.v1 import intake_pb2 as intake
from ketenzicht.intake.v1.intake_pb2_grpc import IntakeServiceStub
from ketenzicht.monitor.v1 import monitor_pb2 as pb
from ketenzicht.monitor.v1.monitor_pb2_grpc import MonitorServiceStub
from ketenzicht_common.client import connect
from ketenzicht_common.processes import NatsServer, free_port
from ketenzicht_common.testing import TOKENS
from ketenzicht_common.testing.fixtures import REPO_ROOT, ServiceFactory
from ketenzicht_common.testing.service import rpc_error

pytestmark = pytest.mark.integration

WRONG_CATEGORY, REGISTERED_IN_ERROR = 6, 1
# A command id as a source system might choose it: a number of its own. It travels in the
# envelope (ce-commandid) and must not come out of an audit.
SOURCE_NUMBER = "PL0100-2024012345"


async def _trail(address: str, request: pb.AuditTrailRequest, entries: int) -> Any:
    """The auditor's trail once the monitor holds ``entries`` events of the subject."""
    async with connect(address, token=TOKENS["AUDITOR"]) as channel:
        monitor = MonitorServiceStub(channel)
        for _ in range(200):
            try:
                trail = await monitor.AuditTrail(request)
                if len(trail.entries) >= entries:
                    return trail
            except grpc.aio.AioRpcError as error:
                if error.code() != grpc.StatusCode.NOT_FOUND:
                    raise
            await asyncio.sleep(0.1)
    raise AssertionError("the monitor did not receive the events")


def _by_type(trail: Any) -> dict[str, Any]:
    return {e.event_type: e for e in trail.entries}


async def test_an_auditor_sees_what_was_registered_and_corrected_by_whom_and_when(
    nats_server: NatsServer, service_factory: ServiceFactory
) -> None:
    intake_service = service_factory("intake", nats_server)
    monitor = service_factory(
        "monitor", nats_server, env={"KETENZICHT_MONITOR_HTTP_ADDRESS": f"127.0.0.1:{free_port()}"}
    )

    # Registered: the police's signal, KMar's interview. Corrected: the police amend the
    # signal's region, KMar annuls its interview (it never took place).
    async with connect(intake_service.address, token=TOKENS["POLICE"]) as channel:
        police = IntakeServiceStub(channel)
        signal = await police.RegisterSignal(
            intake.RegisterSignalRequest(
                command_id=SOURCE_NUMBER,
                occurred_on="2024-01-10",
                source_organisation=intake.SOURCE_ORGANISATION_POLICE,
                form=common_pb2.EXPLOITATION_FORM_LABOUR,
                nationality_group=intake.NATIONALITY_GROUP_THIRD_COUNTRY,
                residence_position=intake.RESIDENCE_POSITION_IRREGULAR,
                region=intake.POLICE_REGION_AMSTERDAM,
            )
        )
        victim = signal.victim_id
        (signal_id,) = signal.ack.event_ids
    async with connect(intake_service.address, token=TOKENS["KMAR"]) as channel:
        kmar = IntakeServiceStub(channel)
        (interview_id,) = (
            await kmar.HoldInformativeInterview(
                intake.VictimFactRequest(victim_id=victim, occurred_on="2024-01-20")
            )
        ).event_ids
    async with connect(intake_service.address, token=TOKENS["POLICE"]) as channel:
        (amendment_id,) = (
            await IntakeServiceStub(channel).AmendFact(
                intake.AmendFactRequest(
                    victim_id=victim,
                    occurred_on="2024-02-01",
                    corrected_event_id=signal_id,
                    reason=WRONG_CATEGORY,
                    amended=intake.IntakeAmendedFields(region=intake.POLICE_REGION_ROTTERDAM),
                )
            )
        ).event_ids
    async with connect(intake_service.address, token=TOKENS["KMAR"]) as channel:
        (annulment_id,) = (
            await IntakeServiceStub(channel).AnnulFact(
                intake.AnnulFactRequest(
                    victim_id=victim,
                    occurred_on="2024-02-02",
                    corrected_event_id=interview_id,
                    reason=REGISTERED_IN_ERROR,
                )
            )
        ).event_ids

    trail = await _trail(monitor.address, pb.AuditTrailRequest(victim_id=victim), 4)
    assert trail.victim_id == victim
    assert [e.event_id for e in trail.entries] == [
        signal_id,
        interview_id,
        amendment_id,
        annulment_id,
    ]  # in the order intake recorded them
    assert [(e.organisation, e.system) for e in trail.entries] == [
        ("politie", "police-registration"),
        ("kmar", "kmar-registration"),
        ("politie", "police-registration"),
        ("kmar", "kmar-registration"),
    ]
    assert [e.occurred_on for e in trail.entries] == [
        "2024-01-10",
        "2024-01-20",
        "2024-02-01",
        "2024-02-02",
    ]
    recorded = [e.recorded_at for e in trail.entries]
    assert all(recorded)
    assert recorded == sorted(recorded)
    assert {e.service for e in trail.entries} == {"intake"}
    assert {e.victim_id for e in trail.entries} == {victim}

    facts = _by_type(trail)
    registered, interview = facts["SignalRegistered"], facts["InformativeInterviewHeld"]
    assert (registered.annulled_by, list(registered.amended_by)) == ("", [amendment_id])
    assert list(registered.corrected_by) == [amendment_id]
    assert not registered.HasField("correction")
    assert (interview.annulled_by, list(interview.amended_by)) == (annulment_id, [])

    amended = facts["FactAmended"].correction
    assert amended.kind == pb.CORRECTION_KIND_AMEND
    assert (amended.corrected_event_id, amended.original_event_id) == (signal_id, signal_id)
    assert (amended.corrected_event_type, amended.reason) == ("SignalRegistered", "WRONG_CATEGORY")
    assert amended.fact_occurred_on == "2024-01-10"
    assert {a.field: a.value for a in amended.amended}["region"] == "ROTTERDAM"
    annulled = facts["FactAnnulled"].correction
    assert annulled.kind == pb.CORRECTION_KIND_ANNUL
    assert (annulled.corrected_event_id, annulled.reason) == (interview_id, "REGISTERED_IN_ERROR")
    assert (annulled.fact_occurred_on, list(annulled.amended)) == ("2024-01-20", [])

    # Nothing personal, nothing of a source's own: the source's number used as command id is
    # not in the answer, and an entry holds only the fields the audit defines.
    assert SOURCE_NUMBER.encode() not in trail.SerializeToString()
    assert {f.name for e in trail.entries for f, _ in e.ListFields()} <= {
        *(f.name for f in pb.AuditEntry.DESCRIPTOR.fields)
    }

    # A case: its own facts, its victim's signal (which names no case), both corrections.
    facts_published, corrections_published = corrected_case_events()
    await publish(nats_server, [*facts_published, *corrections_published])
    case = await _trail(monitor.address, pb.AuditTrailRequest(case_id="case-9001"), 8)
    assert list(case.victim_ids) == ["vic-9001"]
    assert [e.event_type for e in case.entries][:6] == [
        "SignalRegistered",
        "ReportFiled",
        "CaseRegistered",
        "SuspectSummoned",
        "CourtHearingHeld",
        "VerdictDelivered",
    ]
    # Both corrections were recorded at the same instant (by two services): in event id order.
    assert sorted(e.event_type for e in case.entries[6:]) == ["FactAmended", "FactAnnulled"]
    assert case.entries[6].event_id < case.entries[7].event_id
    by_type = _by_type(case)
    assert (by_type["SignalRegistered"].case_id, by_type["SignalRegistered"].victim_id) == (
        "",
        "vic-9001",
    )
    report, verdict = by_type["ReportFiled"], by_type["VerdictDelivered"]
    assert list(report.amended_by) == [by_type["FactAmended"].event_id]
    assert verdict.annulled_by == by_type["FactAnnulled"].event_id
    assert (verdict.organisation, verdict.system, verdict.suspect_id) == (
        "om",
        "om-case-registration",
        "sus-9001",
    )
    assert by_type["FactAmended"].correction.fact_occurred_on == "2023-02-01"
    assert (by_type["FactAnnulled"].organisation, by_type["FactAmended"].organisation) == (
        "om",
        "politie",
    )
    # The victim's own trail has the report and its amendment, not the OM's steps.
    victim_trail = await _trail(monitor.address, pb.AuditTrailRequest(victim_id="vic-9001"), 3)
    assert [e.event_type for e in victim_trail.entries] == [
        "SignalRegistered",
        "ReportFiled",
        "FactAmended",
    ]


async def test_the_audit_is_the_auditors_and_names_only_what_the_monitor_holds(
    nats_server: NatsServer, service_factory: ServiceFactory
) -> None:
    monitor = service_factory(
        "monitor", nats_server, env={"KETENZICHT_MONITOR_HTTP_ADDRESS": f"127.0.0.1:{free_port()}"}
    )
    facts_published, corrections_published = corrected_case_events()
    await publish(nats_server, [*facts_published, *corrections_published])
    await _trail(monitor.address, pb.AuditTrailRequest(victim_id="vic-9001"), 3)

    async def refused(role: str, call: Callable[[MonitorServiceStub], Awaitable[Any]]) -> Any:
        async with connect(monitor.address, token=TOKENS[role]) as channel:
            return await rpc_error(call(MonitorServiceStub(channel)))

    def audit(subject: pb.AuditTrailRequest) -> Callable[[MonitorServiceStub], Awaitable[Any]]:
        return lambda monitor: monitor.AuditTrail(subject)

    victim = pb.AuditTrailRequest(victim_id="vic-9001")
    for role in ("ANALYST", "POLICE", "OM", "IND"):
        error = await refused(role, audit(victim))
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED, role
    # The auditor reads the trail, not the figures; both may see what the monitor holds.
    error = await refused(
        "AUDITOR", lambda m: m.GetLeadTimes(pb.GetLeadTimesRequest(as_of=pb.AsOf(on="2024-06-30")))
    )
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    async with connect(monitor.address, token=TOKENS["AUDITOR"]) as channel:
        assert (await MonitorServiceStub(channel).GetStatus(pb.GetStatusRequest())).facts == 8

    for subject in (
        pb.AuditTrailRequest(victim_id="vic-unknown"),
        pb.AuditTrailRequest(case_id="case-unknown"),
    ):
        error = await refused("AUDITOR", audit(subject))
        assert error.code() == grpc.StatusCode.NOT_FOUND
        assert "unknown" not in (error.details() or "")  # the id is not echoed
    for subject in (pb.AuditTrailRequest(), pb.AuditTrailRequest(victim_id="not a pseudonym!")):
        error = await refused("AUDITOR", audit(subject))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT

    # The command line asks the same query; the auditor's token is its default for `audit`.
    def ketenzicht(*arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "monitor.cli", "--address", monitor.address, *arguments],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=REPO_ROOT,
            check=False,
        )

    table = await asyncio.to_thread(ketenzicht, "audit", "--case", "case-9001")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0] == "Audit trail of case case-9001: 8 events"
    assert lines[1] == "victims in the case: vic-9001"
    assert lines[3].split()[:4] == ["recorded_at", "occurred_on", "service", "event_type"]
    annulment = next(line for line in lines if "FactAnnulled" in line).split()
    assert annulment[4:6] == ["om", "om-case-registration"]
    assert "annul" in annulment
    assert "REGISTERED_IN_ERROR" in annulment
    csv_text = await asyncio.to_thread(ketenzicht, "audit", "--victim", "vic-9001", "--csv")
    assert csv_text.returncode == 0, csv_text.stderr
    rows = csv_text.stdout.splitlines()
    assert rows[0].startswith("recorded_at,occurred_on,service,event_type,organisation,system")
    assert len(rows) == 4
    assert rows[3].split(",")[3] == "FactAmended"
    as_analyst = await asyncio.to_thread(
        ketenzicht, "--token", TOKENS["ANALYST"], "audit", "--victim", "vic-9001"
    )
    assert as_analyst.returncode == 1
    assert "PERMISSION_DENIED" in as_analyst.stderr
