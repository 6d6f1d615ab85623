"""The monitor's own settings, beside the shared ``ServiceSettings`` (KETENZICHT_GRPC_ADDRESS, …).

Read from ``KETENZICHT_MONITOR_*`` environment variables:

| variable | default | meaning |
|---|---|---|
| ``KETENZICHT_MONITOR_HTTP_ADDRESS`` | ``127.0.0.1:8080`` | JSON API, exports and dashboard |
| ``KETENZICHT_MONITOR_HTTP_ENABLED`` | ``true`` | serve HTTP at all |
| ``KETENZICHT_MONITOR_MIN_GROUP_SIZE`` | ``10`` | smaller groups have their figures withheld |
| ``KETENZICHT_MONITOR_MIN_GROUP_SIZE_FLOOR`` | ``5`` | the lowest threshold an analyst may ask |
| | | for per request (internal work); at most the one above |
| ``KETENZICHT_MONITOR_PREWARM`` | ``true`` | import the statistics library at start, not at |
| | | the first query (it takes seconds) |
| ``KETENZICHT_MONITOR_REBUILD_WORKERS`` | one a core, at most 4 | processes that read, check and |
| | (0 on one core) | store a rebuild's messages (``replay_checks``); 0: the monitor's event |
| | | loop does it all itself |
"""

from __future__ import annotations

import os

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from monitor.application.queries import DEFAULT_MIN_GROUP_SIZE_FLOOR
from monitor.domain import DEFAULT_MIN_GROUP_SIZE


class MonitorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KETENZICHT_MONITOR_")

    http_address: str = "127.0.0.1:8080"
    http_enabled: bool = True
    min_group_size: int = Field(default=DEFAULT_MIN_GROUP_SIZE, ge=1)
    min_group_size_floor: int = Field(default=DEFAULT_MIN_GROUP_SIZE_FLOOR, ge=1)
    consumer_batch_size: int = Field(default=256, ge=1, le=10_000)
    prewarm: bool = True
    rebuild_workers: int = Field(default_factory=lambda: default_rebuild_workers(), ge=0, le=16)


def default_rebuild_workers() -> int:
    """A worker a core, up to four, where there are two cores or more (the event loop only
    waits meanwhile); none on one core, where the event loop reads and checks the rebuild
    itself."""
    cores = os.cpu_count() or 1
    return min(cores, MAX_DEFAULT_REBUILD_WORKERS) if cores >= 2 else 0


MAX_DEFAULT_REBUILD_WORKERS = 4
"""A ceiling for the default, not a measured optimum (measured here on two cores only): each
worker holds about 65 MiB and a NATS connection, and all of them share one nats-server."""
