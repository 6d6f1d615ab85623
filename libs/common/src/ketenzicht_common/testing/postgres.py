"""A throw-away PostgreSQL server from Debian's package, on a private loopback port."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ketenzicht_common.processes import PostgresServer as _PostgresServer


class PostgresServer(_PostgresServer):
    """`processes.PostgresServer` in a temporary directory, removed when it stops, with
    fsync off (the tests' data need not survive a power cut)."""

    def __init__(self) -> None:
        super().__init__(Path(tempfile.mkdtemp(prefix="ketenzicht-pg-")))

    def start(self, settings: Sequence[str] = ("fsync=off",)) -> PostgresServer:
        super().start(settings)
        return self

    def stop(self, mode: str = "fast") -> None:
        try:
            super().stop(mode)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
