"""``make bench PROFILE=cluster``: the bench's figures on the cluster profile (three NATS nodes
over TLS with streams of three replicas, PostgreSQL, TLS on gRPC; `ketenzicht_common.cluster`),
each beside the raw limits of the cluster's parts, measured in the same run:

* NATS: publishes to an R3 stream on a three-node cluster of the bench's own (`raw_cluster`),
  rendered from the same production template as the stack's nodes, with the same CA and
  certificates (routes over mutual TLS, clients over TLS), beside the stack — but without the
  parties' accounts, in which no identity may make a stream of its own (as the default bench
  measures NATS on an unsecured server of its own, `raw.raw_server`);
* PostgreSQL: on the stack's own server (same settings, fsync on), in schemas of the bench's:
  plain psycopg inserts in the shape of eventsourcing's stored events table, 500 rows a
  transaction (the database's own limit), and eventsourcing's PostgreSQL recorder saving
  events exactly as the services' stores are configured (`StoreSettings`: its insert
  function, the table lock that keeps notification ids in commit order).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nats
import psycopg
from psycopg import sql

from ketenzicht_common.cluster import ClusterStack, environment, loopback
from ketenzicht_common.processes import NatsServer
from ketenzicht_common.store import StoreSettings

from .raw import BODY, Rate, pipelined_publish, timed_saves

RAW_SCHEMA = "bench_raw"
ES_SCHEMA = "bench_eventsourcing"


@contextmanager
def cluster_stack() -> Iterator[ClusterStack]:
    """The cluster profile on free loopback ports, its data (CA, secrets, nodes' stores,
    PostgreSQL) in a temporary directory removed afterwards; this process's clients speak TLS
    to it meanwhile (`ClusterStack.caller_env`)."""
    # Not under /tmp's private default mode: PostgreSQL runs as Debian's postgres user when
    # the bench runs as root, and must reach its data directory.
    root = Path(tempfile.mkdtemp(prefix="ketenzicht-bench-cluster-"))
    root.chmod(0o755)
    stack = ClusterStack(loopback(root=root, free_ports=True), log_dir=root / "log")
    try:
        # Its start waits for JetStream with asyncio.run, which cannot run inside the bench's
        # event loop: in a thread of its own (nothing else runs meanwhile).
        with ThreadPoolExecutor(1) as starter:
            starter.submit(stack.start).result()
        with environment(stack.caller_env()):
            yield stack
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class RawCluster:
    nodes: list[NatsServer]
    urls: list[str]


NO_ACCOUNTS = (
    "# The bench's raw cluster: no accounts, every client in the global account, which may\n"
    "# make any stream (the stack's parties may not; NATS's own limits are measured here).\n"
)


@contextmanager
def raw_cluster(tls_dir: Path) -> Iterator[RawCluster]:
    """Three nats-server nodes rendered from the production template (`Topology.nats_conf`)
    on free loopback ports, with the certificates in ``tls_dir`` (the stack's) and no
    accounts; their stores in a temporary directory removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="ketenzicht-bench-raw-") as directory:
        root = Path(directory)
        config_dir = root / "nats-config"
        config_dir.mkdir()
        (config_dir / "no-accounts.conf").write_text(NO_ACCOUNTS)
        topology = loopback(root=root, free_ports=True).replace(
            tls_dir=str(tls_dir), accounts="no-accounts.conf"
        )
        nodes: list[NatsServer] = []
        try:
            for index, node in enumerate(topology.nodes):
                config = config_dir / f"nats-{index + 1}.conf"
                config.write_text(topology.nats_conf(index))
                port = int(node.client_listen.rsplit(":", 1)[1])
                nodes.append(
                    NatsServer(Path(node.store_dir), port=port, config=config, secured=False)
                )
                nodes[-1].start()
            yield RawCluster(nodes, [n.client_url for n in topology.nodes])
        finally:
            for server in nodes:
                server.stop()


async def _jetstream_ready(urls: list[str], timeout: float = 60.0) -> None:
    """Until the cluster answers JetStream requests (its meta leader elected)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            nc = await nats.connect(servers=urls, connect_timeout=2)
            try:
                await nc.jetstream(timeout=2).account_info()
                return
            finally:
                await nc.close()
        except Exception as error:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"the raw cluster's JetStream not ready in {timeout} s"
                ) from error
            await asyncio.sleep(0.5)


def _schema(dsn: str, schema: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
        )
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))


def postgres_batched_insert(dsn: str, count: int, batch: int = 500) -> Rate:
    """Plain psycopg inserts into a table of eventsourcing's stored events' shape (a
    notification id from a sequence, the aggregate's id and version unique, topic, state),
    ``batch`` rows a transaction: the database's own limit, no library on top."""
    _schema(dsn, RAW_SCHEMA)
    with psycopg.connect(dsn) as connection:
        connection.execute(
            f"CREATE TABLE {RAW_SCHEMA}.stored_events ("
            "notification_id bigserial PRIMARY KEY, originator_id uuid NOT NULL, "
            "originator_version bigint NOT NULL, topic text, state bytea, "
            "UNIQUE (originator_id, originator_version))"
        )
        connection.commit()
        statement = (
            f"INSERT INTO {RAW_SCHEMA}.stored_events "
            "(originator_id, originator_version, topic, state) VALUES (%s, %s, %s, %s)"
        )
        started = time.perf_counter()
        for start in range(0, count, batch):
            rows = [
                (uuid.uuid4(), 1, "intake:ReportFiled.v1", BODY)
                for _ in range(min(batch, count - start))
            ]
            with connection.cursor() as cursor:
                cursor.executemany(statement, rows)
            connection.commit()
        elapsed = time.perf_counter() - started
    return Rate(
        f"PostgreSQL insert (psycopg, {batch} rows a transaction, stored-events shape)",
        count,
        elapsed,
    )


def eventsourcing_postgres_saves(dsn: str, count: int, events_per_save: int) -> Rate:
    """eventsourcing's PostgreSQL recorder, configured as the services' stores are."""
    _schema(dsn, ES_SCHEMA)
    env = StoreSettings(
        backend="postgres", postgres_dsn=dsn, postgres_schema=ES_SCHEMA
    ).eventsourcing_env()
    return timed_saves(
        env,
        count,
        events_per_save,
        f"eventsourcing on PostgreSQL, {events_per_save} event(s) a save",
    )


@dataclass
class ClusterLimits:
    """The cluster profile's raw limits (`raw.Limits`): an R3 stream on `raw_cluster`, the
    stack's PostgreSQL."""

    raw: RawCluster
    dsn: str
    """The stack's PostgreSQL, as its superuser (the bench's schemas are its own)."""
    where: str = (
        "on a three-node cluster of the bench's (the production template, the stack's CA, "
        "routes over mutual TLS, clients over TLS, no accounts), beside the stack"
    )
    replicas: int = 3

    @property
    def url(self) -> str:
        return self.raw.urls[0]

    async def publish(self, count: int) -> Rate:
        await _jetstream_ready(self.raw.urls)
        nc = await nats.connect(servers=self.raw.urls)
        try:
            return await pipelined_publish(
                nc, count, self.replicas, "JetStream publish to an R3 stream (TLS, 3 nodes)"
            )
        finally:
            await nc.close()

    def insert(self, count: int) -> Rate:
        return postgres_batched_insert(self.dsn, count)

    def saves(self, count: int, events_per_save: int) -> Rate:
        return eventsourcing_postgres_saves(self.dsn, count, events_per_save)
