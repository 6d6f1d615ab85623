"""No event is lost or published twice to a consumer — proven by stopping and killing things.

Each test runs the real intake process, a real nats-server and a durable faststream consumer
with an inbox keyed on the event id, as any downstream consumer in the chain would have.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from opentelemetry.trace import Tracer

from ketenzicht.common.v1 import common_pb2
from ketenzicht.intake.v1 import intake_pb2 as pb
from ketenzicht.intake.v1.intake_pb2_grpc import IntakeServiceStub
from ketenzicht_common.client import connect
from ketenzicht_common.consumer import ReceivedEvent, event_broker, subscribe
from ketenzicht_common.processes import NatsServer
from ketenzicht_common.testing import TOKENS
from ketenzicht_common.testing.fixtures import ServiceFactory
from ketenzicht_common.testing.inbox import SqliteInbox
from ketenzicht_common.testing.jetstream import event_of, stream_count, stream_messages

pytestmark = pytest.mark.integration

STREAM = "KETENZICHT_INTAKE"


class CountingConsumer:
    """A durable consumer that counts what its handler saw and what its inbox accepted."""

    def __init__(self, bus: NatsServer, inbox_path: Path, tracer: Tracer | None = None) -> None:
        self.inbox = SqliteInbox(inbox_path)
        self.seen: Counter[str] = Counter()
        self.broker = event_broker(bus.url, bus.seed("residence"))
        self.subscription = subscribe(
            self.broker, reader="residence", services=["intake"], handler=self.handle, tracer=tracer
        )

    async def handle(self, event: ReceivedEvent) -> None:
        self.seen[str(event.envelope.event_id)] += 1
        self.inbox.accept(event)

    async def __aenter__(self) -> CountingConsumer:
        await self.broker.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.subscription.close()
        await self.broker.stop()

    async def wait_for(self, count: int, timeout: float = 25.0) -> None:
        # Under the consumer's 30 s ack wait: an event left unacknowledged would not make it.
        deadline = time.monotonic() + timeout
        while self.inbox.count() < count and time.monotonic() < deadline:
            await asyncio.sleep(0.05)


def signal(n: int) -> pb.RegisterSignalRequest:
    return pb.RegisterSignalRequest(
        command_id=f"signal-{n}",
        occurred_on="2023-03-01",
        source_organisation=pb.SOURCE_ORGANISATION_KMAR,
        form=common_pb2.EXPLOITATION_FORM_LABOUR,
        nationality_group=pb.NATIONALITY_GROUP_OTHER_EU,
        residence_position=pb.RESIDENCE_POSITION_LAWFUL,
        region=pb.POLICE_REGION_LIMBURG,
    )


async def register(address: str, numbers: range) -> set[str]:
    async with connect(address, token=TOKENS["KMAR"]) as channel:
        stub = IntakeServiceStub(channel)
        replies = [await stub.RegisterSignal(signal(n)) for n in numbers]
    return {event_id for reply in replies for event_id in reply.ack.event_ids}


async def test_events_accepted_while_nats_is_down_reach_a_durable_consumer_exactly_once(
    nats_server: NatsServer, service_factory: ServiceFactory, tmp_path: Path
) -> None:
    intake = service_factory("intake", nats_server)
    async with CountingConsumer(nats_server, tmp_path / "inbox.sqlite") as consumer:
        before = await register(intake.address, range(5))
        await consumer.wait_for(5)

    nats_server.stop()
    during = await register(intake.address, range(5, 25))  # accepted with NATS down
    nats_server.start()

    async with CountingConsumer(nats_server, tmp_path / "inbox.sqlite") as consumer:
        await consumer.wait_for(25)
        await asyncio.sleep(1.0)  # room for a duplicate to show up, if there were one
        assert consumer.inbox.count() == 25
        assert set(consumer.seen) == during
        assert all(n == 1 for n in consumer.seen.values())
    assert len(before | during) == 25
    assert await stream_count(nats_server, STREAM) == 25


async def test_a_service_killed_between_storing_and_publishing_publishes_once_after_restart(
    nats_factory: Callable[[], NatsServer], service_factory: ServiceFactory, tmp_path: Path
) -> None:
    nats_server = nats_factory()
    nats_server.stop()  # nothing can be published: the event stays in the store only
    data_dir = tmp_path / "intake-data"
    intake = service_factory("intake", nats_server, data_dir=data_dir)
    stored = await register(intake.address, range(3))
    intake.kill()  # SIGKILL, stored but never published

    nats_server.start()
    restarted = service_factory("intake", nats_server, data_dir=data_dir)
    async with CountingConsumer(nats_server, tmp_path / "inbox.sqlite") as consumer:
        await consumer.wait_for(3)
        await asyncio.sleep(0.5)
        assert set(consumer.seen) == stored
        assert all(n == 1 for n in consumer.seen.values())

    # Killed again right after publishing: the restart must not publish anything twice.
    restarted.kill()
    service_factory("intake", nats_server, data_dir=data_dir)
    await asyncio.sleep(1.5)
    assert await stream_count(nats_server, STREAM) == 3


async def test_one_trace_runs_from_the_grpc_call_to_the_consumers_span(
    nats_server: NatsServer, service_factory: ServiceFactory, tmp_path: Path
) -> None:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    intake = service_factory("intake", nats_server, env={"OTEL_TRACES_EXPORTER": "console"})

    with trace.use_span(
        provider.get_tracer("police-system").start_span("register"), end_on_exit=True
    ) as span:
        await register(intake.address, range(1))
    trace_id = format(span.get_span_context().trace_id, "032x")

    async with CountingConsumer(
        nats_server, tmp_path / "inbox.sqlite", tracer=provider.get_tracer("consumer")
    ) as consumer:
        await consumer.wait_for(1)
        await asyncio.sleep(0.3)
    consumer_spans = [s for s in exporter.get_finished_spans() if s.kind == trace.SpanKind.CONSUMER]
    assert consumer_spans, [s.name for s in exporter.get_finished_spans()]
    assert {format(s.context.trace_id, "032x") for s in consumer_spans} == {trace_id}
    # The service's own server span (console exporter) belongs to the same trace.
    assert any(trace_id in line for line in intake.output), intake.output[-5:]


async def test_a_relay_in_a_stream_of_another_store_publishes_its_own_events_from_the_first(
    nats_server: NatsServer, service_factory: ServiceFactory, tmp_path: Path
) -> None:
    first = service_factory("intake", nats_server, data_dir=tmp_path / "first-store")
    await register(first.address, range(3))
    await stream_messages(nats_server, STREAM, at_least=3)
    first.stop()

    # A fresh, empty store against the same stream. Its relay must not take the other store's
    # positions for its own (it would skip its first three events), nor refuse to publish (a
    # message claiming to be of another store would then stop any relay): it finds nothing of
    # its own, publishes all of its events, and says so.
    second = service_factory("intake", nats_server, data_dir=tmp_path / "second-store")
    mine = await register(second.address, range(10, 14))
    messages = await stream_messages(nats_server, STREAM, at_least=7)
    assert len(messages) == 7
    assert {str(event_of(m)[0].event_id) for m in messages[3:]} == mine
    log = (tmp_path / "intake.log").read_text()
    assert "none of the 3 message(s) in KETENZICHT_INTAKE is of this store" in log
