"""The shape every controller's forgetting command line shares (ADR 0020): a ``sweep`` of the
retention terms as of a day, and an ``order`` (an erasure order) for one subject, both over gRPC
to the running service that holds the sealed numbers.

A service's own ``adapters/forget_cli.py`` says which service, which default address and token,
which arguments name its subject, and which RPCs to call (`ForgetCli`); the parsing, the fresh
command id per call, the connection and the exit status are here once.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date

import grpc

from .client import connect


@dataclass(frozen=True)
class ForgetCli:
    prog: str
    description: str
    address_variable: str
    """The environment variable that overrides the default address."""
    default_address: str
    default_token: str
    subject_arguments: tuple[str, ...]
    """The ``order`` subcommand's options that name the subject (e.g. ``case-id``)."""
    sweep: Callable[[grpc.aio.Channel, str, str], Awaitable[str]]
    """(channel, command id, as-of day) -> the line to print."""
    order: Callable[[grpc.aio.Channel, str, argparse.Namespace], Awaitable[str]]
    """(channel, command id, the parsed arguments) -> the line to print."""

    def parser(self) -> argparse.ArgumentParser:
        parser = argparse.ArgumentParser(prog=self.prog, description=self.description)
        parser.add_argument(
            "--address", default=os.environ.get(self.address_variable, self.default_address)
        )
        parser.add_argument(
            "--token", default=os.environ.get("KETENZICHT_TOKEN", self.default_token)
        )
        commands = parser.add_subparsers(dest="command", required=True)
        sweep = commands.add_parser("sweep", help="destroy the keys whose term has passed")
        sweep.add_argument("--as-of", default=date.today().isoformat())
        order = commands.add_parser("order", help="an erasure order for one subject")
        for name in self.subject_arguments:
            order.add_argument(f"--{name}", required=True)
        order.add_argument("--order-id", required=True)
        order.add_argument("--on", default=date.today().isoformat())
        return parser

    async def _run(self, args: argparse.Namespace) -> str:
        # A fresh command id per call: a second sweep is a new sweep, not a retry.
        command_id = f"forget-cli-{uuid.uuid4().hex}"
        async with connect(args.address, token=args.token) as channel:
            if args.command == "sweep":
                return await self.sweep(channel, command_id, args.as_of)
            return await self.order(channel, command_id, args)

    def main(self, argv: Sequence[str] | None = None) -> int:
        """Exit status: 0 done, 1 refused."""
        args = self.parser().parse_args(argv)
        try:
            print(asyncio.run(self._run(args)))
        except grpc.aio.AioRpcError as error:
            print(f"refused: {error.code().name}: {error.details()}", file=sys.stderr)
            return 1
        return 0


__all__ = ["ForgetCli"]
