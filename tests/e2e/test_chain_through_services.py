"""One case across the chain: intake, investigation and prosecution as real processes on one
nats-server, called over gRPC the way police and OM systems call them.

The case_id and the pseudonymous victim and suspect ids tie the services together; the source
identifiers each service owns (police registration number, parketnummer) stay with it.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from nats.aio.msg import Msg

from ketenzicht.common.v1 import common_pb2
from ketenzicht.intake.v1 import intake_pb2 as ipb
from ketenzicht.intake.v1.intake_pb2_grpc import IntakeServiceStub
from ketenzicht.investigation.v1 import investigation_pb2 as vpb
from ketenzicht.investigation.v1.investigation_pb2_grpc import InvestigationServiceStub
from ketenzicht.prosecution.v1 import prosecution_pb2 as ppb
from ketenzicht.prosecution.v1.prosecution_pb2_grpc import ProsecutionServiceStub
from ketenzicht_common.client import connect
from ketenzicht_common.processes import NatsServer, ServiceProcess, free_port
from ketenzicht_common.testing import TOKENS, suspect_pseudonym
from ketenzicht_common.testing.fixtures import REPO_ROOT
from ketenzicht_common.testing.jetstream import attributes_of, payload_of, stream_messages
from ketenzicht_contracts.envelope import stream_for

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

SERVICES = ("intake", "investigation", "prosecution")


def service_env(root: Path, name: str, bus: NatsServer, **extra: str) -> dict[str, str]:
    return {
        "KETENZICHT_GRPC_ADDRESS": f"127.0.0.1:{free_port()}",
        "KETENZICHT_DATA_DIR": str(root / name),
        "KETENZICHT_NATS_URL": bus.url,
        "KETENZICHT_NATS_SEED_FILE": str(bus.seed(name)),
        "KETENZICHT_IDENTITIES_FILE": str(REPO_ROOT / "deploy/local/identities.toml"),
        **extra,
    }


@dataclass
class Chain:
    root: Path
    nats: NatsServer
    services: dict[str, ServiceProcess]


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    root = tmp_path_factory.mktemp("chain")
    server = NatsServer(root / "nats").start()
    started: dict[str, ServiceProcess] = {}
    try:
        for name in SERVICES:
            started[name] = ServiceProcess(
                name, service_env(root, name, server), cwd=REPO_ROOT, log_file=root / f"{name}.log"
            ).start()
        yield Chain(root, server, started)
    finally:
        for process in started.values():
            process.stop()
        server.stop()


@dataclass
class Clients:
    intake: IntakeServiceStub
    investigation: InvestigationServiceStub
    prosecution: ProsecutionServiceStub


@pytest.fixture
async def clients(chain: Chain) -> AsyncIterator[Clients]:
    async with (
        connect(chain.services["intake"].address, token=TOKENS["POLICE"]) as i,
        connect(chain.services["investigation"].address, token=TOKENS["POLICE"]) as v,
        connect(chain.services["prosecution"].address, token=TOKENS["OM"]) as p,
    ):
        yield Clients(IntakeServiceStub(i), InvestigationServiceStub(v), ProsecutionServiceStub(p))


async def on_stream(
    nats_url: NatsServer, service: str, event_ids: list[str], timeout: float = 8.0
) -> dict[str, Msg]:
    """The messages of ``service``'s stream that carry ``event_ids``, waiting for the relay."""
    deadline = time.monotonic() + timeout
    while True:
        messages = await stream_messages(nats_url, stream_for(service), timeout=0)
        found = {(m.headers or {}).get("Nats-Msg-Id", ""): m for m in messages}
        if all(i in found for i in event_ids) or time.monotonic() > deadline:
            missing = [i for i in event_ids if i not in found]
            assert not missing, f"{len(missing)} events of {service} never reached the bus"
            return {i: found[i] for i in event_ids}
        await asyncio.sleep(0.05)


