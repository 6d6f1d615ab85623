"""Residence on the cluster profile: one active instance and a warm standby on one schema.

The standby neither consumes nor settles (the active one notes every fact), refuses the IND's
decisions with UNAVAILABLE (sent again they reach the active one, once), and says so in its
health — NOT_SERVING as a whole with a ``standby:`` reason, which keeps it out of a balancing
client's round robin. SIGKILLed, the active instance's advisory lock frees with its session,
and the standby takes over within seconds: facts registered after the kill are noted by it.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from ketenzicht.intake.v1.intake_pb2_grpc import IntakeServiceStub
from ketenzicht.residence.v1 import residence_pb2 as rpb
from ketenzicht.residence.v1.residence_pb2_grpc import ResidenceServiceStub
from ketenzicht_common.client import connect
from ketenzicht_common.cluster import ClusterStack, loopback
from ketenzicht_common.health import health_of
from ketenzicht_common.processes import ServiceProcess
from ketenzicht_common.testing import TOKENS

from .test_cluster_profile import signal

pytestmark = [pytest.mark.cluster, pytest.mark.e2e, pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def residence_cluster() -> Iterator[ClusterStack]:
    root = Path(tempfile.mkdtemp(prefix="ketenzicht-standby-"))
    root.chmod(0o755)  # PostgreSQL, as Debian's postgres user when root runs the tests
    stack = ClusterStack(loopback(root=root, free_ports=True))
    try:
        with pytest.MonkeyPatch.context() as environment:
            stack.start(services=["intake", "residence"])
            for key, value in stack.caller_env().items():
                environment.setenv(key, value)
            yield stack
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)


async def roles(stack: ClusterStack) -> tuple[ServiceProcess, ServiceProcess]:
    """(the active residence, the standby), once one of each says so."""
    deadline = time.monotonic() + 30
    while True:
        instances = [p for p in stack.instances("residence") if p.process is not None]
        healths = [await health_of(p.label, p.address) for p in instances]
        active = [p for p, h in zip(instances, healths, strict=True) if h.serving and not h.standby]
        standby = [p for p, h in zip(instances, healths, strict=True) if h.serving and h.standby]
        if len(active) == 1 and len(standby) == len(instances) - 1 >= 1:
            return active[0], standby[0]
        assert time.monotonic() < deadline, healths
        await asyncio.sleep(0.2)


async def known(address: str, victim_id: str, timeout: float = 30.0) -> float:
    """Seconds until residence at ``address`` has noted the victim's signal."""
    started = time.monotonic()
    async with connect(address, token=TOKENS["IND"]) as channel:
        stub = ResidenceServiceStub(channel)
        while True:
            try:
                await stub.GetResidencePosition(
                    rpb.GetResidencePositionRequest(victim_id=victim_id), timeout=5
                )
                return time.monotonic() - started
            except grpc.aio.AioRpcError as error:
                if error.code() != grpc.StatusCode.NOT_FOUND:
                    raise
            assert time.monotonic() - started < timeout, "residence never noted the victim"
            await asyncio.sleep(0.2)


async def victims(stack: ClusterStack, numbers: range) -> list[str]:
    async with connect(stack.address("intake"), token=TOKENS["KMAR"]) as channel:
        stub = IntakeServiceStub(channel)
        return [(await stub.RegisterSignal(signal(n), timeout=30)).victim_id for n in numbers]


async def test_the_standby_stands_by_and_takes_over_within_seconds_when_the_active_dies(
    residence_cluster: ClusterStack,
) -> None:
    active, standby = await roles(residence_cluster)
    [first] = await victims(residence_cluster, range(1))
    await known(standby.address, first)  # the standby reads the shared store

    # The standby consumed nothing and refuses the IND's decisions.
    assert (
        "this instance is the active one"
        not in (residence_cluster.log_dir / f"{standby.label}.log").read_text()
    )
    decision = rpb.VictimDecisionRequest(
        command_id="standby-decision-1", victim_id=first, occurred_on="2023-03-02"
    )
    async with connect(standby.address, token=TOKENS["IND"]) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await ResidenceServiceStub(channel).GrantReflectionPeriod(decision, timeout=10)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "standby" in (refused.value.details() or "")
    # Through both addresses the decision reaches the active instance, and is stored once.
    async with connect(residence_cluster.address("residence"), token=TOKENS["IND"]) as channel:
        stub = ResidenceServiceStub(channel)
        acks = [await stub.GrantReflectionPeriod(decision, timeout=10) for _ in range(4)]
    assert len({tuple(a.event_ids) for a in acks}) == 1
    assert acks[0].event_ids

    active.kill()
    killed = time.monotonic()
    new_active = await _taken_over(standby)
    took_over = time.monotonic() - killed
    [later] = await victims(residence_cluster, range(1, 2))
    noted = await known(new_active.address, later)
    print(f"the standby took over {took_over:.1f} s after the kill, noted a fact {noted:.1f} s on")
    assert took_over < 10, f"the standby took {took_over:.1f} s to take over"

    # Started again, the killed instance stands by.
    residence_cluster.restart(active)
    again_active, again_standby = await roles(residence_cluster)
    assert (again_active, again_standby) == (new_active, active)


async def _taken_over(standby: ServiceProcess) -> ServiceProcess:
    deadline = time.monotonic() + 20
    while True:
        health = await health_of(standby.label, standby.address)
        if health.serving and not health.standby:
            return standby
        assert time.monotonic() < deadline, health
        await asyncio.sleep(0.2)
