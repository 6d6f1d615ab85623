"""Crypto-shredding: a key per (controller, subject) that seals a source identifier, kept apart
from the events and destroyable for real (docs/adr/0020-crypto-shredding-of-source-identifiers.md).

The events are immutable, but the mapping from pseudonyms to source identifiers (the OM's
parketnummer, the police's registration and case numbers) is personal data with a legal end
(`retention`). So an event holds the identifier only sealed: AES-GCM under a data key of its
own subject, with the key id and the nonce in the sealed text. The data keys live in this key
store, wrapped with the controller's master key; destroying a subject's key makes every sealed
copy of its identifier — in the events, the aggregate cache, a backup — unreadable for good.

A lookup by the identifier (an OM system asks "which proceedings have parketnummer X?") cannot
use the identifier, nor an unkeyed hash of it (a short number is found by trying them all). It
uses a blind index: an HMAC of the identifier under a key derived from the master key, stored
beside the subject's data key and destroyed with it. The event store holds no index at all.

Backends: SQLite (one file per controller under the service's data directory, with
``secure_delete`` and a truncating WAL checkpoint after a destruction, so the file no longer
holds the key), PostgreSQL (a table of its own; a destruction deletes the row and VACUUMs the
table; dead tuples, WAL segments and backups may keep the *wrapped* key until recycled, which
is why keys are wrapped: see the ADR) and memory (tests).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import sqlite3
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SEALED_PREFIX = "kz1"
"""Version tag of the sealed text: ``kz1.<key id>.<base64url(nonce | ciphertext | tag)>``."""

_SEALED = re.compile(r"^kz1\.([0-9a-f]{32})\.([A-Za-z0-9_-]+)$")


class Controller(StrEnum):
    """Whose data a key seals: the police's mapping and the OM's have different owners and
    different retention terms (verwerkingsverantwoordelijke)."""

    POLICE = "police"
    OM = "om"


class Forgotten(Exception):
    """The subject's key was destroyed: its source identifier is gone for good."""


@dataclass(frozen=True)
class StoredKey:
    key_id: str
    subject: str
    wrapped: bytes


class KeyBackend(ABC):
    """Where the wrapped data keys and the blind index live. Every method is one transaction."""

    @abstractmethod
    def key_of(self, subject: str) -> StoredKey | None: ...

    @abstractmethod
    def key_by_id(self, key_id: str) -> StoredKey | None: ...

    @abstractmethod
    def add_key(self, key: StoredKey) -> None: ...

    @abstractmethod
    def set_index(self, digest: bytes, subject: str) -> None:
        """Point ``digest`` at ``subject`` (replacing what it pointed at)."""

    @abstractmethod
    def find_index(self, digest: bytes) -> str | None: ...

    @abstractmethod
    def destroy(self, subject: str) -> bool:
        """Delete the subject's key and index entries; True if there was a key."""

    @abstractmethod
    def subjects(self) -> list[str]: ...

    def close(self) -> None:
        return None


class MemoryKeys(KeyBackend):
    def __init__(self) -> None:
        self._keys: dict[str, StoredKey] = {}
        self._index: dict[bytes, str] = {}

    def key_of(self, subject: str) -> StoredKey | None:
        return self._keys.get(subject)

    def key_by_id(self, key_id: str) -> StoredKey | None:
        return next((k for k in self._keys.values() if k.key_id == key_id), None)

    def add_key(self, key: StoredKey) -> None:
        self._keys[key.subject] = key

    def set_index(self, digest: bytes, subject: str) -> None:
        self._index[digest] = subject

    def find_index(self, digest: bytes) -> str | None:
        return self._index.get(digest)

    def destroy(self, subject: str) -> bool:
        self._index = {d: s for d, s in self._index.items() if s != subject}
        return self._keys.pop(subject, None) is not None

    def subjects(self) -> list[str]:
        return sorted(self._keys)


_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS subject_keys ("
    " subject TEXT PRIMARY KEY, key_id TEXT NOT NULL UNIQUE, wrapped BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS blind_index (digest BLOB PRIMARY KEY, subject TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS blind_index_subject ON blind_index (subject)",
)


