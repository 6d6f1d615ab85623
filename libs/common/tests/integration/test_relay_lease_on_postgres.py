"""The relay's lease on PostgreSQL: one holder at a time, free the moment its session ends,
given up by a holder whose session is ended under it."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from ketenzicht_common.lease import LeaseLost, PostgresLease, lock_key

pytestmark = pytest.mark.postgres


async def test_one_instance_holds_the_lease_and_another_takes_it_when_it_is_gone(
    postgres_dsn: str,
) -> None:
    first = PostgresLease(postgres_dsn, "test.relay.a", interval=0.1)
    second = PostgresLease(postgres_dsn, "test.relay.a", interval=0.1)
    await first.acquire()
    waiting = asyncio.create_task(second.acquire())
    await asyncio.sleep(0.5)
    assert first.held
    assert not waiting.done()
    assert not second.held
    with pytest.raises(LeaseLost):
        second.check()

    await first.release()
    async with asyncio.timeout(5):
        await waiting
    assert second.held
    await second.release()


async def test_a_holder_whose_session_is_ended_gives_the_lease_up(postgres_dsn: str) -> None:
    lease = PostgresLease(postgres_dsn, "test.relay.b", interval=0.1)
    await lease.acquire()
    with psycopg.connect(postgres_dsn, autocommit=True) as admin:
        # What a PostgreSQL restart or a cut network does to the holder's session.
        ended = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            ["lease test.relay.b"],
        ).fetchall()
    assert ended == [(True,)]
    async with asyncio.timeout(5):
        while lease.held:
            await asyncio.sleep(0.05)
    # And takes it again once it can.
    async with asyncio.timeout(5):
        await lease.acquire()
    assert lease.held
    await lease.release()


def test_the_lock_key_is_stable_and_differs_per_schema() -> None:
    assert lock_key("ketenzicht.relay.intake") == lock_key("ketenzicht.relay.intake")
    assert lock_key("ketenzicht.relay.intake") != lock_key("ketenzicht.relay.investigation")
    assert -(2**63) <= lock_key("x") < 2**63
