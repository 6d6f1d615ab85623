"""The projection on disk: every fact's compact record, one row each, in a SQLite database.

The file is ``<data_dir>/projection/facts.sqlite3``. Table ``facts`` is keyed by ``event_id``, so
a redelivered event is an ``INSERT OR IGNORE`` that changes nothing; its other columns are the
`FactRecord` fields (``attrs`` as compact JSON, or NULL). Nothing of it is held in memory: a
query reads the rows visible at its cut-off, and the page cache is capped (``cache_mib``), so the
process does not grow with the number of facts.

Durability: WAL with ``synchronous=NORMAL``. A committed transaction is in the WAL, handed to the
OS, before `add` returns: it survives a crash of the process, which is what acknowledging its
messages needs. An OS crash or power cut may lose the last transactions; that is accepted
because the projection can always be rebuilt from the streams (``ketenzicht rebuild``), and
JetStream itself syncs to disk only every two minutes by default. A crash in the middle of a
commit loses the whole group and nothing else; its messages were never acknowledged.

Queries read through their own connection, in whatever thread asks: in WAL mode a reader sees
the database as of its statement's start and neither waits for the writer nor holds it up.

Rebuild: rows go to ``facts_fresh``, a table without any key, so the replay appends (several
times faster than keyed inserts, which land all over the key's B-tree). `switch_to_fresh` then
copies it, sorted and without duplicates, into a new keyed table and puts that in place of
``facts``, in one transaction; commits wait for it (a few seconds at a million facts, well
within the consumers' 30 s acknowledgement wait). What it replaced, the old facts and the
rebuild table, is dropped afterwards (`drop_replaced`), and only then is the write-ahead log
checkpointed: the rebuild is done, and its facts durable, once the switch commits.

There is no index besides the key: an as-of query nearly always reads most rows and sorts them
in memory anyway, and measured here an index on the cut-off columns made a full read twice as
slow and every insert dearer.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import orjson

from monitor.domain import FactRecord
from monitor.domain.projection import AttrValue

log = logging.getLogger(__name__)

DATABASE_FILE = "facts.sqlite3"

# organisation and system (the provenance, for the audit trail) come last: a database made
# before they were kept gets them by ALTER TABLE, in the same place.
_PROVENANCE = ("organisation", "system")
_COLUMNS = (
    "service TEXT NOT NULL, event_type TEXT NOT NULL, occurred INTEGER NOT NULL,"
    " recorded INTEGER NOT NULL, case_id TEXT, victim_id TEXT, suspect_id TEXT, attrs TEXT,"
    " organisation TEXT, system TEXT"
)
_KEYED = f"(event_id TEXT NOT NULL PRIMARY KEY, {_COLUMNS})"
_UNKEYED = f"(event_id TEXT NOT NULL, {_COLUMNS})"
_VALUES = "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
# What a cut-off can see (ChainView applies the cut-off and the corrections exactly): the facts
# dated on or before it, every correction, and a fact dated after it that an amendment known by
# then may move into it (docs/domain.md#corrections). All recorded by `known_by`.
_VISIBLE = (
    "SELECT event_id, service, event_type, occurred, recorded, case_id, victim_id, suspect_id,"
    " attrs FROM facts WHERE recorded <= :known_by AND (occurred <= :on"
    " OR event_type IN ('FactAnnulled', 'FactAmended')"
    " OR event_id IN (SELECT json_extract(attrs, '$.original_event_id') FROM facts"
    " WHERE event_type = 'FactAmended' AND recorded <= :known_by))"
    # ChainView sorts by this too; rows that arrive sorted make that sort a single pass.
    " ORDER BY occurred, recorded, event_id"
)

# The audit trail of a subject: its rows and every correction (docs/domain.md#audit), with
# their provenance. A full scan, as every query here: audits are rare, and an index on the
# subject columns would make every insert dearer.
_CORRECTION_TYPES = "('FactAnnulled', 'FactAmended')"
_ABOUT = (
    "SELECT event_id, service, event_type, occurred, recorded, case_id, victim_id, suspect_id,"
    " attrs, organisation, system FROM facts WHERE case_id = :case_id"
    " OR victim_id IN (SELECT value FROM json_each(:victim_ids))"
    f" OR event_type IN {_CORRECTION_TYPES}"
)


def _encode_attrs(attrs: Mapping[str, AttrValue]) -> str:
    """The attributes as compact JSON text (orjson: a fifth of the standard encoder's time on
    a rebuild's every row; the same JSON, non-ASCII written as UTF-8 rather than escaped)."""
    return orjson.dumps(attrs).decode()


Row = tuple[
    str, str, str, int, int, str | None, str | None, str | None, str | None, str | None, str | None
]


def _row(record: FactRecord) -> Row:
    attrs = record.attrs
    return (
        record.event_id,
        record.service,
        record.event_type,
        record.occurred,
        record.recorded,
        record.case_id,
        record.victim_id,
        record.suspect_id,
        None if attrs is None else _encode_attrs(attrs),
        record.organisation or None,
        record.system or None,
    )


class FreshTable:
    """Appends to a rebuild's table (``facts_fresh``) of the fact database at ``path``, from
    another process than the store's own (a rebuild worker, `replay_checks`): a connection of
    its own, which waits its turn for SQLite's write lock. Only while a rebuild runs: the table
    is made and switched to by `SqliteFactStore`."""

    BUSY_SECONDS = 60.0
    """How long an append waits for the write lock (the store commits in milliseconds)."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, isolation_level=None, timeout=self.BUSY_SECONDS)
        self._db.execute("PRAGMA synchronous=NORMAL")

    def append(self, records: Sequence[FactRecord]) -> None:
        """The records, in one transaction; duplicates are removed when the table takes over."""
        if not records:
            return
        rows = [_row(r) for r in records]
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany(f"INSERT INTO facts_fresh {_VALUES}", rows)
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._db.close()


WAL_AUTOCHECKPOINT_PAGES = 1000
"""SQLite's default: a commit that leaves the write-ahead log this long checkpoints it."""


class SqliteFactStore:
    """The fact records of the live projection; writes from one thread at a time.

    `count` is the number of distinct facts in ``facts``, kept from the inserts' row counts.
    `read` may be called from any thread, also while a write is under way.
    """

    def __init__(self, path: Path, *, cache_mib: int = 32) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        # A fixed ceiling, whatever the number of facts; a larger cache keeps more of the key's
        # B-tree at hand for the random inserts of new event ids.
        self._db.execute(f"PRAGMA cache_size=-{cache_mib * 1024}")
        with self._transaction():
            self._db.execute(f"CREATE TABLE IF NOT EXISTS facts {_KEYED}")
            present = {row[1] for row in self._db.execute("PRAGMA table_info(facts)")}
            for column in _PROVENANCE:
                if column not in present:  # made before provenance was kept: "" until rebuilt
                    self._db.execute(f"ALTER TABLE facts ADD COLUMN {column} TEXT")
            # Left over from a rebuild that a crash interrupted: it never took over; or from
            # one that had, before what it replaced was dropped.
            self._db.execute("DROP TABLE IF EXISTS facts_fresh")
            self._db.execute("DROP TABLE IF EXISTS facts_replaced")
        self.count: int = self._db.execute("SELECT COUNT(*) FROM facts").fetchone()[0]

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        # IMMEDIATE: the write lock is taken (or waited for) at once, never refused halfway.
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise

    def add(self, records: Sequence[FactRecord], *, fresh_too: bool = False) -> int:
        """Store the records in one transaction, also in the rebuild's table when `fresh_too`;
        returns how many were new. Durable against a process crash when this returns."""
        rows = [_row(r) for r in records]
        with self._lock:
            with self._transaction():
                added = self._db.executemany(
                    f"INSERT OR IGNORE INTO facts {_VALUES}", rows
                ).rowcount
                if fresh_too:
                    self._db.executemany(f"INSERT INTO facts_fresh {_VALUES}", rows)
            # Only once committed: a query that sees the new count must find the new rows.
            self.count += added
        return added

    def start_fresh(self) -> None:
        """An empty rebuild table (one left by an earlier attempt is dropped, and what an
        earlier switch replaced, should its `drop_replaced` have failed: the switch renames to
        that name)."""
        with self._lock, self._transaction():
            self._db.execute("DROP TABLE IF EXISTS facts_replaced")
            self._db.execute("DROP TABLE IF EXISTS facts_fresh")
            self._db.execute(f"CREATE TABLE facts_fresh {_UNKEYED}")

    def add_fresh(self, records: Sequence[FactRecord]) -> None:
        """Append records to the rebuild table; duplicates are removed when it takes over."""
        with self._lock, self._transaction():
            self._db.executemany(f"INSERT INTO facts_fresh {_VALUES}", [_row(r) for r in records])

    def switch_to_fresh(self) -> int:
        """Put the rebuild table, without duplicates, in place of ``facts``; returns its count.

        One transaction: a reader sees either the old facts or the new ones. Copying in key order
        appends to the key's B-tree instead of inserting all over it. The old facts and the
        rebuild table stay behind, renamed, for `drop_replaced`, which the caller runs next.
        """
        with self._lock:
            # The commit would checkpoint the log at once, copying the whole new table again:
            # `drop_replaced` does that, after the switch.
            self._db.execute("PRAGMA wal_autocheckpoint=0")
            try:
                with self._transaction():
                    self._db.execute(f"CREATE TABLE facts_next {_KEYED}")
                    count = self._db.execute(
                        "INSERT OR IGNORE INTO facts_next SELECT * FROM facts_fresh"
                        " ORDER BY event_id"
                    ).rowcount
                    self._db.execute("ALTER TABLE facts RENAME TO facts_replaced")
                    self._db.execute("ALTER TABLE facts_next RENAME TO facts")
            finally:
                self._db.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
            self.count = count
        return count

    def drop_replaced(self) -> None:
        """Drop what the last switch replaced (the old facts, the rebuild table), then
        checkpoint the write-ahead log (readers go on meanwhile; commits wait)."""
        with self._lock:
            with self._transaction():
                self._db.execute("DROP TABLE IF EXISTS facts_replaced")
                self._db.execute("DROP TABLE IF EXISTS facts_fresh")
            self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def drop_fresh(self) -> None:
        """Forget an unfinished rebuild."""
        with self._lock, self._transaction():
            self._db.execute("DROP TABLE IF EXISTS facts_fresh")

    def read(self, on: int, known_by: int) -> list[FactRecord]:
        """The records that had occurred on or before day `on` and were recorded by `known_by`
        (epoch µs), in occurrence order, as of the start of this read; with them every
        correction recorded by then and every fact one of those amendments names."""
        # One object per distinct id, category and attribute set instead of one per row: a view
        # of a million facts is held while figures are derived from it, and cached.
        strings: dict[str, str] = {}
        share = strings.setdefault
        parsed: dict[str, Mapping[str, Any]] = {}

        def attrs_of(text: str) -> Mapping[str, Any]:
            found = parsed.get(text)
            if found is None:
                found = parsed[text] = json.loads(text)
            return found

        uri = f"{self.path.resolve().as_uri()}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True)) as db:
            return [
                FactRecord(
                    event_id,
                    share(service, service),
                    share(kind, kind),
                    occurred,
                    recorded,
                    None if case_id is None else share(case_id, case_id),
                    None if victim_id is None else share(victim_id, victim_id),
                    None if suspect_id is None else share(suspect_id, suspect_id),
                    None if attrs is None else attrs_of(attrs),
                )
                for (
                    event_id,
                    service,
                    kind,
                    occurred,
                    recorded,
                    case_id,
                    victim_id,
                    suspect_id,
                    attrs,
                ) in db.execute(_VISIBLE, {"on": on, "known_by": known_by})
            ]

    def read_about(self, case_id: str | None, victim_ids: Sequence[str]) -> list[FactRecord]:
        """The records that name ``case_id`` or one of ``victim_ids``, and every correction,
        with their provenance (the audit trail's input, `monitor.domain.audit_trail`)."""
        uri = f"{self.path.resolve().as_uri()}?mode=ro"
        parameters = {"case_id": case_id, "victim_ids": json.dumps(list(victim_ids))}
        with closing(sqlite3.connect(uri, uri=True)) as db:
            return [
                FactRecord(
                    event_id,
                    service,
                    kind,
                    occurred,
                    recorded,
                    case_id,
                    victim_id,
                    suspect_id,
                    None if attrs is None else json.loads(attrs),
                    organisation or "",
                    system or "",
                )
                for (
                    event_id,
                    service,
                    kind,
                    occurred,
                    recorded,
                    case_id,
                    victim_id,
                    suspect_id,
                    attrs,
                    organisation,
                    system,
                ) in db.execute(_ABOUT, parameters)
            ]

    def close(self) -> None:
        with self._lock:
            self._db.close()