class Recorder:
    """Remembers, per service, the event ids each call answered and the type each should have."""

    def __init__(self) -> None:
        self.expected: dict[str, list[tuple[str, str]]] = {s: [] for s in SERVICES}

    async def __call__(self, service: str, event_type: str, call: Any) -> Any:
        reply = await call
        ack = reply.ack if hasattr(reply, "ack") else reply
        assert isinstance(ack, common_pb2.CommandAck)
        (event_id,) = ack.event_ids
        self.expected[service].append((event_id, event_type))
        return reply

    async def check(self, nats_url: NatsServer) -> dict[str, Any]:
        """Every recorded event is on its service's stream under its subject; their bodies."""
        bodies: dict[str, Any] = {}
        for service, expected in self.expected.items():
            if not expected:
                continue
            messages = await on_stream(nats_url, service, [i for i, _ in expected])
            for event_id, event_type in expected:
                message = messages[event_id]
                assert message.subject == f"ketenzicht.{service}.{event_type}"
                assert attributes_of(message)["type"] == f"nl.ketenzicht.{service}.{event_type}"
                bodies[event_id] = payload_of(message)
        return bodies


def signal(on: str) -> ipb.RegisterSignalRequest:
    return ipb.RegisterSignalRequest(
        occurred_on=on,
        source_organisation=ipb.SOURCE_ORGANISATION_POLICE,
        form=common_pb2.EXPLOITATION_FORM_SEXUAL,
        minor=False,
        nationality_group=ipb.NATIONALITY_GROUP_THIRD_COUNTRY,
        residence_position=ipb.RESIDENCE_POSITION_DUBLIN_CLAIMANT,
        region=ipb.POLICE_REGION_ROTTERDAM,
    )


async def open_case(police: InvestigationServiceStub, number: str) -> str:
    """The case pseudonym ketenzicht issues for a police registration number."""
    opened = await police.OpenCase(
        vpb.OpenCaseRequest(occurred_on="2021-01-04", police_registration_number=number)
    )
    return str(opened.case_id)


