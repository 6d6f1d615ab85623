"""Contract-shaped chain events for the monitor's integration tests, published the relay's way.

`chain_events` generates a reproducible, pseudonymous chain (victims ``vic-0001``, cases
``case-0001``, …) with every service's events: signals, pilot enrolment and interventions,
reports, police interviews, OM registrations, decisions, hearings, verdicts, and residence
decisions. Payloads are the contract payload models' JSON, in the body beside the envelope
(`Envelope.to_message`), with the event id as ``Nats-Msg-Id`` — exactly what the relay publishes.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import Any

import nats

from ketenzicht_common.bus_access import jetstream_for, provision_feeds
from ketenzicht_common.processes import NatsServer
from ketenzicht_common.streams import ensure_stream, service_stream
from ketenzicht_contracts.envelope import Envelope, stream_for
from ketenzicht_contracts.events import EventPayload
from ketenzicht_contracts.events import intake as i
from ketenzicht_contracts.events import investigation as inv
from ketenzicht_contracts.events import prosecution as p
from ketenzicht_contracts.events import residence as r
from ketenzicht_contracts.events.categories import (
    CorrectionReason,
    CourtInstance,
    DismissalKind,
    ExploitationForm,
    NationalityGroup,
    PoliceRegion,
    ResidencePosition,
    SourceOrganisation,
    VerdictOutcome,
)

SERVICES = ("intake", "investigation", "prosecution", "residence")
AS_OF = "2024-06-30"
"""Every generated fact occurred on or before this date."""
_LAST_DAY = date.fromisoformat(AS_OF)
_NAMESPACE = uuid.UUID("6f1c9a52-0d7e-4b8e-9a43-3f0e4b1d2c10")
_SYSTEMS = {
    "intake": ("politie", "police-registration"),
    "investigation": ("politie", "police-registration"),
    "prosecution": ("om", "om-case-registration"),
    "residence": ("ind", "ind-residence"),
}


@dataclass(frozen=True)
class BusEvent:
    envelope: Envelope
    body: bytes
    subject: str = ""
    """Where it is published: the envelope's subject, or an addressed event's feed."""

    @property
    def event_id(self) -> str:
        return str(self.envelope.event_id)

    def redelivered(self) -> BusEvent:
        """The same event under another Nats-Msg-Id: past JetStream's de-duplication, as a
        relay republishing after the duplicate window would send it."""
        return replace(
            self,
            envelope=self.envelope.model_copy(
                update={"message_id": f"again-{self.envelope.event_id}"}
            ),
        )


class _Chain:
    def __init__(self) -> None:
        self.events: list[BusEvent] = []
        self._positions: dict[str, int] = {}

    def add(self, payload: EventPayload, aggregate: str) -> None:
        if payload.occurred_on > _LAST_DAY:
            return
        service = payload.SERVICE
        position = self._positions.get(service, 0) + 1
        self._positions[service] = position
        event_id = uuid.uuid5(_NAMESPACE, f"{service}/{position}")
        organisation, system = _SYSTEMS[service]
        recorded = datetime.combine(
            payload.occurred_on + timedelta(days=1), clock_time(9), tzinfo=UTC
        )
        envelope = Envelope(
            event_id=event_id,
            service=service,
            event_type=type(payload).__name__,
            version=payload.VERSION,
            occurred_on=payload.occurred_on,
            recorded_at=recorded,
            aggregate_id=uuid.uuid5(_NAMESPACE, aggregate),
            aggregate_version=1,
            organisation=organisation,
            system=system,
            position=position,
        )
        subject = envelope.subject
        if payload.ADDRESSEES:  # a trigger travels on its addressee's feed (the IND's here)
            subject = f"ketenzicht.{service}.triggers.ind.{envelope.event_type}"
        self.events.append(BusEvent(envelope, payload.model_dump_json().encode(), subject))


def _trigger(kind: type[EventPayload], victim: str, case: str, on: date, **extra: object) -> Any:
    """A residence trigger as residence raises it (the fields the feed's contract requires)."""
    key = f"{kind.__name__}|{victim}|{case}|{on.isoformat()}"
    return kind(
        occurred_on=on,
        victim_id=victim,
        case_id=case,
        trigger_id=f"trg-{uuid.uuid5(uuid.NAMESPACE_URL, key).hex[:20]}",
        trigger_key=key,
        rule="R7" if "application_date" in extra else "R11",
        rule_version="2021-09-14",
        reason="test chain",
        **extra,
    )


def chain_events(
    victims: int = 60, *, seed: int = 2024, residence_triggers: bool = False
) -> list[BusEvent]:
    """A chain of `victims` victims, one case each, in the order the services would publish.

    With `residence_triggers`, residence's triggers to the IND too (the application on the report
    day, answered by the permit some days later; the PROSECUTION ground on the summons, answered
    for some), drawn from a random stream of their own so the chain itself stays the same."""
    rng = random.Random(seed)
    extra = random.Random(seed + 1)
    chain = _Chain()
    start = date(2021, 1, 4)
    for n in range(1, victims + 1):
        victim, case, suspect = f"vic-{n:04d}", f"case-{n:04d}", f"sus-{n:04d}"
        t0 = start + timedelta(days=rng.randrange(900))
        chain.add(
            i.SignalRegistered(
                occurred_on=t0,
                victim_id=victim,
                signal_id=f"sig-{n:04d}",
                source_organisation=rng.choice(list(SourceOrganisation)),
                form=rng.choices(
                    [ExploitationForm.SEXUAL, ExploitationForm.LABOUR, ExploitationForm.CRIMINAL],
                    weights=[55, 30, 15],
                )[0],
                minor=rng.random() < 0.2,
                nationality_group=rng.choice(list(NationalityGroup)),
                residence_position=rng.choice(
                    [ResidencePosition.LAWFUL, ResidencePosition.IRREGULAR]
                ),
                region=rng.choice(
                    [PoliceRegion.AMSTERDAM, PoliceRegion.ROTTERDAM, PoliceRegion.LIMBURG]
                ),
            ),
            victim,
        )
        if rng.random() < 0.5:
            chain.add(
                i.PilotEnrolled(
                    occurred_on=t0 + timedelta(days=1),
                    victim_id=victim,
                    cohort=rng.choice(["pilot-2022-a", "pilot-2022-b"]),
                ),
                victim,
            )
            if rng.random() < 0.5:
                chain.add(
                    i.SafetyCoordinatorAssigned(
                        occurred_on=t0 + timedelta(days=3), victim_id=victim
                    ),
                    victim,
                )
        if rng.random() < 0.6:
            chain.add(
                i.InformativeInterviewHeld(occurred_on=t0 + timedelta(days=4), victim_id=victim),
                victim,
            )
        if rng.random() < 0.15:
            continue  # never reports: stays open (or out of sight) for T0-T2
        t2 = t0 + timedelta(days=rng.randint(5, 120))
        chain.add(
            i.ReportFiled(
                occurred_on=t2, victim_id=victim, case_id=case, under_number=rng.random() < 0.1
            ),
            victim,
        )
        chain.add(
            r.ReflectionPeriodGranted(occurred_on=t0 + timedelta(days=2), victim_id=victim), victim
        )
        granted = t2
        if residence_triggers:
            chain.add(
                _trigger(
                    r.TemporaryPermitApplicationIndicated, victim, case, t2, application_date=t2
                ),
                victim,
            )
            granted = t2 + timedelta(days=extra.randint(7, 90))
        chain.add(
            r.TemporaryPermitGranted(
                occurred_on=granted,
                victim_id=victim,
                case_id=case,
                valid_from=t2,
                valid_until=t2 + timedelta(days=365),
            ),
            victim,
        )
        chain.add(inv.InvestigationOpened(occurred_on=t2, case_id=case), case)
        chain.add(
            inv.VictimHeard(
                occurred_on=t2 + timedelta(days=rng.randint(1, 30)),
                case_id=case,
                victim_id=victim,
                with_police_psychologist=rng.random() < 0.3,
            ),
            case,
        )
        t3 = t2 + timedelta(days=rng.randint(40, 260))
        chain.add(
            inv.CaseSubmittedToProsecution(occurred_on=t3, case_id=case, suspect_ids=[suspect]),
            case,
        )
        chain.add(p.CaseRegistered(occurred_on=t3, case_id=case, suspect_id=suspect), case)
        if rng.random() < 0.7:
            chain.add(
                p.ExaminingMagistrateHearingHeld(
                    occurred_on=t3 + timedelta(days=rng.randint(10, 90)),
                    case_id=case,
                    victim_id=victim,
                ),
                case,
            )
        t5 = t3 + timedelta(days=rng.randint(30, 200))
        if rng.random() < 0.3:
            chain.add(
                p.CaseDismissed(
                    occurred_on=t5,
                    case_id=case,
                    suspect_id=suspect,
                    kind=rng.choice(list(DismissalKind)),
                    code="01",
                ),
                case,
            )
            continue
        chain.add(p.SuspectSummoned(occurred_on=t5, case_id=case, suspect_id=suspect), case)
        if residence_triggers:
            ground = r.NonTemporaryGround.PROSECUTION
            chain.add(
                _trigger(r.NonTemporaryPermitIndicated, victim, case, t5, ground=ground), victim
            )
            if extra.random() < 0.6:
                chain.add(
                    r.NonTemporaryPermitGranted(
                        occurred_on=t5 + timedelta(days=extra.randint(20, 150)), victim_id=victim
                    ),
                    victim,
                )
        t6 = t5 + timedelta(days=rng.randint(60, 200))
        chain.add(
            p.CourtHearingHeld(
                occurred_on=t6,
                case_id=case,
                suspect_id=suspect,
                instance=CourtInstance.FIRST_INSTANCE,
            ),
            case,
        )
        t7 = t6 + timedelta(days=rng.randint(14, 120))
        chain.add(
            p.VerdictDelivered(
                occurred_on=t7,
                case_id=case,
                suspect_id=suspect,
                instance=CourtInstance.FIRST_INSTANCE,
                outcome=rng.choices(list(VerdictOutcome), weights=[60, 10, 25, 5])[0],
            ),
            case,
        )
        chain.add(
            p.CaseFinal(
                occurred_on=t7 + timedelta(days=rng.randint(14, 200)),
                case_id=case,
                suspect_id=suspect,
            ),
            case,
        )
    return chain.events


def corrected_case_events() -> tuple[list[BusEvent], list[BusEvent]]:
    """One victim in one case of 2023, and two corrections of its facts recorded on 2024-01-16:
    the report amended from 2023-03-01 to 2023-02-01 (by intake), the verdict annulled (by
    prosecution). T0->T2 is 2023-01-10 -> 2023-03-01 = 50 days as first stated, 22 days
    after the amendment. Returns (facts, corrections)."""
    chain = _Chain()
    victim, case, suspect = "vic-9001", "case-9001", "sus-9001"

    def add(payload: EventPayload, aggregate: str) -> BusEvent:
        chain.add(payload, aggregate)
        return chain.events[-1]

    add(
        i.SignalRegistered(
            occurred_on=date(2023, 1, 10),
            victim_id=victim,
            signal_id="sig-9001",
            source_organisation=SourceOrganisation.POLICE,
            form=ExploitationForm.SEXUAL,
            minor=False,
            nationality_group=NationalityGroup.DUTCH,
            residence_position=ResidencePosition.LAWFUL,
            region=PoliceRegion.AMSTERDAM,
        ),
        victim,
    )
    report = add(
        i.ReportFiled(
            occurred_on=date(2023, 3, 1), victim_id=victim, case_id=case, under_number=False
        ),
        victim,
    )
    add(p.CaseRegistered(occurred_on=date(2023, 5, 1), case_id=case, suspect_id=suspect), case)
    add(p.SuspectSummoned(occurred_on=date(2023, 7, 3), case_id=case, suspect_id=suspect), case)
    add(
        p.CourtHearingHeld(
            occurred_on=date(2023, 9, 1),
            case_id=case,
            suspect_id=suspect,
            instance=CourtInstance.FIRST_INSTANCE,
        ),
        case,
    )
    verdict = add(
        p.VerdictDelivered(
            occurred_on=date(2023, 10, 3),
            case_id=case,
            suspect_id=suspect,
            instance=CourtInstance.FIRST_INSTANCE,
            outcome=VerdictOutcome.CONVICTION_TRAFFICKING,
        ),
        case,
    )
    facts = list(chain.events)
    corrected_on = date(2024, 1, 15)  # recorded the next day at 09:00 UTC
    add(
        i.FactAmended(
            occurred_on=corrected_on,
            victim_id=victim,
            corrected_event_id=report.event_id,
            original_event_id=report.event_id,
            corrected_event_type="ReportFiled",
            correction_reason=CorrectionReason.WRONG_DATE,
            fact_occurred_on=date(2023, 2, 1),
            amended=i.IntakeAmendedFields(under_number=False),
        ),
        victim,
    )
    add(
        p.FactAnnulled(
            occurred_on=corrected_on,
            case_id=case,
            suspect_id=suspect,
            corrected_event_id=verdict.event_id,
            original_event_id=verdict.event_id,
            corrected_event_type="VerdictDelivered",
            correction_reason=CorrectionReason.REGISTERED_IN_ERROR,
            fact_occurred_on=date(2023, 10, 3),
        ),
        case,
    )
    return facts, chain.events[len(facts) :]


def shuffled_with_duplicates(
    events: Sequence[BusEvent], *, seed: int = 7, share: float = 0.3
) -> list[BusEvent]:
    """The events in a random order, with a share of them delivered a second time."""
    rng = random.Random(seed)
    mixed = list(events) + [e.redelivered() for e in events if rng.random() < share]
    rng.shuffle(mixed)
    return mixed


async def publish(bus: NatsServer, events: Iterable[BusEvent]) -> int:
    """Publish onto the services' streams, each as its service (streams and their readers'
    consumers made as the relays make them); returns how many."""
    events = list(events)
    for service in SERVICES:
        nc = await nats.connect(**bus.login(service))
        try:
            js = nc.jetstream(timeout=10)
            await ensure_stream(js, service_stream(service))
            await provision_feeds(js, service)
            acks = []
            for e in events:
                if e.envelope.service == service:
                    headers, body = e.envelope.to_message(e.body)
                    acks.append(
                        await js.publish_async(
                            e.subject or e.envelope.subject, body, headers=headers
                        )
                    )
            await asyncio.gather(*acks)
        finally:
            await nc.close()
    return len(events)


async def wait_until_acknowledged(bus: NatsServer, timeout: float = 30.0) -> None:
    """Until the monitor's durable consumers have acknowledged every message of every stream
    (asked as the monitor, through its feeds)."""
    nc = await nats.connect(**bus.login("monitor"))
    try:
        deadline = time.monotonic() + timeout
        while True:
            behind = []
            for service in SERVICES:
                stream = stream_for(service)
                js = jetstream_for(nc, "monitor", stream)
                last = (await js.stream_info(stream)).state.last_seq
                try:
                    info = await js.consumer_info(stream, f"monitor-{service}")
                    done = info.ack_floor.stream_seq if info.ack_floor else 0
                except nats.js.errors.NotFoundError:
                    done = 0
                if done < last:
                    behind.append(f"{stream} {done}/{last}")
            if not behind:
                return
            if time.monotonic() > deadline:
                raise TimeoutError("monitor still behind: " + ", ".join(behind))
            await asyncio.sleep(0.05)
    finally:
        await nc.close()
