"""Connecting to NATS in a way that survives the server being down at start and later."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import nats
from nats.aio.client import Client

log = logging.getLogger(__name__)


class _QuietTlsEof(logging.Filter):
    """asyncio warns "returning true from eof_received() has no effect when using ssl" each
    time a TLS connection to a server ends: nats-py's protocol returns true, asyncio's TLS
    transport ignores it, and nothing is wrong. On a cluster over TLS it would be most of the
    log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "eof_received() has no effect when using ssl" not in record.getMessage()


logging.getLogger("asyncio").addFilter(_QuietTlsEof())


async def connect(
    url: str, *, name: str, seed_file: Path | None = None, stop: asyncio.Event | None = None
) -> Client:
    """Connect as the identity whose nkey seed is in ``seed_file`` (`bus_access`), retrying
    until the server answers (or ``stop`` is set). A refused identity is retried too: the
    server may be starting with new accounts. ``url`` may list several servers, comma-separated
    (the nodes of a cluster): the client starts at any that answers and fails over between
    them, and learns the others from the cluster."""
    delay = 0.2
    while True:
        try:
            return await nats.connect(
                servers=servers(url),
                name=name,
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
                connect_timeout=2,
                **({"nkeys_seed": str(seed_file)} if seed_file is not None else {}),
            )
        except Exception as error:
            log.info("NATS at %s not reachable (%s); retrying in %.1fs", url, error, delay)
            if stop is not None and stop.is_set():
                raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)


def servers(url: str) -> list[str]:
    """``KETENZICHT_NATS_URL``'s servers: one URL, or several comma-separated."""
    return [part.strip() for part in url.split(",") if part.strip()]