async def test_one_case_through_intake_investigation_and_prosecution(
    chain: Chain, clients: Clients
) -> None:
    record = Recorder()
    # The case enters the chain at the police: ketenzicht issues its pseudonym for the
    # police's own number, and every service hears of the case by the pseudonym only.
    opened = await clients.investigation.OpenCase(
        vpb.OpenCaseRequest(occurred_on="2022-01-20", police_registration_number="PL1700-2022-0042")
    )
    case = opened.case_id
    assert re.fullmatch(r"C-[0-9a-f]{20}", case)
    reply = await record(
        "intake", "SignalRegistered", clients.intake.RegisterSignal(signal("2022-01-03"))
    )
    victim = reply.victim_id
    await record(
        "intake",
        "ReportFiled",
        clients.intake.FileReport(
            ipb.FileReportRequest(victim_id=victim, case_id=case, occurred_on="2022-01-20")
        ),
    )

    police = clients.investigation
    await record(
        "investigation",
        "InvestigationOpened",
        police.OpenInvestigation(
            vpb.OpenInvestigationRequest(case_id=case, occurred_on="2022-01-21")
        ),
    )
    await record(
        "investigation",
        "VictimHeard",
        police.HearVictim(
            vpb.HearVictimRequest(
                case_id=case,
                victim_id=victim,
                occurred_on="2022-02-01",
                with_police_psychologist=True,
            )
        ),
    )
    # The suspect enters the chain at the police too: ketenzicht issues its pseudonym, which
    # the police's submission carries to the OM (no police person number on the bus).
    identified = await record(
        "investigation",
        "SuspectIdentified",
        police.IdentifySuspect(vpb.IdentifySuspectRequest(case_id=case, occurred_on="2022-02-15")),
    )
    suspect = identified.suspect_id
    assert re.fullmatch(r"S-[0-9a-f]{20}", suspect)
    await record(
        "investigation",
        "CaseSubmittedToProsecution",
        police.SubmitToProsecution(
            vpb.SubmitToProsecutionRequest(case_id=case, occurred_on="2022-06-01")
        ),
    )
    await record(
        "investigation",
        "InvestigationClosed",
        police.CloseInvestigation(
            vpb.CloseInvestigationRequest(
                case_id=case,
                occurred_on="2022-06-01",
                reason=vpb.INVESTIGATION_CLOSE_REASON_SUBMITTED,
            )
        ),
    )

    om = clients.prosecution

    def about(on: str) -> ppb.SuspectFactRequest:
        return ppb.SuspectFactRequest(case_id=case, suspect_id=suspect, occurred_on=on)

    await record(
        "prosecution",
        "CaseRegistered",
        om.RegisterCase(
            ppb.RegisterCaseRequest(
                case_id=case,
                suspect_id=suspect,
                occurred_on="2022-06-10",
                parketnummer="10/700042-22",
            )
        ),
    )
    await record(
        "prosecution",
        "PresenceAssessed",
        om.AssessPresence(
            ppb.AssessPresenceRequest(
                case_id=case,
                victim_id=victim,
                occurred_on="2022-06-15",
                presence=ppb.PRESENCE_NECESSARY,
            )
        ),
    )
    await record(
        "prosecution",
        "ExaminingMagistrateHearingHeld",
        om.HoldExaminingMagistrateHearing(
            ppb.VictimFactRequest(case_id=case, victim_id=victim, occurred_on="2022-08-01")
        ),
    )
    await record("prosecution", "SuspectSummoned", om.SummonSuspect(about("2022-10-01")))
    await record(
        "prosecution",
        "CourtHearingHeld",
        om.HoldCourtHearing(
            ppb.CourtHearingRequest(
                case_id=case,
                suspect_id=suspect,
                occurred_on="2023-03-01",
                instance=ppb.COURT_INSTANCE_FIRST_INSTANCE,
            )
        ),
    )
    await record(
        "prosecution",
        "VerdictDelivered",
        om.DeliverVerdict(
            ppb.VerdictRequest(
                case_id=case,
                suspect_id=suspect,
                occurred_on="2023-03-15",
                instance=ppb.COURT_INSTANCE_FIRST_INSTANCE,
                outcome=ppb.VERDICT_OUTCOME_CONVICTION_TRAFFICKING,
            )
        ),
    )
    await record("prosecution", "CaseFinal", om.MarkCaseFinal(about("2023-03-30")))

    bodies = await record.check(chain.nats)
    # The pseudonyms tie the services together: every event names the case, and the victim
    # and suspect ids are the same in each service.
    assert {b.get("case_id") for b in bodies.values()} - {None} == {case}
    assert {b["victim_id"] for b in bodies.values() if "victim_id" in b} == {victim}
    assert {b["suspect_id"] for b in bodies.values() if "suspect_id" in b} == {suspect}
    # The source identifiers stay with their owners.
    for service in SERVICES:
        for message in await stream_messages(chain.nats, stream_for(service), timeout=0):
            text = message.data.decode() + json.dumps(message.headers or {})
            assert "PL1700" not in text
            assert "700042" not in text
    summary = await police.GetInvestigation(vpb.GetInvestigationRequest(case_id=case))
    assert summary.police_registration_number == "PL1700-2022-0042"
    proceedings = await om.GetProsecution(
        ppb.GetProsecutionRequest(case_id=case, suspect_id=suspect)
    )
    assert (proceedings.parketnummer, proceedings.final_on) == ("10/700042-22", "2023-03-30")