class SQLiteKeys(KeyBackend):
    """A key store file of its own (never the event store's file).

    ``secure_delete`` makes SQLite overwrite deleted content with zeros instead of leaving it in
    free pages; in WAL mode the zeroed page goes to the WAL first, so a destruction ends with a
    ``wal_checkpoint(TRUNCATE)``: the zeroed page replaces the old one in the database file and
    the WAL (which held the key's earlier frames) is cut to nothing. What the file system keeps
    of truncated blocks is below SQLite: put the file on an encrypted volume (see the ADR).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA secure_delete = ON")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = FULL")
        for statement in _SCHEMA:
            self._db.execute(statement)
        os.chmod(self.path, 0o600)

    def _one(self, sql: str, *args: Any) -> Any:
        with self._lock:
            return self._db.execute(sql, args).fetchone()

    def key_of(self, subject: str) -> StoredKey | None:
        row = self._one(
            "SELECT key_id, subject, wrapped FROM subject_keys WHERE subject=?", subject
        )
        return StoredKey(row[0], row[1], bytes(row[2])) if row else None

    def key_by_id(self, key_id: str) -> StoredKey | None:
        row = self._one("SELECT key_id, subject, wrapped FROM subject_keys WHERE key_id=?", key_id)
        return StoredKey(row[0], row[1], bytes(row[2])) if row else None

    def add_key(self, key: StoredKey) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO subject_keys (subject, key_id, wrapped) VALUES (?, ?, ?)",
                (key.subject, key.key_id, key.wrapped),
            )

    def set_index(self, digest: bytes, subject: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO blind_index (digest, subject) VALUES (?, ?)",
                (digest, subject),
            )

    def find_index(self, digest: bytes) -> str | None:
        row = self._one("SELECT subject FROM blind_index WHERE digest=?", digest)
        return str(row[0]) if row else None

    def destroy(self, subject: str) -> bool:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("DELETE FROM blind_index WHERE subject=?", (subject,))
                gone = self._db.execute("DELETE FROM subject_keys WHERE subject=?", (subject,))
                existed: bool = gone.rowcount > 0
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return existed

    def subjects(self) -> list[str]:
        with self._lock:
            rows = self._db.execute("SELECT subject FROM subject_keys ORDER BY subject").fetchall()
        return [str(r[0]) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._db.close()


class PostgresKeys(KeyBackend):
    """The key tables in their own schema of a PostgreSQL database (ideally not the event
    store's database: a key store restored from the events' backup would undo a destruction).

    A DELETE leaves a dead tuple until VACUUM; VACUUM makes its space reusable but does not
    zero it, and the WAL and any base backup or replica keep the row as it was. So on
    PostgreSQL destruction is: delete the row, VACUUM the tables at once, and rely on the
    wrapping — what lingers is the data key wrapped under the master key, and rotating the
    master key (re-wrapping the live keys, destroying the old master key) ends it everywhere.
    """

    def __init__(self, dsn: str, schema: str) -> None:
        import psycopg
        from psycopg import sql

        self._psycopg = psycopg
        self._sql = sql
        self.dsn = dsn
        self.schema = schema
        self._lock = threading.Lock()
        self._db = self._connect()
        ident = sql.Identifier(schema)
        self._db.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(ident))
        for statement in (
            "CREATE TABLE IF NOT EXISTS {schema}.subject_keys (subject TEXT PRIMARY KEY,"
            " key_id TEXT NOT NULL UNIQUE, wrapped BYTEA NOT NULL)",
            "CREATE TABLE IF NOT EXISTS {schema}.blind_index"
            " (digest BYTEA PRIMARY KEY, subject TEXT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS blind_index_subject ON {schema}.blind_index (subject)",
        ):
            self._run(statement)

    def _connect(self) -> Any:
        # Named, so that an operator sees it in pg_stat_activity; the connect timeout of the
        # event store's (StoreSettings), so a command waits as long while PostgreSQL is down.
        return self._psycopg.connect(
            self.dsn,
            autocommit=True,
            connect_timeout=5,
            application_name=f"ketenzicht-keys-{self.schema}"[:63],
        )

    def _connection(self) -> Any:
        """The connection, opened again if the last use found it closed or broken (PostgreSQL
        restarted): the command that met the broken one was answered UNAVAILABLE, and the one
        after it, or its retry, gets a new connection. Call with the lock held."""
        if self._db.closed or self._db.broken:
            self._db.close()
            self._db = self._connect()
        return self._db

    def _run(self, text: str, *args: Any) -> Any:
        statement = self._sql.SQL(text).format(schema=self._sql.Identifier(self.schema))
        with self._lock:
            return self._connection().execute(statement, args)

    def key_of(self, subject: str) -> StoredKey | None:
        row = self._run(
            "SELECT key_id, subject, wrapped FROM {schema}.subject_keys WHERE subject=%s", subject
        ).fetchone()
        return StoredKey(row[0], row[1], bytes(row[2])) if row else None

    def key_by_id(self, key_id: str) -> StoredKey | None:
        row = self._run(
            "SELECT key_id, subject, wrapped FROM {schema}.subject_keys WHERE key_id=%s", key_id
        ).fetchone()
        return StoredKey(row[0], row[1], bytes(row[2])) if row else None

    def add_key(self, key: StoredKey) -> None:
        self._run(
            "INSERT INTO {schema}.subject_keys (subject, key_id, wrapped) VALUES (%s, %s, %s)",
            key.subject,
            key.key_id,
            key.wrapped,
        )

    def set_index(self, digest: bytes, subject: str) -> None:
        self._run(
            "INSERT INTO {schema}.blind_index (digest, subject) VALUES (%s, %s) "
            "ON CONFLICT (digest) DO UPDATE SET subject = EXCLUDED.subject",
            digest,
            subject,
        )

    def find_index(self, digest: bytes) -> str | None:
        row = self._run(
            "SELECT subject FROM {schema}.blind_index WHERE digest=%s", digest
        ).fetchone()
        return str(row[0]) if row else None

    def destroy(self, subject: str) -> bool:
        with self._lock, (db := self._connection()).transaction():
            ident = self._sql.Identifier(self.schema)
            db.execute(
                self._sql.SQL("DELETE FROM {}.blind_index WHERE subject=%s").format(ident),
                (subject,),
            )
            gone = db.execute(
                self._sql.SQL("DELETE FROM {}.subject_keys WHERE subject=%s").format(ident),
                (subject,),
            )
            existed: bool = gone.rowcount > 0
        # Outside the transaction (VACUUM cannot run in one): the dead tuples' space is freed
        # now rather than whenever autovacuum comes by.
        self._run("VACUUM {schema}.subject_keys")
        self._run("VACUUM {schema}.blind_index")
        return existed

    def subjects(self) -> list[str]:
        rows = self._run("SELECT subject FROM {schema}.subject_keys ORDER BY subject").fetchall()
        return [str(r[0]) for r in rows]

    def close(self) -> None:
        self._db.close()


def new_master_key() -> str:
    """A fresh master key, as the key file holds it (base64 of 32 random bytes)."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


