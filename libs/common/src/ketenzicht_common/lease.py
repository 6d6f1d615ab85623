"""The relay's lease: of the instances of a service that share one event store, exactly one
relay publishes at a time (docs/adr/0026).

On PostgreSQL the lease is a session advisory lock (``pg_try_advisory_lock``) on a connection
of its own, keyed by the service's schema. PostgreSQL holds it for as long as that connection
lives: when the holder dies, even by SIGKILL, the kernel closes its socket, the server ends
the session and the lock is free; a standby, trying every ``interval`` seconds, takes it within
about that time. The holder checks its connection as often, and gives the lease up (stops
publishing) when the check fails — PostgreSQL restarted, or the network between them gone —
since the lock may by then be another's.

A lease guards against two relays doing the same work, not against a wrong result: two relays
that both publish for a moment (a holder that has not yet noticed its lease is gone) publish the
same events with the same ``Nats-Msg-Id``, and JetStream keeps one of each (docs/adr/0015).
SQLite and the in-memory store serve one instance only and need no lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from typing import Any, Protocol

log = logging.getLogger(__name__)


class LeaseLost(Exception):
    """The relay's lease is no longer certainly its own: stop publishing, wait to hold it."""


class Lease(Protocol):
    @property
    def held(self) -> bool: ...

    async def acquire(self) -> None:
        """Return once the lease is held (waiting while another holds it)."""

    def check(self) -> None:
        """Raise `LeaseLost` when the lease is not held."""

    async def release(self) -> None: ...


def lock_key(name: str) -> int:
    """A signed 64-bit advisory lock key for ``name`` (stable across processes and versions)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class PostgresLease:
    """A lease held as a PostgreSQL session advisory lock (see the module docstring)."""

    def __init__(self, dsn: str, name: str, *, interval: float = 1.0) -> None:
        self.dsn = dsn
        self.name = name
        self.key = lock_key(name)
        self.interval = interval
        self._connection: Any = None
        self._held = False
        self._watch: asyncio.Task[None] | None = None

    @property
    def held(self) -> bool:
        return self._held

    def check(self) -> None:
        if not self._held:
            raise LeaseLost(self.name)

    async def acquire(self) -> None:
        waiting_logged = False
        while not self._held:
            try:
                if self._connection is None or self._connection.closed:
                    self._connection = await self._connect()
                cursor = await self._connection.execute(
                    "SELECT pg_try_advisory_lock(%s)", [self.key]
                )
                row = await cursor.fetchone()
                if row and row[0]:
                    self._held = True
                    log.info("lease %s acquired: this instance's relay publishes", self.name)
                    self._watch = asyncio.create_task(self._keep())
                    return
                if not waiting_logged:
                    log.info("lease %s held by another instance: this relay stands by", self.name)
                    waiting_logged = True
            except Exception as error:  # PostgreSQL down or restarting: try again
                log.warning("lease %s: %s", self.name, type(error).__name__)
                await self._close()
            await asyncio.sleep(self.interval)

    async def _connect(self) -> Any:
        import psycopg

        # Keepalives: a holder cut off from PostgreSQL notices within seconds, not at the
        # kernel's default of two hours.
        return await psycopg.AsyncConnection.connect(
            self.dsn,
            autocommit=True,
            connect_timeout=5,
            keepalives=1,
            keepalives_idle=2,
            keepalives_interval=1,
            keepalives_count=3,
            application_name=f"lease {self.name}"[:63],
        )

    async def _keep(self) -> None:
        """Watch the lock's connection while held; a failed check gives the lease up."""
        try:
            while self._held:
                await asyncio.sleep(self.interval)
                async with asyncio.timeout(max(self.interval * 3, 3.0)):
                    await self._connection.execute("SELECT 1")
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.warning("lease %s lost (%s): the relay stops publishing", self.name, error)
            self._held = False
            await self._close()

    async def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()

    async def release(self) -> None:
        self._held = False
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._watch
            self._watch = None
        await self._close()  # closing the session frees the lock
