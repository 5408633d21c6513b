"""One turn at a time per contact across processes, on PostgreSQL.

Within a process the router's ``KeyedLocks`` order a contact's turns. Across instances
on one PostgreSQL database nothing did: two turns of one contact ran at once, the
later append met the version check (``ConcurrentWrite``) and its turn ran again from
the new state, so its Python actions and webhooks ran twice (a QA run: 133 action
calls for 120 turns, three instances taking one contact's messages at once). The
append's check keeps the log right; this lock keeps the world outside it right.

So on PostgreSQL a turn also holds a session-level advisory lock keyed by its contact
(a 64-bit hash of account and contact: two contacts that share a key only wait for each
other):

- **Uncontended** (nearly always), the lock lives on **one connection** shared by the
  process's turns, in autocommit: a session holds any number of advisory locks, so a
  turn that waits minutes for an LLM costs no connection (one per turn in flight would
  exhaust PostgreSQL's ``max_connections``, 100 by default, with a few instances of
  bots that call LLMs). A turn takes it with ``pg_try_advisory_lock``, one short
  statement, as is the unlock. Statements run one at a time, each bounded
  (``STATEMENT_SECONDS``: a half-open connection after a failover must not stall every
  turn), and in a task of their own: a turn cancelled meanwhile (a client gone, a
  shutdown) neither interrupts one, which would leave unknown whether it took a lock,
  nor skips its unlock; a lock taken for a turn cancelled while it waited is given back.
  Only a real error drops the shared connection, and its session's locks with it.
- **Contended** (another instance has the contact), the turn waits in PostgreSQL's own
  queue, first come first served, with ``pg_advisory_lock`` on a connection of a small
  pool of its own, and holds the lock there for the turn: polling with tries lost to an
  instance that hands the contact from turn to turn within a millisecond. A wait longer
  than ``WAIT_SECONDS`` runs the turn without the lock, logged: the append's check still
  guards the log, and a message is not refused (Twilio does not retry a 500).

A SQLite file has one serving process (docs/storage.md); a second process on it (a
``baton tag`` beside ``baton serve``) still meets the append's check and retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

log = logging.getLogger(__name__)

#: the longest a turn waits in the queue of a contact another instance holds (seconds)
WAIT_SECONDS = 60.0
#: the longest one statement on the shared connection may take (seconds)
STATEMENT_SECONDS = 10.0
#: connections for turns waiting on a contended contact, kept and at most
WAITING_POOL, WAITING_OVERFLOW = 1, 9


def contact_key(account_id: str, contact_id: str) -> int:
    """The advisory lock key of a contact's turns: a signed 64-bit hash."""
    digest = hashlib.blake2b(f"{account_id}\0{contact_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class TurnLocks:
    """Advisory locks of contacts' turns: one shared connection, a queue when contended."""

    def __init__(self, url: sa.URL, connect_args: dict[str, Any]) -> None:
        self._shared_engine: AsyncEngine = create_async_engine(
            url,
            pool_size=1,
            max_overflow=0,
            connect_args={**connect_args, "command_timeout": STATEMENT_SECONDS},
        )
        settings = {"lock_timeout": str(int(WAIT_SECONDS * 1000))}
        self._waiting_engine: AsyncEngine = create_async_engine(
            url,
            pool_size=WAITING_POOL,
            max_overflow=WAITING_OVERFLOW,
            pool_pre_ping=True,
            connect_args={
                **connect_args,
                "command_timeout": WAIT_SECONDS + STATEMENT_SECONDS,
                "server_settings": settings,
            },
        )
        self._connection: AsyncConnection | None = None
        #: bumped when the shared connection is replaced: a lock taken on an older one is gone
        self._session = 0
        self._using = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()

    @contextlib.asynccontextmanager
    async def hold(self, account_id: str, contact_id: str) -> AsyncIterator[None]:
        """``async with locks.hold(account, contact):`` runs the block as the only turn
        of that contact on the database."""
        key = contact_key(account_id, contact_id)
        trying = self._spawn(self._try(key))
        try:
            taken, session = await asyncio.shield(trying)
        except asyncio.CancelledError:
            trying.add_done_callback(lambda done: self._give_back(done, key))
            raise
        if taken:
            try:
                yield
            finally:
                await asyncio.shield(self._spawn(self._unlock(key, session)))
            return
        async with self._queued(key, contact_id):
            yield

    @contextlib.asynccontextmanager
    async def _queued(self, key: int, contact_id: str) -> AsyncIterator[None]:
        """Wait for the contact in PostgreSQL's queue, on a connection of its own, and hold
        the lock there for the block; past ``WAIT_SECONDS``, run the block without it."""
        async with self._waiting_engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            locked = False
            try:
                await conn.execute(sa.select(sa.func.pg_advisory_lock(key)))
                locked = True
            except BaseException as error:
                with contextlib.suppress(Exception):  # a granted lock goes with the session
                    await conn.invalidate()
                if not isinstance(error, Exception):  # a cancel goes on
                    raise
                log.warning(
                    "contact %s: no turn lock after %.0f s (%s); running the turn without "
                    "it, the append's version check guards the log",
                    contact_id,
                    WAIT_SECONDS,
                    type(error).__name__,
                )
            if not locked:
                yield
                return
            try:
                yield
            finally:
                try:
                    await conn.execute(sa.select(sa.func.pg_advisory_unlock(key)))
                except BaseException:
                    with contextlib.suppress(Exception):
                        await conn.invalidate()  # closed: the lock goes with its session
                    raise

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """A task the turn's cancel does not reach (kept until done)."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _give_back(self, trying: asyncio.Task[Any], key: int) -> None:
        """A try whose turn was cancelled while it ran: unlock what it took."""
        if trying.cancelled() or trying.exception() is not None:
            return
        taken, session = trying.result()
        if taken:
            self._spawn(self._unlock(key, session))

    async def _try(self, key: int) -> tuple[bool, int]:
        try:
            return await self._execute(sa.func.pg_try_advisory_lock(key))
        except Exception:  # the shared connection was lost: once more, on a new one
            return await self._execute(sa.func.pg_try_advisory_lock(key))

    async def _unlock(self, key: int, session: int) -> None:
        with contextlib.suppress(Exception):  # a lost session took the lock with it
            await self._execute(sa.func.pg_advisory_unlock(key), session)

    async def _execute(self, call: Any, session: int | None = None) -> tuple[bool, int]:
        """Run ``SELECT call`` on the shared connection (opened if need be); return its
        answer and the session it ran on. With ``session``, only on that session."""
        async with self._using:
            if session is not None and session != self._session:
                return False, self._session
            if self._connection is None:
                connection = await self._shared_engine.connect()
                self._connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            try:
                answer = (await self._connection.execute(sa.select(call))).scalar_one()
            except BaseException:
                await self._drop()  # lost, timed out, or closing: its locks are unknown
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
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        async with self._using:
            await self._drop()
        await self._shared_engine.dispose()
        await self._waiting_engine.dispose()