def read_master_key(path: Path, create: bool = False) -> bytes:
    """The controller's master key from its file; ``create`` makes one (the local profile) when
    the file is absent. Production mounts the file from its secret store."""
    if not path.exists():
        if not create:
            raise FileNotFoundError(f"no master key file at {path}")
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(new_master_key() + "\n")
    key = base64.b64decode(path.read_text().strip())
    if len(key) != 32:
        raise ValueError(f"the master key in {path} is not 32 bytes")
    return key


def _derive(master: bytes, purpose: str) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=None, info=purpose.encode()).derive(master)


class SubjectKeys:
    """One controller's keys: seal and open a subject's identifiers, index them for lookup,
    destroy a subject's key.

    Thread-safety: the backends serialise their own calls; a service uses this from its writer
    thread (commands) and its query path, which the command bus runs on the same thread.
    """

    def __init__(self, controller: Controller, master_key: bytes, backend: KeyBackend) -> None:
        self.controller = controller
        self.backend = backend
        self._wrap = AESGCM(_derive(master_key, f"ketenzicht/{controller}/wrap"))
        self._index_key = _derive(master_key, f"ketenzicht/{controller}/blind-index")

    def _aad(self, *parts: str) -> bytes:
        return "\x1f".join((self.controller.value, *parts)).encode()

    def _data_key(self, stored: StoredKey) -> AESGCM:
        raw = self._wrap.decrypt(
            stored.wrapped[:12], stored.wrapped[12:], self._aad(stored.subject, stored.key_id)
        )
        return AESGCM(raw)

    def _key_for(self, subject: str) -> StoredKey:
        stored = self.backend.key_of(subject)
        if stored is None:
            key_id = secrets.token_hex(16)
            nonce = secrets.token_bytes(12)
            raw = AESGCM.generate_key(bit_length=256)
            stored = StoredKey(
                key_id, subject, nonce + self._wrap.encrypt(nonce, raw, self._aad(subject, key_id))
            )
            self.backend.add_key(stored)
        return stored

    def seal(self, subject: str, field: str, value: str) -> str:
        """``value`` sealed under ``subject``'s key (made on first use). ``field`` names what it
        is, bound into the ciphertext so a sealed value cannot be passed off as another field's."""
        stored = self._key_for(subject)
        nonce = secrets.token_bytes(12)
        body = self._data_key(stored).encrypt(
            nonce, value.encode(), self._aad(subject, field, stored.key_id)
        )
        text = base64.urlsafe_b64encode(nonce + body).decode().rstrip("=")
        return f"{SEALED_PREFIX}.{stored.key_id}.{text}"

    def open(self, subject: str, field: str, sealed: str) -> str:
        """The value ``seal`` sealed, or `Forgotten` once the subject's key is destroyed."""
        match = _SEALED.fullmatch(sealed)
        if match is None:
            raise ValueError("not a sealed value")
        key_id, text = match.groups()
        stored = self.backend.key_by_id(key_id)
        if stored is None or stored.subject != subject:
            raise Forgotten(f"the {field} of this subject was forgotten")
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        try:
            value = self._data_key(stored).decrypt(
                raw[:12], raw[12:], self._aad(subject, field, key_id)
            )
        except InvalidTag:
            raise ValueError("the sealed value does not belong to this subject") from None
        return value.decode()

    def digest(self, field: str, value: str) -> bytes:
        """The blind index of a value: an HMAC under the controller's index key."""
        return hmac.new(self._index_key, f"{field}\x1f{value}".encode(), hashlib.sha256).digest()

    def index(self, subject: str, field: str, value: str) -> None:
        self._key_for(subject)  # an index entry never outlives its subject's key
        self.backend.set_index(self.digest(field, value), subject)

    def find(self, field: str, value: str) -> str | None:
        """The subject whose ``field`` was indexed as ``value``, or None (never indexed, or
        forgotten: the two cannot be told apart, which is the point)."""
        return self.backend.find_index(self.digest(field, value))

    def forget(self, subject: str) -> bool:
        """Destroy the subject's key and its index entries. True if a key was destroyed."""
        return self.backend.destroy(subject)

    def subjects(self) -> list[str]:
        """Every subject with a live key (what a retention sweep goes through)."""
        return self.backend.subjects()

    def knows(self, subject: str) -> bool:
        return self.backend.key_of(subject) is not None

    def close(self) -> None:
        self.backend.close()


