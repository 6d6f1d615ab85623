"""Connecting to NATS in a way that survives the server being down at start and later."""

from __future__ import annotations

import asyncio
import logging

import nats
from nats.aio.client import Client

log = logging.getLogger(__name__)


async def connect(url: str, *, name: str, stop: asyncio.Event | None = None) -> Client:
    """Connect, retrying until the server answers (or ``stop`` is set)."""
    delay = 0.2
    while True:
        try:
            return await nats.connect(
                servers=[url],
                name=name,
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
                connect_timeout=2,
            )
        except Exception as error:
            log.info("NATS at %s not reachable (%s); retrying in %.1fs", url, error, delay)
            if stop is not None and stop.is_set():
                raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
