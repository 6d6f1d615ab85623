"""The floor pipeline: the chain's processes and libraries with no-op domain logic, measured in
the same run as the chain, so the ingest figure stands beside the architecture's own limit.

bulk gRPC (intake's ``Submit``, the guard, the bulk window) → the command bus's group commit →
eventsourcing on SQLite → the relay → JetStream (a secured nats-server of its own, every party
in its own account, as the stack's) → two durable push consumers (as residence and as the
monitor, with the contract check) that each store what they read with eventsourcing. The
processes are `floor_service`'s; they use the project's relay and consumer, so whatever those
put on the wire (the envelope) the floor carries too.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nats.js.errors

from ketenzicht.intake.v1 import intake_pb2 as pb
from ketenzicht.intake.v1.intake_pb2_grpc import IntakeServiceStub
from ketenzicht_common.bus_access import feed
from ketenzicht_common.client import connect
from ketenzicht_common.processes import NatsServer, ServiceProcess, free_port
from ketenzicht_common.testing.fixtures import REPO_ROOT
from ketenzicht_common.testing.jetstream import connect_as
from ketenzicht_contracts.envelope import stream_for

from .floor_service import CONSUMERS
from .raw import Rate

STREAM = stream_for("intake")
POLICE = "local-police-token"


@dataclass
class Floor:
    nats: NatsServer
    processes: list[ServiceProcess]

    @property
    def address(self) -> str:
        return self.processes[0].address


@contextmanager
def floor_pipeline() -> Iterator[Floor]:
    """nats-server and the floor's three processes, their data in a temporary directory."""
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        server = NatsServer(root / "nats").start()
        processes: list[ServiceProcess] = []
        try:
            for role in ("intake", *CONSUMERS):
                env = {
                    "KETENZICHT_GRPC_ADDRESS": f"127.0.0.1:{free_port()}",
                    "KETENZICHT_DATA_DIR": str(root / role),
                    "KETENZICHT_NATS_URL": server.url,
                    "KETENZICHT_NATS_SEED_FILE": str(server.seed(role)),
                    "KETENZICHT_IDENTITIES_FILE": str(REPO_ROOT / "deploy/local/identities.toml"),
                }
                if role != "intake":
                    env["KETENZICHT_RELAY_ENABLED"] = "false"  # they publish nothing
                processes.append(
                    ServiceProcess(
                        role,
                        env,
                        cwd=REPO_ROOT,
                        log_file=root / f"{role}.log",
                        args=["-m", "ketenzicht_bench.floor_service", role],
                    ).start()
                )
            yield Floor(server, processes)
        finally:
            for process in reversed(processes):
                process.stop()
            server.stop()


async def _requests(commands: int) -> AsyncIterator[pb.IntakeCommand]:
    for n in range(commands):
        yield pb.IntakeCommand(
            hold_informative_interview=pb.VictimFactRequest(
                victim_id=f"V-floor{n:013x}", occurred_on="2024-05-01"
            )
        )


async def run_floor(floor: Floor, commands: int) -> Rate:
    """``commands`` over one bulk stream, timed until both consumers have stored every event."""
    started = time.perf_counter()
    refused = 0
    async with connect(floor.address, token=POLICE) as channel:
        async for result in IntakeServiceStub(channel).Submit(_requests(commands)):
            refused += result.HasField("error")
    if refused:
        raise RuntimeError(f"the floor's ingest refused {refused} of {commands} commands")
    await consumed(floor, commands)
    return Rate(
        "the floor pipeline: bulk gRPC → store → relay → JetStream → 2 consumers that store",
        commands,
        time.perf_counter() - started,
    )


async def consumed(floor: Floor, events: int) -> None:
    """Until each consumer's durable consumer has delivered ``events`` and has none pending,
    asked by intake, the stream's owner, in whose account the consumers live."""
    nc = await connect_as(floor.nats, "intake")
    try:
        js = nc.jetstream()
        while True:
            done = 0
            for reader in CONSUMERS:
                try:
                    info = await js.consumer_info(STREAM, feed(reader, STREAM).durable)
                except nats.js.errors.NotFoundError:
                    break
                delivered = info.delivered.stream_seq if info.delivered else 0
                if (delivered or 0) >= events and not info.num_pending and not info.num_ack_pending:
                    done += 1
            if done == len(CONSUMERS):
                return
            await asyncio.sleep(0.02)
    finally:
        await nc.close()
