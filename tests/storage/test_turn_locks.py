"""The database's lock of a contact's turns (PostgreSQL): one instance at a time, all of
a process's locks on one connection, nothing left held by a lost or cancelled one."""

from __future__ import annotations

import asyncio
import contextlib

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

    async def second() -> None:
        async with two.hold("acct", "ada"):
            order.append("ada on two")

    try:
        async with one.hold("acct", "ada"):
            assert await _holders(postgres_url, "acct", "ada") == 1
            waiting = asyncio.create_task(second())
            async with two.hold("acct", "bob"):  # another contact: at once
                order.append("bob")
            await asyncio.sleep(0.1)
            assert not waiting.done()
            order.append("ada on one")
        await asyncio.wait_for(waiting, 5)
    finally:
        await one.close()
        await two.close()
    assert order == ["bob", "ada on one", "ada on two"]


async def test_a_waiting_instance_is_served_in_turn_not_starved(postgres_url: str) -> None:
    """Polling with tries lost to an instance handing the contact from turn to turn within
    a millisecond: the waiting one was refused after its minute."""
    one, two = _locks(postgres_url), _locks(postgres_url)
    order: list[str] = []

    async def busy() -> None:
        for n in range(6):
            async with one.hold("acct", "ada"):
                order.append(f"one {n}")
                await asyncio.sleep(0.05)

    async def late() -> None:
        await asyncio.sleep(0.02)
        async with two.hold("acct", "ada"):
            order.append("two")

    try:
        await asyncio.wait_for(asyncio.gather(busy(), late()), 10)
    finally:
        await one.close()
        await two.close()
    assert order.index("two") <= 2, order  # behind the turn it found, not behind all six


async def test_many_turns_share_one_connection(postgres_url: str) -> None:
    locks = _locks(postgres_url)
    try:
        entered = [locks.hold("acct", f"c{n}") for n in range(30)]
        for hold in entered:
            await hold.__aenter__()
        assert locks._shared_engine.pool.checkedout() == 1
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


async def _turn_in(locks: TurnLocks, contact: str, leaving: asyncio.Event) -> asyncio.Task[None]:
    """A turn of ``contact`` that holds its lock until ``leaving`` is set, started."""

    async def turn() -> None:
        async with locks.hold("acct", contact):
            await leaving.wait()

    task = asyncio.create_task(turn())
    await asyncio.sleep(0.05)
    return task


async def test_a_cancel_as_a_turn_leaves_still_gives_the_lock_back(postgres_url: str) -> None:
    """The unlock waited for the shared connection, and a cancel there skipped it: the
    contact stayed locked for every other instance until the process's connection died."""
    locks = _locks(postgres_url)
    leaving = asyncio.Event()
    try:
        task = await _turn_in(locks, "ada", leaving)
        assert await _holders(postgres_url, "acct", "ada") == 1
        async with locks._using:  # another turn's statement is running
            leaving.set()
            await asyncio.sleep(0.01)  # the turn now waits to unlock
            task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.1)
        assert await _holders(postgres_url, "acct", "ada") == 0
    finally:
        await locks.close()


async def test_cancelling_one_turn_keeps_the_other_turns_locks(postgres_url: str) -> None:
    """A cancel that landed on one turn's statement closed the shared connection, and with
    it every other turn's lock: another instance then took a contact mid-turn."""
    locks = _locks(postgres_url)
    leaving = asyncio.Event()
    try:
        holder = await _turn_in(locks, "ada", leaving)
        session = locks._session
        for _ in range(5):
            other = asyncio.create_task(locks.hold("acct", "bob").__aenter__())
            await asyncio.sleep(0)
            other.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await other
        await asyncio.sleep(0.1)
        assert locks._session == session  # the shared connection was not dropped
        assert await _holders(postgres_url, "acct", "ada") == 1
        assert await _holders(postgres_url, "acct", "bob") == 0  # given back
        leaving.set()
        await holder
    finally:
        await locks.close()