async def test_the_om_registers_before_the_police_submission_reaches_the_bus(
    chain: Chain, clients: Clients
) -> None:
    """The police's submission is stored at the police but not yet relayed (their relay is
    off) when the OM registers the case; the OM does not wait for it, and once the police's
    relay runs again the submission lands too, with its earlier business date."""
    case = await open_case(clients.investigation, "PL1700-2022-0200")
    suspect = suspect_pseudonym("suspect-e2e-late")
    running = chain.services["investigation"]
    env, log_file = running.env, chain.root / "investigation.log"

    def restart(extra: dict[str, str]) -> ServiceProcess:
        # Same store and port: one service, one store, one stream (the relay resumes from
        # the stream's last position, so a second store on the stream would be skipped).
        chain.services["investigation"].stop()
        process = ServiceProcess(
            "investigation", env | extra, cwd=REPO_ROOT, log_file=log_file
        ).start()
        chain.services["investigation"] = process
        return process

    stalled = restart({"KETENZICHT_RELAY_ENABLED": "false"})
    async with connect(stalled.address, token=TOKENS["POLICE"]) as channel:
        police = InvestigationServiceStub(channel)
        await police.OpenInvestigation(
            vpb.OpenInvestigationRequest(case_id=case, occurred_on="2022-03-01")
        )
        await police.IdentifySuspect(
            vpb.IdentifySuspectRequest(case_id=case, suspect_id=suspect, occurred_on="2022-03-10")
        )
        submitted = await police.SubmitToProsecution(
            vpb.SubmitToProsecutionRequest(case_id=case, occurred_on="2022-05-01")
        )

    registered = await clients.prosecution.RegisterCase(
        ppb.RegisterCaseRequest(case_id=case, suspect_id=suspect, occurred_on="2022-05-20")
    )
    summoned = await clients.prosecution.SummonSuspect(
        ppb.SuspectFactRequest(case_id=case, suspect_id=suspect, occurred_on="2022-07-01")
    )
    om_events = await on_stream(
        chain.nats, "prosecution", [*registered.ack.event_ids, *summoned.event_ids]
    )
    assert len(om_events) == 2
    investigation_ids = {
        (m.headers or {}).get("Nats-Msg-Id")
        for m in await stream_messages(chain.nats, stream_for("investigation"), timeout=0)
    }
    assert submitted.event_ids[0] not in investigation_ids

    restart({})
    (late,) = (await on_stream(chain.nats, "investigation", list(submitted.event_ids))).values()
    assert late.subject == "ketenzicht.investigation.CaseSubmittedToProsecution"
    assert payload_of(late) == {
        "occurred_on": "2022-05-01",
        "case_id": case,
        "suspect_ids": [suspect],
    }
    # Arrival order is not fact order: the bus saw the OM first, the facts say police first.
    registered_on = payload_of(om_events[registered.ack.event_ids[0]])["occurred_on"]
    assert payload_of(late)["occurred_on"] < registered_on


async def test_several_victims_and_several_suspects_in_one_case(
    chain: Chain, clients: Clients
) -> None:
    record = Recorder()
    case = await open_case(clients.investigation, "PL1700-2022-0300")
    victims = []
    for day in ("2022-01-03", "2022-01-04", "2022-01-05"):
        reply = await record(
            "intake", "SignalRegistered", clients.intake.RegisterSignal(signal(day))
        )
        victims.append(reply.victim_id)
        await record(
            "intake",
            "ReportFiled",
            clients.intake.FileReport(
                ipb.FileReportRequest(
                    victim_id=reply.victim_id, case_id=case, occurred_on="2022-01-20"
                )
            ),
        )
    suspects = [suspect_pseudonym("suspect-e2e-m1"), suspect_pseudonym("suspect-e2e-m2")]

    police = clients.investigation
    await record(
        "investigation",
        "InvestigationOpened",
        police.OpenInvestigation(
            vpb.OpenInvestigationRequest(case_id=case, occurred_on="2022-01-21")
        ),
    )
    for victim in victims:
        await record(
            "investigation",
            "VictimHeard",
            police.HearVictim(
                vpb.HearVictimRequest(case_id=case, victim_id=victim, occurred_on="2022-02-01")
            ),
        )
    for suspect in suspects:
        await record(
            "investigation",
            "SuspectIdentified",
            police.IdentifySuspect(
                vpb.IdentifySuspectRequest(
                    case_id=case, suspect_id=suspect, occurred_on="2022-02-10"
                )
            ),
        )
    await record(
        "investigation",
        "CaseSubmittedToProsecution",
        police.SubmitToProsecution(
            vpb.SubmitToProsecutionRequest(case_id=case, occurred_on="2022-06-01")
        ),
    )

    om = clients.prosecution
    for suspect in suspects:
        await record(
            "prosecution",
            "CaseRegistered",
            om.RegisterCase(
                ppb.RegisterCaseRequest(case_id=case, suspect_id=suspect, occurred_on="2022-06-10")
            ),
        )
    for victim in victims[:2]:
        await record(
            "prosecution",
            "ExaminingMagistrateHearingHeld",
            om.HoldExaminingMagistrateHearing(
                ppb.VictimFactRequest(case_id=case, victim_id=victim, occurred_on="2022-08-01")
            ),
        )
    await record(
        "prosecution",
        "SuspectSummoned",
        om.SummonSuspect(
            ppb.SuspectFactRequest(case_id=case, suspect_id=suspects[0], occurred_on="2022-10-01")
        ),
    )
    await record(
        "prosecution",
        "CaseDismissed",
        om.DismissCase(
            ppb.DismissCaseRequest(
                case_id=case,
                suspect_id=suspects[1],
                occurred_on="2022-10-01",
                kind=ppb.DISMISSAL_KIND_TECHNICAL,
                code="02",
            )
        ),
    )

    bodies = await record.check(chain.nats)
    submitted = [b for b in bodies.values() if "suspect_ids" in b]
    assert submitted == [{"occurred_on": "2022-06-01", "case_id": case, "suspect_ids": suspects}]
    summary = await police.GetInvestigation(vpb.GetInvestigationRequest(case_id=case))
    assert sorted(summary.heard_victim_ids) == sorted(victims)
    assert list(summary.submitted_suspect_ids) == suspects
    om_case = await om.GetProsecutionCase(ppb.GetProsecutionCaseRequest(case_id=case))
    assert list(om_case.suspect_ids) == suspects
    assert sorted(om_case.heard_victim_ids) == sorted(victims[:2])
    decisions = [
        (await om.GetProsecution(ppb.GetProsecutionRequest(case_id=case, suspect_id=s))).decision
        for s in suspects
    ]
    assert decisions == [ppb.PROSECUTION_DECISION_SUMMONED, ppb.PROSECUTION_DECISION_DISMISSED]


