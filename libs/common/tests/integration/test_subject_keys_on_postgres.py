"""The OM's key store on PostgreSQL: the same sealing, lookup and destruction as on SQLite, and
what a destruction leaves in the tables (ADR 0020)."""

from __future__ import annotations

import base64
import uuid

import psycopg
import pytest

from ketenzicht_common.subject_keys import (
    Controller,
    Forgotten,
    PostgresKeys,
    SubjectKeys,
    new_master_key,
)

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


def test_a_destroyed_key_is_gone_from_the_tables_and_the_number_with_it(postgres_dsn: str) -> None:
    schema = f"keys_{uuid.uuid4().hex[:8]}"
    keys = SubjectKeys(
        Controller.OM, base64.b64decode(new_master_key()), PostgresKeys(postgres_dsn, schema)
    )
    sealed = keys.seal("case-1/suspect-1", "parketnummer", "08/123456-22")
    keys.index("case-1/suspect-1", "parketnummer", "08/123456-22")
    keys.seal("case-2/suspect-2", "parketnummer", "08/654321-22")
    assert keys.find("parketnummer", "08/123456-22") == "case-1/suspect-1"
    assert keys.open("case-1/suspect-1", "parketnummer", sealed) == "08/123456-22"

    assert keys.forget("case-1/suspect-1")
    with pytest.raises(Forgotten):
        keys.open("case-1/suspect-1", "parketnummer", sealed)
    assert keys.find("parketnummer", "08/123456-22") is None
    assert keys.subjects() == ["case-2/suspect-2"]
    with psycopg.connect(postgres_dsn, autocommit=True) as db:
        db.execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
        # VACUUM ran: the destroyed row is no tuple any more, live or dead, so no reader of the
        # table (nor a crashed-and-recovered server) can find it. The page may still hold its
        # bytes until they are overwritten, and WAL segments and backups keep the row: that is
        # a data key wrapped under the master key (see the ADR).
        tuples = db.execute(
            "SELECT t_data FROM heap_page_items(get_raw_page(%s, 0)) WHERE t_data IS NOT NULL",
            (f"{schema}.subject_keys",),
        ).fetchall()
        assert len(tuples) == 1
        assert b"case-1/suspect-1" not in bytes(tuples[0][0])
    keys.close()


def test_the_key_store_connects_again_after_its_connection_is_lost(postgres_dsn: str) -> None:
    """PostgreSQL restarted (here: the key store's backend terminated, as a restart does to
    every connection): the one command that meets the dead connection fails as the store being
    unavailable (answered UNAVAILABLE, sent again), and every later one works — an instance
    that lived through the restart must not refuse its commands from then on."""
    schema = f"keys_{uuid.uuid4().hex[:8]}"
    keys = SubjectKeys(
        Controller.OM, base64.b64decode(new_master_key()), PostgresKeys(postgres_dsn, schema)
    )
    sealed = keys.seal("case-1/suspect-1", "parketnummer", "08/123456-22")
    with psycopg.connect(postgres_dsn, autocommit=True) as db:
        terminated = db.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (f"ketenzicht-keys-{schema}",),
        ).fetchall()
    assert terminated == [(True,)]

    failures = 0
    for _ in range(3):
        try:
            assert keys.open("case-1/suspect-1", "parketnummer", sealed) == "08/123456-22"
        except psycopg.OperationalError:
            failures += 1
    assert failures <= 1
    keys.index("case-1/suspect-1", "parketnummer", "08/123456-22")
    assert keys.find("parketnummer", "08/123456-22") == "case-1/suspect-1"