def open_subject_keys(
    controller: Controller,
    *,
    service: str,
    backend: str,
    data_dir: Path,
    master_key_file: Path | None = None,
    postgres_dsn: str = "",
) -> SubjectKeys:
    """The controller's key store as a service configures it: ``backend`` is the event store's
    (sqlite, postgres or memory); the key store sits beside it, never in it. Each service keeps
    its own (on PostgreSQL a schema of its own, which its role creates and owns): the police's
    keys in intake and in investigation are two stores of one controller."""
    key_file = master_key_file or data_dir / "keys" / f"{controller}.master-key"
    master = read_master_key(key_file, create=master_key_file is None)
    store: KeyBackend
    if backend == "memory":
        store = MemoryKeys()
    elif backend == "postgres":
        store = PostgresKeys(postgres_dsn, f"ketenzicht_keys_{service}_{controller}")
    else:
        store = SQLiteKeys(data_dir / "keys" / f"{controller}.keys.sqlite")
    return SubjectKeys(controller, master, store)


__all__ = [
    "Controller",
    "Forgotten",
    "KeyBackend",
    "MemoryKeys",
    "PostgresKeys",
    "SQLiteKeys",
    "SubjectKeys",
    "new_master_key",
    "open_subject_keys",
    "read_master_key",
]
