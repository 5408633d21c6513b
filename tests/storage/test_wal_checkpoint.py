"""The write-ahead log is checkpointed and started over by a thread, not by commits."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from baton.storage.engine import SQLITE_WAL_AUTOCHECKPOINT
from baton.storage.sqlite_checkpoint import FALLBACK_FACTOR
from baton.storage.sqlite_writer import SqliteWriter


def _insert_rows(connection: sqlite3.Connection) -> None:
    connection.executemany("INSERT INTO t VALUES (?)", [("x" * 3000,)] * 20)


def _wal_pages(path: Path) -> int:
    return (path.stat().st_size - 32) // (4096 + 24) if path.exists() else 0


async def test_the_log_starts_over_while_commits_go_on(tmp_path: Path) -> None:
    database = tmp_path / "c.db"
    writer = SqliteWriter(str(database))
    writer.checkpointer.restart_frames = 40
    writer.checkpointer.interval = 0.01
    await writer.start()
    try:
        fallback = await writer.run(lambda c: c.execute("PRAGMA wal_autocheckpoint").fetchone()[0])
        assert fallback == SQLITE_WAL_AUTOCHECKPOINT * FALLBACK_FACTOR  # commits: a bound only
        await writer.run(lambda c: c.execute("CREATE TABLE t (x TEXT)"))
        for _ in range(30):  # ~20 pages per commit, in group writes like a turn's
            await writer.write(_insert_rows)
            await asyncio.sleep(0.005)
        deadline = asyncio.get_running_loop().time() + 5
        while writer.checkpointer.restarts == 0 and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)
        assert writer.checkpointer.restarts >= 1
        # The rows were copied into the database file, and the log was reused from its
        # start rather than grown to hold all 600 pages.
        assert database.stat().st_size > 600 * 3000
        assert _wal_pages(tmp_path / "c.db-wal") < 400
        count = await writer.run(lambda c: c.execute("SELECT count(*) FROM t").fetchone()[0])
        assert count == 600
    finally:
        await writer.stop()
    assert not writer.checkpointer._thread.is_alive()
