"""One outbox cycle at a time per database, across processes.

Each instance runs an outbox worker; without this, two workers read the same
pending rows and both send them (Twilio drops the copy by its idempotency
token, Meta's send APIs take none: the user gets the reply twice), and two
replies of one conversation may leave from two instances out of order.

A cycle (read the due rows, send them, record the outcomes) runs holding the
database's outbox lock, taken without waiting: an instance that finds it held
skips the cycle, and the holder delivers for everyone. The lock dies with its
holder, so when an instance is killed the next one's poll takes over:

- PostgreSQL: a transaction-level advisory lock (``pg_try_advisory_xact_lock``)
  on a connection held for the cycle; a dropped connection releases it.
- SQLite file: ``flock`` on ``<database>-outbox.lock`` beside the file; the
  kernel releases it when the process dies.
- SQLite in memory: one process by definition, nothing to take.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import AsyncIterator

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

#: the PostgreSQL advisory lock key of the outbox ("outbox" in ASCII)
OUTBOX_LOCK_KEY = 0x6F7574_626F78


@contextlib.asynccontextmanager
async def outbox_cycle(sql: AsyncEngine) -> AsyncIterator[bool]:
    """``async with outbox_cycle(engine) as mine:`` runs the block holding the database's
    outbox lock when ``mine``; when not, another process is delivering: skip the cycle."""
    if sql.dialect.name == "postgresql":
        async with sql.connect() as conn:
            taken = await conn.execute(
                sa.select(sa.func.pg_try_advisory_xact_lock(OUTBOX_LOCK_KEY))
            )
            try:
                yield bool(taken.scalar_one())
            finally:
                await conn.rollback()  # ends the transaction: the lock goes with it
        return
    path = sql.url.database
    if sql.dialect.name != "sqlite" or path in (None, "", ":memory:"):
        yield True
        return
    descriptor = os.open(f"{path}-outbox.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True  # closing the descriptor releases the lock
    finally:
        os.close(descriptor)
