"""The per-subject keys that seal source identifiers, and what destroying one leaves behind:
nothing readable, in the key store file or anywhere the sealed text was copied (ADR 0020)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import ClassVar

import pytest

from ketenzicht_common.commands import Command
from ketenzicht_common.store import fingerprint
from ketenzicht_common.subject_keys import (
    Controller,
    Forgotten,
    MemoryKeys,
    SQLiteKeys,
    SubjectKeys,
    open_subject_keys,
    read_master_key,
)
from ketenzicht_common.testing.store_scan import clear_forms, scan

NUMBER = "08/123456-22"
SUBJECT = "case-1/suspect-1"


def om_keys(tmp_path: Path) -> SubjectKeys:
    return open_subject_keys(
        Controller.OM, service="prosecution", backend="sqlite", data_dir=tmp_path
    )


def test_a_sealed_number_opens_with_its_subjects_key_only(tmp_path: Path) -> None:
    keys = om_keys(tmp_path)
    sealed = keys.seal(SUBJECT, "parketnummer", NUMBER)
    assert NUMBER not in sealed
    assert sealed.startswith("kz1.")
    assert keys.open(SUBJECT, "parketnummer", sealed) == NUMBER
    # Two seals of one number differ (a fresh nonce each time): equal ciphertexts would tell
    # that two proceedings share a number.
    assert keys.seal(SUBJECT, "parketnummer", NUMBER) != sealed
    # Bound to its subject and field: neither can be swapped.
    with pytest.raises(Forgotten):
        keys.open("case-2/suspect-2", "parketnummer", sealed)
    with pytest.raises(ValueError, match="does not belong"):
        keys.open(SUBJECT, "registration_number", sealed)


def test_the_blind_index_finds_the_subject_and_is_no_unkeyed_hash(tmp_path: Path) -> None:
    keys = om_keys(tmp_path)
    keys.index(SUBJECT, "parketnummer", NUMBER)
    assert keys.find("parketnummer", NUMBER) == SUBJECT
    assert keys.find("parketnummer", "08/123457-22") is None
    # Another deployment (another master key) computes another index: without the key, trying
    # every number finds nothing.
    other = open_subject_keys(
        Controller.OM, service="prosecution", backend="memory", data_dir=tmp_path / "other"
    )
    assert other.digest("parketnummer", NUMBER) != keys.digest("parketnummer", NUMBER)
    # The police's index of the same text is not the OM's.
    master = read_master_key(tmp_path / "keys" / "om.master-key")
    police = SubjectKeys(Controller.POLICE, master, MemoryKeys())
    assert police.digest("parketnummer", NUMBER) != keys.digest("parketnummer", NUMBER)


def test_destroying_a_key_forgets_the_number_and_leaves_no_trace_in_the_key_file(
    tmp_path: Path,
) -> None:
    keys = om_keys(tmp_path)
    sealed = keys.seal(SUBJECT, "parketnummer", NUMBER)
    keys.index(SUBJECT, "parketnummer", NUMBER)
    kept = keys.seal("case-9/suspect-9", "parketnummer", "08/999999-22")
    path = tmp_path / "keys" / "om.keys.sqlite"
    with sqlite3.connect(path) as db:
        (wrapped,) = db.execute(
            "SELECT wrapped FROM subject_keys WHERE subject=?", (SUBJECT,)
        ).fetchone()
        (digest,) = db.execute("SELECT digest FROM blind_index").fetchone()

    assert keys.forget(SUBJECT)
    assert not keys.forget(SUBJECT)  # destroying twice changes nothing
    with pytest.raises(Forgotten):
        keys.open(SUBJECT, "parketnummer", sealed)
    assert keys.find("parketnummer", NUMBER) is None
    assert keys.open("case-9/suspect-9", "parketnummer", kept) == "08/999999-22"

    # secure_delete zeroed the rows, and the WAL that held their frames was cut to nothing:
    # neither the wrapped key, nor the index entry, nor the subject is in any file any more.
    found = scan(
        [tmp_path / "keys"],
        {"wrapped key": [wrapped], "blind index": [digest], "subject": clear_forms(SUBJECT)},
    )
    assert found == []
    wal = path.with_name(path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    keys.close()


def test_the_key_store_is_apart_from_the_events_and_the_master_key_private(
    tmp_path: Path,
) -> None:
    om_keys(tmp_path).close()
    master = tmp_path / "keys" / "om.master-key"
    assert master.stat().st_mode & 0o077 == 0
    assert (tmp_path / "keys" / "om.keys.sqlite").stat().st_mode & 0o077 == 0
    with pytest.raises(FileNotFoundError):
        open_subject_keys(
            Controller.OM,
            service="prosecution",
            backend="sqlite",
            data_dir=tmp_path,
            master_key_file=tmp_path / "mounted" / "absent.key",
        )
    SQLiteKeys(tmp_path / "k.sqlite").close()


class Registered(Command):
    SOURCE_IDENTIFIERS: ClassVar[frozenset[str]] = frozenset({"parketnummer"})
    case_id: str
    parketnummer: str


def test_the_command_logs_fingerprint_leaves_the_source_identifier_out() -> None:
    first = Registered(occurred_on="2022-06-01", case_id="c-1", parketnummer=NUMBER)
    other = Registered(occurred_on="2022-06-01", case_id="c-1", parketnummer="08/000001-22")
    assert fingerprint(first) == fingerprint(other)
    assert fingerprint(first) != fingerprint(
        Registered(occurred_on="2022-06-02", case_id="c-1", parketnummer=NUMBER)
    )
