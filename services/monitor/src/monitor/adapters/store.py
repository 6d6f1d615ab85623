"""The projection on disk: one snapshot document plus an append-only journal since it.

Files in the monitor's data directory (``<data_dir>/projection/``):

- ``snapshot.json`` — the whole projection as one JSON document (`ChainProjection.snapshot`
  format) and the journal generation it covers up to; replaced atomically (write, fsync, rename).
- ``journal-<generation>.jsonl`` — one compact record per line, appended in group commits.

Loading reads the snapshot and then every journal still present, in generation order; the
projection is idempotent by event id, so a journal that overlaps the snapshot does no harm. A torn
last line (a crash in the middle of an append) is ignored: its message was never acknowledged and
will be delivered again.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from monitor.domain import ChainProjection, FactRecord, record_from_row, record_row, snapshot_of

log = logging.getLogger(__name__)

SNAPSHOT_FILE = "snapshot.json"
_JOURNAL = re.compile(r"^journal-(\d{8})\.jsonl$")


def _journal_name(generation: int) -> str:
    return f"journal-{generation:08d}.jsonl"


def _fsync_directory(directory: Path) -> None:
    # The rename of a replaced snapshot is durable only once the directory entry is synced.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FileProjectionStore:
    """Snapshot and journal files; safe to call from the event loop and one worker thread."""

    def __init__(self, directory: Path, *, fsync_journal: bool = False) -> None:
        self.directory = directory
        self.fsync_journal = fsync_journal
        directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._generation = 0
        self._journal: IO[str] | None = None

    def _journals(self) -> list[tuple[int, Path]]:
        found = []
        for path in self.directory.iterdir():
            match = _JOURNAL.match(path.name)
            if match:
                found.append((int(match.group(1)), path))
        return sorted(found)

    def load(self) -> ChainProjection | None:
        snapshot_path = self.directory / SNAPSHOT_FILE
        journals = self._journals()
        projection: ChainProjection | None = None
        covered = 0
        if snapshot_path.exists():
            document = json.loads(snapshot_path.read_text())
            projection = ChainProjection.restore(document["projection"])
            covered = int(document["generation"])
        if journals:
            projection = projection or ChainProjection()
            for _, path in journals:
                self._replay_journal(path, projection)
        # Never append to a journal that may end in a torn line: start a new generation.
        self._generation = max([covered, *(g for g, _ in journals)]) + 1
        return projection

    @staticmethod
    def _replay_journal(path: Path, projection: ChainProjection) -> None:
        with path.open() as lines:
            for number, line in enumerate(lines, start=1):
                if not line.endswith("\n"):
                    log.warning("ignoring a torn last line in %s", path.name)
                    break
                try:
                    projection.add(record_from_row(json.loads(line)))
                except (ValueError, TypeError):
                    log.warning("ignoring unreadable line %d of %s", number, path.name)

    def append(self, records: Sequence[FactRecord]) -> None:
        lines = "".join(json.dumps(record_row(r), separators=(",", ":")) + "\n" for r in records)
        with self._lock:
            if self._journal is None:
                path = self.directory / _journal_name(self._generation)
                self._journal = path.open("a", encoding="utf-8")
            self._journal.write(lines)
            self._journal.flush()  # in the OS now: survives a crash of this process
            if self.fsync_journal:
                os.fsync(self._journal.fileno())

    def rotate(self) -> int:
        with self._lock:
            if self._journal is not None:
                self._journal.close()
                self._journal = None
            self._generation += 1
            return self._generation

    def write_snapshot(self, records: Sequence[FactRecord], generation: int) -> None:
        document: dict[str, Any] = {"generation": generation, "projection": snapshot_of(records)}
        target = self.directory / SNAPSHOT_FILE
        temporary = self.directory / f"{SNAPSHOT_FILE}.tmp"
        with temporary.open("w", encoding="utf-8") as out:
            json.dump(document, out, separators=(",", ":"))
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
        _fsync_directory(self.directory)
        for old, path in self._journals():
            if old < generation:
                path.unlink(missing_ok=True)

    def close(self) -> None:
        with self._lock:
            if self._journal is not None:
                self._journal.close()
                self._journal = None
