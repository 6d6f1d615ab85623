"""An inbox for test handlers that have no store of their own: a redelivery changes nothing."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from ketenzicht_common.consumer import ReceivedEvent


class SqliteInbox:
    """Remembers which event ids a consumer has handled, so a redelivery changes nothing."""

    def __init__(self, path: str | Path) -> None:
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS inbox (event_id TEXT PRIMARY KEY, subject TEXT NOT NULL,"
            " occurred_on TEXT NOT NULL, body TEXT NOT NULL)"
        )
        self._lock = threading.Lock()

    def accept(self, event: ReceivedEvent) -> bool:
        """Record the event; False when it was handled before."""
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO inbox VALUES (?, ?, ?, ?)",
                (
                    str(event.envelope.event_id),
                    event.subject,
                    event.envelope.occurred_on.isoformat(),
                    event.body.decode(),
                ),
            )
            return cursor.rowcount == 1

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM inbox").fetchone()[0])

    def subjects(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT subject FROM inbox ORDER BY rowid")]

    def close(self) -> None:
        self._db.close()
