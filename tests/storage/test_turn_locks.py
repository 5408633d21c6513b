"""The database's lock of a contact's turns (PostgreSQL): one instance at a time, all of
a process's locks on one connection, nothing left held by a lost or cancelled one."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from baton.storage.engine import store_url
from baton.storage.turn_locks import TurnLocks, contact_key
from tests.storage.conftest import postgres_url

__all__ = ["postgres_url"]

pytestmark = pytest.mark.postgres


def _locks(url: str) -> TurnLocks:
    return TurnLocks(store_url(url), {})


async def _holders(url: str, account: str, contact: str) -> int:
    """Sessions holding the lock of a contact's turns."""
    from sqlalchemy.ext.asyncio import create_async_engine

    key = contact_key(account, contact)
    engine = create_async_engine(store_url(url))
    try:
        async with engine.connect() as conn:
            query = sa.text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND classid::bigint = :high AND objid::bigint = :low AND objsubid = 1 "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
            found = await conn.execute(
                query, {"high": (key >> 32) & 0xFFFFFFFF, "low": key & 0xFFFFFFFF}
            )
            return int(found.scalar_one())
    finally:
        await engine.dispose()


async def test_a_contact_is_one_instances_at_a_time_and_others_run(postgres_url: str) -> None:
    one, two = _locks(postgres_url), _locks(postgres_url)
    order: list[str] = []
    try:
        async with one.hold("acct", "ada"):
            assert await _holders(postgres_url, "acct", "ada") == 1
            waiting = asyncio.create_task(two.hold("acct", "ada").__aenter__())
            async with two.hold("acct", "bob"):  # another contact: at once
                order.append("bob")
            await asyncio.sleep(0.05)
            assert not waiting.done()
            order.append("ada on one")
        await asyncio.wait_for(waiting, 2)
        order.append("ada on two")
        await two._execute(sa.func.pg_advisory_unlock_all())
    finally:
        await one.close()
        await two.close()
    assert order == ["bob", "ada on one", "ada on two"]


async def test_many_turns_share_one_connection(postgres_url: str) -> None:
    locks = _locks(postgres_url)
    try:
        entered = [locks.hold("acct", f"c{n}") for n in range(30)]
        for hold in entered:
            await hold.__aenter__()
        assert locks._engine.pool.checkedout() == 1
        for hold in entered:
            await hold.__aexit__(None, None, None)
    finally:
        await locks.close()


async def test_a_lost_connection_takes_its_locks_and_the_next_turn_reconnects(
    postgres_url: str,
) -> None:
    locks, other = _locks(postgres_url), _locks(postgres_url)
    try:
        async with locks.hold("acct", "ada"):
            assert locks._connection is not None
            pid = (await locks._connection.execute(sa.select(sa.func.pg_backend_pid()))).scalar()
            async with other.hold("acct", "x"):
                assert other._connection is not None
                await other._connection.execute(sa.select(sa.func.pg_terminate_backend(pid)))
            async with other.hold("acct", "ada"):  # the lock went with its session
                pass
        async with locks.hold("acct", "ada"):  # a new connection
            pass
    finally:
        await locks.close()
        await other.close()


async def test_a_cancelled_wait_leaves_no_lock_behind(postgres_url: str) -> None:
    one, two = _locks(postgres_url), _locks(postgres_url)
    try:
        async with one.hold("acct", "ada"):
            waiting = asyncio.create_task(two.hold("acct", "ada").__aenter__())
            await asyncio.sleep(0.05)
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
        assert await _holders(postgres_url, "acct", "ada") == 0  # two holds nothing
        async with two.hold("acct", "ada"):
            assert await _holders(postgres_url, "acct", "ada") == 1
    finally:
        await one.close()
        await two.close()
