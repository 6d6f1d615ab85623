"""The floor pipeline's processes: the project's own plumbing with no-op domain logic.

    python -m ketenzicht_bench.floor_service intake      # bulk gRPC → store → relay
    python -m ketenzicht_bench.floor_service residence   # consumer → store
    python -m ketenzicht_bench.floor_service monitor     # consumer → store

Each is a service process exactly as the chain's are (`ketenzicht_common.service.run`: the
command bus with its group commit, the eventsourcing store, the relay, the gRPC server with its
guard, the durable consumers with their contract check), under the identity of the service it
stands in for, so that it may use that service's streams and feeds on the bus. Only the domain
is gone: the ingest stores one intake event per command (``InformativeInterviewHeld``, a real
contract, so the relay's and the consumers' checks run), and a consumer stores one private
event per event it reads, keyed on the event id as residence's are. What the chain does beyond
this is the cost of its domain; this pipeline is the architecture's own limit (`floor`).
"""

from __future__ import annotations

import asyncio
import sys
import types
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from ketenzicht.common.v1.common_pb2 import CommandAck
from ketenzicht.intake.v1 import intake_pb2 as pb
from ketenzicht.intake.v1 import intake_pb2_grpc
from ketenzicht_common.bus import CommandBus, UnitOfWork
from ketenzicht_common.commands import Command, CommandGateway
from ketenzicht_common.consumer import ReceivedEvent, event_broker, subscribe
from ketenzicht_common.domain import ChainAggregate, ChainCreated, Provenance, stable_id
from ketenzicht_common.errors import NotFound
from ketenzicht_common.grpc_server import Caller
from ketenzicht_common.ingest import bulk_submit
from ketenzicht_common.service import ServiceParts, Wiring, run
from ketenzicht_common.settings import ServiceSettings
from ketenzicht_common.store import ChainApplication, topics_of
from ketenzicht_common.translate import acknowledged
from ketenzicht_contracts.events.base import Pseudonym

INTAKE_DESCRIPTOR = pb.DESCRIPTOR.services_by_name["IntakeService"]
CONSUMERS = ("residence", "monitor")


class Fact(ChainAggregate):
    """One fact, one aggregate: no history to load, no rule to apply."""

    TOPIC = "bench:FloorFact"

    class InformativeInterviewHeld(ChainCreated):
        # An intake event type the contracts register: the relay publishes it on intake's
        # subject and the consumers' contract check accepts it, as any of intake's.
        TOPIC = "intake:InformativeInterviewHeld.v1"
        victim_id: str

        def apply(self, fact: Fact) -> None:
            fact.victim_id = self.victim_id

    def __init__(self) -> None:
        self.victim_id = ""


class Seen(ChainAggregate):
    """What a floor consumer keeps of an event: that it saw it (private, never published)."""

    TOPIC = "bench:FloorSeen"

    class Noted(ChainCreated):
        TOPIC = "bench:FloorSeen.Noted.v1"
        event_id: str

        def apply(self, seen: Seen) -> None:
            seen.event_id = self.event_id

    def __init__(self) -> None:
        self.event_id = ""


class FloorIngest(ChainApplication):
    name = "intake"
    service = "intake"

    def event_topics(self) -> set[str]:
        return topics_of(Fact)


class FloorConsumerApp(ChainApplication):
    name = "floor"
    service = "floor"

    def event_topics(self) -> set[str]:
        return set()  # nothing public: its events stay in its store


class HoldInterview(Command):
    victim_id: Pseudonym


class SeeEvent(Command):
    event_id: str


class FloorIntakeApi:
    """IntakeService's bulk stream and the one unary command it sends; every other RPC of the
    descriptor answers NOT_FOUND."""

    def __init__(self, gateway: CommandGateway) -> None:
        self.gateway = gateway

    async def HoldInformativeInterview(
        self, request: pb.VictimFactRequest, caller: Caller
    ) -> CommandAck:
        async def apply(command: HoldInterview, provenance: Provenance) -> Any:
            def handle(uow: UnitOfWork) -> None:
                uow.add(
                    Fact.start(
                        stable_id("floor", provenance.command_id),
                        Fact.InformativeInterviewHeld,
                        provenance,
                        command.occurred_on,
                        victim_id=command.victim_id,
                    )
                )

            return await self.gateway.submit(command, provenance, handle)

        return await acknowledged(request, HoldInterview, caller, apply)

    def Submit(
        self, requests: AsyncIterator[pb.IntakeCommand], caller: Caller
    ) -> AsyncIterator[pb.IntakeCommandResult]:
        return bulk_submit(self, requests, caller, pb.IntakeCommandResult)

    def __getattr__(self, name: str) -> Callable[[Any, Caller], Awaitable[Any]]:
        async def absent(request: Any, caller: Caller) -> Any:
            raise NotFound(f"the floor pipeline has no {name}")

        return absent


def build_ingest(wiring: Wiring) -> ServiceParts:
    gateway = CommandGateway(wiring.bus, wiring.clock)
    return ServiceParts(
        servicers=[
            (
                intake_pb2_grpc.add_IntakeServiceServicer_to_server,
                FloorIntakeApi(gateway),
                INTAKE_DESCRIPTOR,
            )
        ]
    )


def consumer(reader: str) -> Callable[[Wiring], ServiceParts]:
    def build(wiring: Wiring) -> ServiceParts:
        bus: CommandBus = wiring.bus

        async def handle(event: ReceivedEvent) -> None:
            envelope = event.envelope
            event_id = str(envelope.event_id)
            provenance = Provenance(envelope.organisation or "unknown", "floor", event_id)

            def see(uow: UnitOfWork) -> None:
                seen_id = stable_id("floor-seen", event_id)
                if uow.get(seen_id, Seen) is None:
                    uow.add(
                        Seen.start(
                            seen_id, Seen.Noted, provenance, envelope.occurred_on, event_id=event_id
                        )
                    )

            command = SeeEvent(occurred_on=envelope.occurred_on, event_id=event_id)
            await bus.execute(
                command,
                provenance,
                see,
                types.NoneType,
                prefetch=[stable_id("floor-seen", event_id)],
            )

        async def consume() -> None:
            broker = event_broker(wiring.settings.nats_url, wiring.settings.nats_seed_file)
            subscription = subscribe(
                broker, reader=reader, services=("intake",), handler=handle, concurrency=64
            )
            await broker.start()
            try:
                await asyncio.Event().wait()  # until the service stops and cancels it
            finally:
                await subscription.close()
                await broker.stop()

        return ServiceParts(servicers=[], background=[consume])

    return build


def _application(settings: ServiceSettings) -> ChainApplication:
    return FloorIngest(settings.store)


def _consumer_application(settings: ServiceSettings) -> ChainApplication:
    return FloorConsumerApp(settings.store)


def main(argv: list[str]) -> None:
    role = argv[0] if argv else ""
    if role == "intake":
        run("intake", _application, build_ingest)
    elif role in CONSUMERS:
        run(role, _consumer_application, consumer(role))
    else:
        raise SystemExit(
            f"usage: python -m ketenzicht_bench.floor_service intake|{'|'.join(CONSUMERS)}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
