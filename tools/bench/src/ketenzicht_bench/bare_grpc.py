"""A bare grpc.aio server: one unary method that decodes a ``RegisterSignalRequest`` and
answers a ``RegisterSignalResponse`` of the size intake's is (two pseudonyms, two event ids). No
guard, no command, no store: what one unary call carrying the same bytes as intake's costs
grpcio itself, measured in the same run as intake's (`unary`).

    python -m ketenzicht_bench.bare_grpc      # prints READY bare-grpc grpc=<address>
"""

from __future__ import annotations

import asyncio
import signal
import uuid

import grpc

from ketenzicht.common.v1 import common_pb2
from ketenzicht.intake.v1 import intake_pb2 as pb

SERVICE, METHOD = "ketenzicht.bench.Bare", "Call"
PATH = f"/{SERVICE}/{METHOD}"


_ANSWER = pb.RegisterSignalResponse(
    victim_id=f"V-{'0' * 20}",
    signal_id=f"S-{'0' * 20}",
    ack=common_pb2.CommandAck(event_ids=[str(uuid.UUID(int=1)), str(uuid.UUID(int=2))]),
)
"""What intake answers a RegisterSignal of a new victim, byte for byte the same size."""


async def _call(request: pb.RegisterSignalRequest, context: grpc.aio.ServicerContext) -> object:
    return _ANSWER


async def main() -> None:
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    handler = grpc.unary_unary_rpc_method_handler(
        _call,
        request_deserializer=pb.RegisterSignalRequest.FromString,
        response_serializer=pb.RegisterSignalResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(SERVICE, {METHOD: handler}),)
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"READY bare-grpc grpc=127.0.0.1:{port}", flush=True)
    await stop.wait()
    await server.stop(grace=1)


if __name__ == "__main__":
    asyncio.run(main())
