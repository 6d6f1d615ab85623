"""The OM's command line for forgetting parketnummers, talking to a running prosecution service.

    python -m prosecution.adapters.forget_cli sweep --as-of 2026-12-01
    python -m prosecution.adapters.forget_cli order --case-id C --suspect-id S --order-id O

``sweep`` destroys the keys whose retention term has passed on ``--as-of`` (default today);
``order`` is an erasure order for one suspect's proceedings (docs/adr/0020). Where and who:
``--address`` (or ``KETENZICHT_PROSECUTION_ADDRESS``, default the local profile's
127.0.0.1:50053) and ``--token`` (or ``KETENZICHT_TOKEN``, default the local OM token).
Exit status: 0 done, 1 refused.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import uuid
from collections.abc import Sequence
from datetime import date

import grpc

from ketenzicht.prosecution.v1 import prosecution_pb2 as pb
from ketenzicht.prosecution.v1.prosecution_pb2_grpc import ProsecutionServiceStub
from ketenzicht_common.client import connect

DEFAULT_ADDRESS = "127.0.0.1:50053"
DEFAULT_TOKEN = "local-om-token"  # the local profile's (deploy/local/identities.toml)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="prosecution-forget", description="Forget parketnummers: a sweep or an order."
    )
    parser.add_argument(
        "--address", default=os.environ.get("KETENZICHT_PROSECUTION_ADDRESS", DEFAULT_ADDRESS)
    )
    parser.add_argument("--token", default=os.environ.get("KETENZICHT_TOKEN", DEFAULT_TOKEN))
    commands = parser.add_subparsers(dest="command", required=True)
    sweep = commands.add_parser("sweep", help="destroy the keys whose term has passed")
    sweep.add_argument("--as-of", default=date.today().isoformat())
    order = commands.add_parser("order", help="an erasure order for one suspect's proceedings")
    order.add_argument("--case-id", required=True)
    order.add_argument("--suspect-id", required=True)
    order.add_argument("--order-id", required=True)
    order.add_argument("--on", default=date.today().isoformat())
    return parser


async def _run(args: argparse.Namespace) -> str:
    # A fresh command id per call: a second sweep is a new sweep, not a retry.
    command_id = f"forget-cli-{uuid.uuid4().hex}"
    async with connect(args.address, token=args.token) as channel:
        om = ProsecutionServiceStub(channel)
        if args.command == "sweep":
            result = await om.SweepRetention(
                pb.SweepRetentionRequest(command_id=command_id, as_of=args.as_of)
            )
            return f"as of {args.as_of}: {result.forgotten} forgotten, {result.kept} kept"
        await om.ForgetParketnummer(
            pb.ForgetParketnummerRequest(
                command_id=command_id,
                case_id=args.case_id,
                suspect_id=args.suspect_id,
                occurred_on=args.on,
                order_id=args.order_id,
            )
        )
        return f"the parketnummer of {args.case_id}/{args.suspect_id} is forgotten"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        print(asyncio.run(_run(args)))
    except grpc.aio.AioRpcError as error:
        print(f"refused: {error.code().name}: {error.details()}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
