"""The database lock of a kind of work: one holder, released at the end, and a cycle
that outlives its PostgreSQL connection knows it no longer holds it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from baton.api import db
from baton.storage import SqlEventStore
from baton.storage.cycles import LOCK_KEYS, exclusive_cycle
from tests.storage.conftest import account, postgres_url, store, url

__all__ = ["account", "postgres_url", "store", "url"]


async def test_one_holder_at_a_time_and_released_at_the_end(store: SqlEventStore) -> None:
    sql = db.sql_engine(store)
    async with exclusive_cycle(sql, "outbox") as first:
        assert first and await first.still_held()
        async with exclusive_cycle(sql, "outbox") as second:
            assert not second
    async with exclusive_cycle(sql, "outbox") as again:
        assert again


@pytest.mark.postgres
async def test_a_dropped_connection_is_a_lost_lock(postgres_url: str) -> None:
    """No transaction stays open for the cycle (a server's idle-in-transaction timeout
    killed it, and another instance took the lock while this one went on sending)."""
    store = SqlEventStore(postgres_url)
    await store.open()
    try:
        sql = db.sql_engine(store)
        async with exclusive_cycle(sql, "outbox") as mine:
            assert mine
            async with sql.connect() as other:
                holder = (
                    await other.execute(
                        sa.text(
                            "SELECT pid, state FROM pg_locks JOIN pg_stat_activity USING (pid) "
                            "WHERE locktype = 'advisory' AND objid = :key AND database = "
                            "(SELECT oid FROM pg_database WHERE datname = current_database())"
                        ),
                        {"key": LOCK_KEYS["outbox"] & 0xFFFFFFFF},
                    )
                ).one()
                assert holder.state == "idle"  # not "idle in transaction"
                await other.execute(sa.select(sa.func.pg_terminate_backend(holder.pid)))
            assert not await mine.still_held()
            async with exclusive_cycle(sql, "outbox") as taken_over:
                assert taken_over
    finally:
        await store.close()


@pytest.mark.postgres
async def test_a_failed_probe_never_leaves_the_lock_on_a_pooled_connection(
    postgres_url: str,
) -> None:
    """A probe that failed for another reason than a drop (a cancelled query) left the
    session, lock and all, in the pool: no other instance could take the lock again."""
    mine, other = SqlEventStore(postgres_url), SqlEventStore(postgres_url)
    await mine.open()
    await other.open()
    try:
        async with exclusive_cycle(db.sql_engine(mine), "timers") as held:
            assert held

            async def fails() -> bool:
                return False

            held._probe = fails
            assert not await held.still_held()
        async with exclusive_cycle(db.sql_engine(other), "timers") as taken_over:
            assert taken_over
    finally:
        await mine.close()
        await other.close()
