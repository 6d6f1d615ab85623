"""The police's command line for forgetting registration numbers, talking to a running
investigation service.

    python -m investigation.adapters.forget_cli sweep --as-of 2026-12-01
    python -m investigation.adapters.forget_cli order --case-id C --order-id O

``sweep`` destroys the keys whose Wpg term has passed on ``--as-of`` (default today), for every
organisation's cases; ``order`` is an erasure order for one case's registration number, by the
organisation that registered it (docs/adr/0020). Where and who: ``--address`` (or
``KETENZICHT_INVESTIGATION_ADDRESS``, default the local profile's 127.0.0.1:50052) and
``--token`` (or ``KETENZICHT_TOKEN``, default the local police token). Exit status: 0 done,
1 refused. The OM's is ``prosecution.adapters.forget_cli``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import grpc

from ketenzicht.investigation.v1 import investigation_pb2 as pb
from ketenzicht.investigation.v1.investigation_pb2_grpc import InvestigationServiceStub
from ketenzicht_common.forget_cli import ForgetCli

DEFAULT_ADDRESS = "127.0.0.1:50052"
DEFAULT_TOKEN = "local-police-token"  # the local profile's (deploy/local/identities.toml)


async def _sweep(channel: grpc.aio.Channel, command_id: str, as_of: str) -> str:
    result = await InvestigationServiceStub(channel).SweepRetention(
        pb.SweepRetentionRequest(command_id=command_id, as_of=as_of)
    )
    return f"as of {as_of}: {result.forgotten} forgotten, {result.kept} kept"


async def _order(channel: grpc.aio.Channel, command_id: str, args: argparse.Namespace) -> str:
    await InvestigationServiceStub(channel).ForgetRegistrationNumber(
        pb.ForgetRegistrationNumberRequest(
            command_id=command_id,
            case_id=args.case_id,
            occurred_on=args.on,
            order_id=args.order_id,
        )
    )
    return f"the police registration number of {args.case_id} is forgotten"


CLI = ForgetCli(
    prog="investigation-forget",
    description="Forget police registration numbers: a sweep or an order.",
    address_variable="KETENZICHT_INVESTIGATION_ADDRESS",
    default_address=DEFAULT_ADDRESS,
    default_token=DEFAULT_TOKEN,
    subject_arguments=("case-id",),
    sweep=_sweep,
    order=_order,
)


def main(argv: Sequence[str] | None = None) -> int:
    return CLI.main(argv)


if __name__ == "__main__":
    sys.exit(main())
