"""Work that one instance at a time does for the whole database, across processes.

Every instance runs an outbox worker and a timer schedule. Without this, two
workers read the same pending replies and both send them (Twilio drops the copy
by its idempotency token; Meta's send APIs take none, so the user gets the reply
twice, and two replies of one conversation may leave from two instances out of
order), and two schedules fire the same due timer at once: one turn's append
wins, but both ran the workflow's webhook and Python actions first.

So a cycle of such work (the outbox's read-send-record, the timers' firing of
what is due) runs holding the database's lock for that kind of work, taken
without waiting: an instance that finds it held skips the cycle, and the holder
does the work for everyone (a timer another instance fired is found gone, at the
cost of one read). The lock dies with its holder, so when an instance is killed
the next one's poll takes over:

- PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) on a
  connection held for the cycle in autocommit (no transaction stays open: a server's
  ``idle_in_transaction_session_timeout`` would kill it, and an open transaction holds
  back vacuum), released by ``pg_advisory_unlock`` at the end; a dropped connection
  releases it too, which ``Hold.still_held`` notices before each step of a long cycle.
- SQLite file: ``flock`` on ``<database>-<work>.lock`` beside the file; the
  kernel releases it when the process dies.
- SQLite in memory: one process by definition, nothing to take.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

Work = Literal["outbox", "timers"]

#: the PostgreSQL advisory lock key of each kind of work (the name in ASCII)
LOCK_KEYS: dict[Work, int] = {"outbox": 0x6F7574_626F78, "timers": 0x74696D_657273}


class Hold:
    """Whether this process holds a kind of work's lock (truthy when it does), and a
    check that it still does (a cycle that outlives its database connection must stop
    starting work: another instance may hold the lock by then)."""

    def __init__(self, taken: bool, probe: Callable[[], Awaitable[bool]] | None = None) -> None:
        self.taken = taken
        self._probe = probe

    def __bool__(self) -> bool:
        return self.taken

    async def still_held(self) -> bool:
        """Still ours: the lock's connection answers (always, for a file lock)."""
        if not self.taken:
            return False
        if self._probe is not None and not await self._probe():
            self.taken = False
        return self.taken


@contextlib.asynccontextmanager
async def exclusive_cycle(sql: AsyncEngine, work: Work) -> AsyncIterator[Hold]:
    """``async with exclusive_cycle(engine, "outbox") as mine:`` runs the block holding the
    database's lock for that work when ``mine``; when not, another process is doing it:
    skip the cycle."""
    if sql.dialect.name == "postgresql":
        async with sql.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            key = LOCK_KEYS[work]
            taken = await conn.execute(sa.select(sa.func.pg_try_advisory_lock(key)))

            async def alive() -> bool:
                try:
                    await conn.execute(sa.select(1))
                except Exception:  # a dropped connection: its lock went with it
                    return False
                return True

            hold = Hold(bool(taken.scalar_one()), alive)
            was_taken = hold.taken
            try:
                yield hold
            finally:
                if was_taken:
                    await _release(conn, key, probed_lost=not hold.taken)
        return
    path = sql.url.database
    if sql.dialect.name != "sqlite" or path in (None, "", ":memory:"):
        yield Hold(True)
        return
    descriptor = os.open(f"{path}-{work}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield Hold(False)
            return
        yield Hold(True)  # closing the descriptor releases the lock
    finally:
        os.close(descriptor)


async def _release(conn: AsyncConnection, key: int, *, probed_lost: bool) -> None:
    """Unlock; a connection the probe found lost (or failed, it may be alive: a cancelled
    query) or that fails to unlock is closed instead, never given back to the pool with
    the lock still on its session."""
    try:
        if probed_lost:
            raise ConnectionError("the lock's connection failed its probe")
        await conn.execute(sa.select(sa.func.pg_advisory_unlock(key)))
    except BaseException as error:
        with contextlib.suppress(Exception):
            await conn.invalidate()  # closed: the lock goes with its session
        if not isinstance(error, Exception):  # a cancel goes on
            raise
