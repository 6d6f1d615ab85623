"""The raw limits of ketenzicht's parts on this machine, measured with the same libraries.

NATS's own limits are measured on a nats-server of the bench's own (`raw_server`): the same
binary as the stack's, on the same machine, in the same run, but unsecured, since they measure
NATS itself. On the stack's server every party has an identity and none may create such
streams (`ketenzicht_common.bus_access`)."""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import nats
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from nats.aio.client import Client

from ketenzicht_common.processes import NatsServer
from ketenzicht_common.streams import ensure_stream, stream_config


@dataclass(frozen=True)
class Rate:
    name: str
    count: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0


BODY = (
    b'{"occurred_on":"2022-01-10","victim_id":"V-0123456789abcdef0123","case_id":'
    b'"case-2022-000123","under_number":false}'
)


@contextmanager
def raw_server() -> Iterator[NatsServer]:
    """An unsecured nats-server with JetStream on file storage, as the stack's stores its
    streams, on a free loopback port; its store in a temporary directory removed afterwards."""
    with tempfile.TemporaryDirectory() as directory:
        server = NatsServer(Path(directory) / "nats", secured=False).start()
        try:
            yield server
        finally:
            server.stop()


async def jetstream_publish(server: NatsServer, count: int) -> Rate:
    """Pipelined publishes with a unique ``Nats-Msg-Id`` each, acks gathered: the relay's
    pattern without the store. On an unsecured server (`raw_server`)."""
    assert not server.secured, "NATS's own limits are measured on the bench's unsecured server"
    nc = await nats.connect(server.url)
    try:
        return await pipelined_publish(
            nc, count, 1, "JetStream publish (nats-py, dedup ids, pipelined)"
        )
    finally:
        await nc.close()


async def pipelined_publish(nc: Client, count: int, replicas: int, name: str) -> Rate:
    """``count`` publishes to a stream ``RAW_BENCH`` of ``replicas`` replicas (made here), with
    a unique ``Nats-Msg-Id`` each, up to 1,000 acks outstanding: the relay's pattern."""
    js = nc.jetstream()
    await ensure_stream(js, stream_config("RAW_BENCH", ["raw.bench.>"], replicas))
    started = time.perf_counter()
    pending = []
    for n in range(count):
        pending.append(
            await js.publish_async(
                "raw.bench.ReportFiled", BODY, headers={"Nats-Msg-Id": f"raw-{n}"}
            )
        )
        if len(pending) >= 1000:
            await asyncio.gather(*pending)
            pending.clear()
    await asyncio.gather(*pending)
    return Rate(name, count, time.perf_counter() - started)


def sqlite_batched_insert(count: int, batch: int = 500) -> Rate:
    with tempfile.TemporaryDirectory() as directory:
        db = sqlite3.connect(Path(directory) / "raw.sqlite")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(
            "CREATE TABLE events (id TEXT PRIMARY KEY, version INTEGER, topic TEXT, state BLOB)"
        )
        started = time.perf_counter()
        for start in range(0, count, batch):
            rows = [
                (uuid.uuid4().hex, 1, "intake:ReportFiled.v1", BODY)
                for _ in range(min(batch, count - start))
            ]
            with db:
                db.executemany("INSERT INTO events VALUES (?, ?, ?, ?)", rows)
        elapsed = time.perf_counter() - started
        db.close()
    return Rate(f"SQLite batched insert ({batch} rows a transaction)", count, elapsed)


class _Report(Aggregate):
    @event("Filed")
    def __init__(self, case_id: str, occurred_on: str) -> None:
        self.case_id = case_id

    @event("Noted")
    def note(self, n: int) -> None:
        self.n = n


def eventsourcing_saves(count: int, events_per_save: int) -> Rate:
    with tempfile.TemporaryDirectory() as directory:
        return timed_saves(
            {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(Path(directory) / "es.sqlite"),
            },
            count,
            events_per_save,
            f"eventsourcing on SQLite, {events_per_save} event(s) a save",
        )


def timed_saves(env: dict[str, str], count: int, events_per_save: int, name: str) -> Rate:
    """``count`` events saved by an eventsourcing Application configured by ``env``, in saves
    of ``events_per_save`` events of one new aggregate each."""
    app: Application[uuid.UUID] = Application(env=env)
    saves = count // events_per_save
    started = time.perf_counter()
    for n in range(saves):
        aggregate = _Report(case_id=f"case-{n}", occurred_on="2022-01-10")
        for k in range(events_per_save - 1):
            aggregate.note(k)
        app.save(aggregate)
    elapsed = time.perf_counter() - started
    app.close()
    return Rate(name, saves * events_per_save, elapsed)


class Limits(Protocol):
    """The raw limits a bench run sets its figures beside, measured in the same run: NATS's
    (on a server or cluster of the bench's own, unsecured, beside the stack) and the store's."""

    @property
    def where(self) -> str:
        """Where NATS's limits were measured, for the report."""

    @property
    def url(self) -> str:
        """A server of the bench's own, unsecured: the raw latency and the bare read use it."""

    @property
    def replicas(self) -> int:
        """The replicas of the streams the stack's services make (and the raw streams get)."""

    async def publish(self, count: int) -> Rate: ...

    def insert(self, count: int) -> Rate: ...

    def saves(self, count: int, events_per_save: int) -> Rate: ...


@dataclass(frozen=True)
class LocalLimits:
    """The default profile's limits: one nats-server (`raw_server`), SQLite."""

    server: NatsServer
    where: str = "on an unsecured nats-server of the bench's, same binary, beside the stack"
    replicas: int = 1

    @property
    def url(self) -> str:
        return self.server.url

    async def publish(self, count: int) -> Rate:
        return await jetstream_publish(self.server, count)

    def insert(self, count: int) -> Rate:
        return sqlite_batched_insert(count)

    def saves(self, count: int, events_per_save: int) -> Rate:
        return eventsourcing_saves(count, events_per_save)
