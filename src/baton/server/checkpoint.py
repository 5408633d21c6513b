"""SQLite's WAL checkpointed in the background, so no turn's commit pays for it.

SQLite checkpoints the write-ahead log in the commit that takes it over
``wal_autocheckpoint`` pages: that commit copies the pages into the database
and syncs it, and with one writer thread every turn queued behind it waits too.
In the HTTP bench at 100 messages/s that was a 30 to 50 ms stall every 4 s, the
slowest requests of the run. While the server runs, a task checkpoints
(``PASSIVE``: it never blocks the writer, which goes on appending to the log)
every ``interval`` seconds on a pooled connection of its own, so the log stays
far below the threshold and commits never checkpoint. Other backends: nothing.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)


def wants_checkpoints(sql: AsyncEngine) -> bool:
    """Whether ``sql`` is a SQLite database in a file (in memory there is no log)."""
    database = sql.url.database or ""
    return sql.dialect.name == "sqlite" and database not in ("", ":memory:")


async def checkpoint_forever(sql: AsyncEngine, interval: float = 0.5) -> None:
    """Checkpoint the log every ``interval`` seconds until cancelled."""
    while True:
        await asyncio.sleep(interval)
        try:
            async with sql.connect() as conn:
                await conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the commit's own checkpoint still runs as a fallback
            log.warning("background WAL checkpoint failed: %s", exc)
