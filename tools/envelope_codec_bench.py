"""What the envelope costs per message: a micro-benchmark, not part of the tests or of the bench.

    .venv/bin/python tools/envelope_codec_bench.py [--messages 20000]

Three figures, each for the envelope in headers (envelope version 1, CloudEvents binary mode,
``ce-*`` headers) and in the body (version 2, structured mode, ``Nats-Msg-Id`` the only header):

* publish side: what the relay does per event once the payload validated (the envelope and the
  body it publishes);
* consume side: `contract.check` of one message (envelope read, type, route, payload strict);
* nats-py's read rate of those messages, read back by direct get in batches as the monitor's
  rebuild reads them (`streams.read_stream`) and pushed to a callback as the live consumers get
  them, beside messages whose only header is ``Nats-Msg-Id`` with the payload alone as body,
  on an unsecured nats-server of its own.

Kept apart from ``tools/bench`` on purpose (that one measures the whole chain).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import nats
from nats.aio.msg import Msg
from nats.js.api import StreamConfig

from ketenzicht_common.contract import check
from ketenzicht_common.processes import NatsServer
from ketenzicht_common.streams import read_stream
from ketenzicht_contracts.envelope import Envelope
from ketenzicht_contracts.events.intake import ReportFiled

PAYLOAD = ReportFiled(
    occurred_on=date(2022, 1, 10),
    victim_id="victim-0123456789abcdef",
    case_id="case-0123456789abcdef",
)
ENVELOPE = Envelope(
    event_id=uuid.uuid4(),
    service="intake",
    event_type="ReportFiled",
    version=1,
    occurred_on=date(2022, 1, 10),
    recorded_at=datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC),
    aggregate_id=uuid.uuid4(),
    aggregate_version=3,
    organisation="politie",
    system="police-registration",
    command_id="cmd-0123456789",
    traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    position=42,
    store=str(uuid.uuid4()),
)
STREAM = "KETENZICHT_INTAKE"
SUBJECT = "ketenzicht.intake.ReportFiled"


def encode_headers() -> tuple[dict[str, str], bytes]:
    return ENVELOPE.to_headers(), PAYLOAD.model_dump_json().encode()


def encode_body() -> tuple[dict[str, str], bytes]:
    return ENVELOPE.to_message(PAYLOAD)


def per_call(function: Callable[[], object], n: int) -> float:
    for _ in range(min(n, 2000)):
        function()
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(n):
            function()
        best = min(best, time.perf_counter() - started)
    return best / n * 1e6


async def read_rate(
    url: str, stream: str, messages: list[tuple[dict[str, str], bytes]]
) -> tuple[float, float]:
    """Messages a second nats-py reads: by direct get in batches, and pushed to a callback."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        await js.add_stream(StreamConfig(name=stream, subjects=[f"{stream}.>"], allow_direct=True))
        acks = [
            await js.publish_async(f"{stream}.x", body, headers=headers)
            for headers, body in messages
        ]
        await asyncio.gather(*acks)
        best = 0.0
        for _ in range(3):
            started = time.perf_counter()
            count = 0
            async for _ in read_stream(nc, "$JS.API", stream, 1, len(messages)):
                count += 1
            best = max(best, count / (time.perf_counter() - started))
        # The live consumers' way: a push consumer whose callback nats-py calls per message.
        pushed = 0.0
        for _ in range(3):
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            received = 0

            async def on_message(message: Msg, done: asyncio.Future[None] = done) -> None:
                nonlocal received
                received += 1
                if received == len(messages) and not done.done():
                    done.set_result(None)

            started = time.perf_counter()
            subscription = await js.subscribe(
                f"{stream}.>", cb=on_message, ordered_consumer=True, pending_msgs_limit=-1
            )
            await asyncio.wait_for(done, 120)
            pushed = max(pushed, received / (time.perf_counter() - started))
            await subscription.unsubscribe()
        return best, pushed
    finally:
        await nc.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20000)
    n = parser.parse_args().messages
    formats: dict[str, Callable[[], tuple[dict[str, str], bytes]]] = {"v1 headers": encode_headers}
    if hasattr(Envelope, "to_message"):
        formats["v2 body"] = encode_body
    for name, encode in formats.items():
        headers, body = encode()
        print(
            f"{name}: {len(headers)} header(s), {sum(len(k) + len(v) for k, v in headers.items())}"
            f" header bytes, {len(body)} body bytes"
        )
        print(f"  publish side  (envelope + body)   {per_call(encode, n):6.1f} µs")

        def consume(h: dict[str, str] = headers, b: bytes = body) -> object:
            return check(STREAM, SUBJECT, h, b)

        print(f"  consume side  (contract.check)    {per_call(consume, n):6.1f} µs")
    with tempfile.TemporaryDirectory() as tmp:
        server = NatsServer(Path(tmp) / "nats", secured=False).start()
        try:
            bare_body = PAYLOAD.model_dump_json().encode()

            def bare(i: int) -> tuple[dict[str, str], bytes]:
                return {"Nats-Msg-Id": f"bare-{i}"}, bare_body

            def of(
                encode: Callable[[], tuple[dict[str, str], bytes]], i: int
            ) -> tuple[dict[str, str], bytes]:
                headers, body = encode()
                return headers | {"Nats-Msg-Id": f"m-{i}"}, body

            rates = {"one header, payload body": [bare(i) for i in range(n)]}
            for name, encode in formats.items():
                rates[name] = [of(encode, i) for i in range(n)]
            for number, (name, messages) in enumerate(rates.items()):
                rate, pushed = asyncio.run(read_rate(server.url, f"BENCH{number}", messages))
                print(f"nats-py direct-get read, {name:<26} {rate:8.0f} msg/s {1e6 / rate:6.1f} µs")
                print(
                    f"nats-py push consumer,   {name:<26} {pushed:8.0f} msg/s "
                    f"{1e6 / pushed:6.1f} µs"
                )
        finally:
            server.stop()


if __name__ == "__main__":
    main()
