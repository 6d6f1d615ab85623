"""The OM's command line for forgetting parketnummers, talking to a running prosecution service.

    python -m prosecution.adapters.forget_cli sweep --as-of 2026-12-01
    python -m prosecution.adapters.forget_cli order --case-id C --suspect-id S --order-id O

``sweep`` destroys the keys whose retention term has passed on ``--as-of`` (default today);
``order`` is an erasure order for one suspect's proceedings (docs/adr/0020). Where and who:
``--address`` (or ``KETENZICHT_PROSECUTION_ADDRESS``, default the local profile's
127.0.0.1:50053) and ``--token`` (or ``KETENZICHT_TOKEN``, default the local OM token).
Exit status: 0 done, 1 refused. The police's is ``investigation.adapters.forget_cli``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import grpc

from ketenzicht.prosecution.v1 import prosecution_pb2 as pb
from ketenzicht.prosecution.v1.prosecution_pb2_grpc import ProsecutionServiceStub
from ketenzicht_common.forget_cli import ForgetCli

DEFAULT_ADDRESS = "127.0.0.1:50053"
DEFAULT_TOKEN = "local-om-token"  # the local profile's (deploy/local/identities.toml)


async def _sweep(channel: grpc.aio.Channel, command_id: str, as_of: str) -> str:
    result = await ProsecutionServiceStub(channel).SweepRetention(
        pb.SweepRetentionRequest(command_id=command_id, as_of=as_of)
    )
    return f"as of {as_of}: {result.forgotten} forgotten, {result.kept} kept"


async def _order(channel: grpc.aio.Channel, command_id: str, args: argparse.Namespace) -> str:
    await ProsecutionServiceStub(channel).ForgetParketnummer(
        pb.ForgetParketnummerRequest(
            command_id=command_id,
            case_id=args.case_id,
            suspect_id=args.suspect_id,
            occurred_on=args.on,
            order_id=args.order_id,
        )
    )
    return f"the parketnummer of {args.case_id}/{args.suspect_id} is forgotten"


CLI = ForgetCli(
    prog="prosecution-forget",
    description="Forget parketnummers: a sweep or an order.",
    address_variable="KETENZICHT_PROSECUTION_ADDRESS",
    default_address=DEFAULT_ADDRESS,
    default_token=DEFAULT_TOKEN,
    subject_arguments=("case-id", "suspect-id"),
    sweep=_sweep,
    order=_order,
)


def main(argv: Sequence[str] | None = None) -> int:
    return CLI.main(argv)


if __name__ == "__main__":
    sys.exit(main())