async def test_one_victim_in_two_cases(chain: Chain, clients: Clients) -> None:
    record = Recorder()
    reply = await record(
        "intake", "SignalRegistered", clients.intake.RegisterSignal(signal("2021-05-01"))
    )
    victim = reply.victim_id
    cases = {
        await open_case(clients.investigation, "PL1700-2021-0401"): suspect_pseudonym(
            "suspect-e2e-f"
        ),
        await open_case(clients.investigation, "PL1700-2022-0402"): suspect_pseudonym(
            "suspect-e2e-s"
        ),
    }
    for n, (case, suspect) in enumerate(cases.items()):
        reported = f"202{1 + n}-06-01"
        await record(
            "intake",
            "ReportFiled",
            clients.intake.FileReport(
                ipb.FileReportRequest(victim_id=victim, case_id=case, occurred_on=reported)
            ),
        )
        await record(
            "investigation",
            "InvestigationOpened",
            clients.investigation.OpenInvestigation(
                vpb.OpenInvestigationRequest(case_id=case, occurred_on=reported)
            ),
        )
        await record(
            "investigation",
            "VictimHeard",
            clients.investigation.HearVictim(
                vpb.HearVictimRequest(case_id=case, victim_id=victim, occurred_on=reported)
            ),
        )
        await record(
            "prosecution",
            "CaseRegistered",
            clients.prosecution.RegisterCase(
                ppb.RegisterCaseRequest(
                    case_id=case, suspect_id=suspect, occurred_on=f"202{1 + n}-09-01"
                )
            ),
        )
        await record(
            "prosecution",
            "ExaminingMagistrateHearingHeld",
            clients.prosecution.HoldExaminingMagistrateHearing(
                ppb.VictimFactRequest(
                    case_id=case, victim_id=victim, occurred_on=f"202{1 + n}-10-01"
                )
            ),
        )

    bodies = await record.check(chain.nats)
    linked = {
        (b["case_id"], b["victim_id"])
        for b in bodies.values()
        if "case_id" in b and "victim_id" in b
    }
    assert linked == {(case, victim) for case in cases}
    track = await clients.intake.GetVictim(ipb.GetVictimRequest(victim_id=victim))
    assert sorted(track.reported_case_ids) == sorted(cases)
    for case in cases:
        summary = await clients.investigation.GetInvestigation(
            vpb.GetInvestigationRequest(case_id=case)
        )
        assert list(summary.heard_victim_ids) == [victim]
