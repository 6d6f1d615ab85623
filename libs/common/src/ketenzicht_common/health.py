"""Health with reasons: which part of a service makes no progress, and why.

Every service answers the standard gRPC health protocol. Besides the service as a whole and its
gRPC services, it reports named sub-services for the parts that can stall without the process
noticing (``service.serve`` keeps them true every second):

* ``<service>.relay`` — stored events wait to be published and the relay has published nothing
  for a while (NATS unreachable, JetStream not acknowledging);
* ``<service>.consumer.<consumer>`` — a durable consumer keeps failing on the same event;
* whatever the service adds itself (residence: ``residence.feed``, ``residence.upstream.*``).

A warm standby (residence's second instance, docs/adr/0034) is NOT_SERVING as a whole, so that
a balancing client leaves it out (`client.balanced`), with a reason that begins
``standby:`` (`STANDBY`): the report names it a standby, and counts it as no fault.

The protocol carries a status only. The reason travels beside it: as the trailing metadata
``ketenzicht-reason`` of a ``Check`` on a sub-service that is NOT_SERVING, so a standard client
still sees the standard answer. ``List`` (which grpcio's servicer does not implement) names every
sub-service. Reasons hold ids, counts and error classes, never personal data.

    python -m ketenzicht_common.health [--profile deploy/local/stack.toml]
    ketenzicht-stack status

prints each service of a profile, and every part of it that is not serving with the reason.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from .client import open_channel

REASON_KEY = "ketenzicht-reason"
STANDBY = "standby:"
"""How the reason of a warm standby's NOT_SERVING begins: standing by, not failing."""
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def _ascii(reason: str) -> str:
    # gRPC metadata values must be printable ASCII.
    return "".join(c if " " <= c <= "~" else "?" for c in reason)[:1000]


class ExplainedHealth(health.aio.HealthServicer):  # type: ignore[misc]  # grpc_health is untyped
    """grpcio's health servicer, with ``List`` and the reason of each NOT_SERVING part."""

    def __init__(self) -> None:
        super().__init__()
        self.statuses: dict[str, Any] = {"": SERVING}
        self.reasons: dict[str, str] = {}

    async def set(self, service: str, status: Any) -> None:
        self.statuses[service] = status
        await super().set(service, status)

    async def explain(self, service: str, reason: str) -> None:
        """Set a part NOT_SERVING for ``reason``, or SERVING when the reason is empty."""
        self.reasons[service] = reason
        await self.set(service, NOT_SERVING if reason else SERVING)

    async def Check(self, request: Any, context: Any) -> Any:
        response = await super().Check(request, context)
        reason = self.reasons.get(request.service, "")
        if reason:
            context.set_trailing_metadata(((REASON_KEY, _ascii(reason)),))
        return response

    async def List(self, request: Any, context: Any) -> Any:
        return health_pb2.HealthListResponse(
            statuses={
                name: health_pb2.HealthCheckResponse(status=status)
                for name, status in self.statuses.items()
            }
        )


@dataclass(frozen=True)
class ServiceHealth:
    service: str
    address: str
    serving: bool
    not_serving: dict[str, str] = field(default_factory=dict)
    """Each part that is not serving, with its reason."""
    error: str = ""
    """Why the service did not answer at all."""
    standby: str = ""
    """Why this instance stands by (a warm standby: serving as it should, not active)."""


async def health_of(service: str, address: str, timeout: float = 3.0) -> ServiceHealth:
    """What one service says about itself and its parts."""
    async with open_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            listed = await stub.List(health_pb2.HealthListRequest(), timeout=timeout)
            parts = {name: answer.status for name, answer in listed.statuses.items()}
            not_serving: dict[str, str] = {}
            standby = ""
            for name, status in sorted(parts.items()):
                if status == SERVING:
                    continue
                call = stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=timeout)
                await call
                trailing = dict(await call.trailing_metadata() or ())
                reason = str(trailing.get(REASON_KEY, "")) or "not serving"
                if not name and reason.startswith(STANDBY):
                    standby = reason
                else:
                    not_serving[name or service] = reason
        except grpc.aio.AioRpcError as error:
            return ServiceHealth(service, address, False, error=error.code().name)
    return ServiceHealth(service, address, not not_serving, not_serving, standby=standby)


async def stack_health(services: Iterable[tuple[str, str]]) -> list[ServiceHealth]:
    return list(await asyncio.gather(*(health_of(name, address) for name, address in services)))


def report(healths: Iterable[ServiceHealth]) -> list[str]:
    """One line per service, and one per part that is not serving, with its reason."""
    lines: list[str] = []
    for found in healths:
        if found.error:
            lines.append(f"{found.service:<14} NOT ANSWERING ({found.error}) on {found.address}")
            continue
        state = "SERVING" if found.serving else "NOT SERVING"
        if found.standby:
            state += f" as a warm {found.standby}"
        lines.append(f"{found.service:<14} {state}")
        lines += [f"  {part}: {reason}" for part, reason in found.not_serving.items()]
    return lines


def main(argv: list[str] | None = None) -> None:
    from .stack import Profile

    parser = argparse.ArgumentParser(
        prog="python -m ketenzicht_common.health",
        description="Whether each service of a profile makes progress, and why not.",
    )
    parser.add_argument("--profile", type=Path, default=Path("deploy/local/stack.toml"))
    args = parser.parse_args(argv)
    from .cluster import ClusterStack, is_cluster_profile, loopback

    if is_cluster_profile(args.profile):
        cluster = ClusterStack(loopback(args.profile))
        os.environ.update(cluster.caller_env())  # its services speak TLS only
        services = cluster.instance_addresses()
    else:
        services = [(s.name, s.grpc_address) for s in Profile.load(args.profile).services]
    healths = asyncio.run(stack_health(services))
    print("\n".join(report(healths)))
    sys.exit(0 if all(h.serving for h in healths) else 1)


if __name__ == "__main__":
    main()
