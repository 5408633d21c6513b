"""One turn at a time per contact across processes, on PostgreSQL.

Within a process the router's ``KeyedLocks`` order a contact's turns. Across instances
on one PostgreSQL database nothing did: two turns of one contact ran at once, the
later append met the version check (``ConcurrentWrite``) and its turn ran again from
the new state, so its Python actions and webhooks ran twice (a QA run: 133 action
calls for 120 turns, three instances taking one contact's messages at once). The
append's check keeps the log right; this lock keeps the world outside it right.

So on PostgreSQL a turn also holds a session-level advisory lock keyed by its contact
(a 64-bit hash of account and contact: two contacts that share a key only wait for each
other). All of a process's turn locks live on **one connection** of their own, in
autocommit: a session holds any number of advisory locks, so a turn that waits minutes
for an LLM costs no connection (one connection per turn in flight would exhaust
PostgreSQL's ``max_connections``, 100 by default, with a few instances of bots that
call LLMs). Taking a lock never blocks that shared connection: ``pg_try_advisory_lock``,
tried again after 2, 4, 8... up to 50 ms while another instance has the contact, for at
most ``WAIT_SECONDS``. Each lock or unlock is one short statement on it, one at a time.

A lost connection takes every lock of its session with it (for turns in flight, the
append's check still guards the log); a statement cancelled midway leaves unknown
whether it took a lock, so the connection is closed then too, rather than keep a lock
no turn will release. The next statement opens a new one.

A SQLite file has one serving process (docs/storage.md); a second process on it (a
``baton tag`` beside ``baton serve``) still meets the append's check and retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import AsyncIterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from baton.domain.errors import StoreUnavailable

#: the longest a turn waits while another instance holds its contact (seconds)
WAIT_SECONDS = 60.0
#: the first pause between tries, and the longest (seconds)
FIRST_PAUSE, LONGEST_PAUSE = 0.002, 0.05


def contact_key(account_id: str, contact_id: str) -> int:
    """The advisory lock key of a contact's turns: a signed 64-bit hash."""
    digest = hashlib.blake2b(f"{account_id}\0{contact_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class TurnLocks:
    """Advisory locks of contacts' turns, all on one connection of the database."""

    def __init__(self, url: sa.URL, connect_args: dict[str, Any]) -> None:
        self._engine: AsyncEngine = create_async_engine(
            url, pool_size=1, max_overflow=0, connect_args=connect_args
        )
        self._connection: AsyncConnection | None = None
        #: bumped when the connection is replaced: a lock taken on an older one is gone
        self._session = 0
        self._using = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def hold(self, account_id: str, contact_id: str) -> AsyncIterator[None]:
        """``async with locks.hold(account, contact):`` runs the block as the only turn
        of that contact on the database."""
        key = contact_key(account_id, contact_id)
        pause = FIRST_PAUSE
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            try:
                taken, session = await self._execute(sa.func.pg_try_advisory_lock(key))
            except Exception:  # the shared connection was lost: once more, on a new one
                taken, session = await self._execute(sa.func.pg_try_advisory_lock(key))
            if taken:
                break
            if time.monotonic() > deadline:
                raise StoreUnavailable(
                    f"another instance has held contact {contact_id}'s turn for over "
                    f"{WAIT_SECONDS:g} s; try again"
                )
            await asyncio.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE)
        try:
            yield
        finally:
            if session == self._session:  # else the lock went with its session
                with contextlib.suppress(Exception):
                    await self._execute(sa.func.pg_advisory_unlock(key), session)

    async def _execute(self, call: Any, session: int | None = None) -> tuple[bool, int]:
        """Run ``SELECT call`` on the shared connection (opened if need be); return its
        answer and the session it ran on. With ``session``, only on that session."""
        async with self._using:
            if session is not None and session != self._session:
                return False, self._session
            if self._connection is None:
                connection = await self._engine.connect()
                self._connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            try:
                answer = (await self._connection.execute(sa.select(call))).scalar_one()
            except BaseException:
                await self._drop()  # lost, or cancelled midway: its locks are unknown
                raise
            return bool(answer), self._session

    async def _drop(self) -> None:
        connection, self._connection = self._connection, None
        self._session += 1
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.invalidate()  # closed: its session's locks go with it
            with contextlib.suppress(Exception):
                await connection.close()

    async def close(self) -> None:
        async with self._using:
            await self._drop()
        await self._engine.dispose()
