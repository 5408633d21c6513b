"""The write-ahead log is checkpointed and started over by a thread, not by commits."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from baton.storage.engine import SQLITE_WAL_AUTOCHECKPOINT
from baton.storage.sqlite_checkpoint import FALLBACK_FACTOR, WalCheckpointer
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


async def test_a_reader_on_the_old_log_delays_the_restart_not_the_commits(
    tmp_path: Path,
) -> None:
    database = tmp_path / "r.db"
    writer = SqliteWriter(str(database))
    writer.checkpointer.restart_frames = 40
    writer.checkpointer.interval = 0.01
    await writer.start()
    reader = sqlite3.connect(database, isolation_level=None)
    try:
        await writer.run(lambda c: c.execute("CREATE TABLE t (x TEXT)"))
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM t").fetchone()  # holds a snapshot of the log
        for _ in range(15):
            await writer.write(_insert_rows)  # every commit goes through meanwhile
            await asyncio.sleep(0.01)
        assert writer.checkpointer.restarts == 0  # it gave up each time, and let writes on
        reader.execute("COMMIT")
        deadline = asyncio.get_running_loop().time() + 5
        while writer.checkpointer.restarts == 0 and asyncio.get_running_loop().time() < deadline:
            await writer.write(_insert_rows)
            await asyncio.sleep(0.01)
        assert writer.checkpointer.restarts >= 1
    finally:
        reader.close()
        await writer.stop()


def test_a_restart_that_finds_a_reader_backs_off(tmp_path: Path) -> None:
    database = str(tmp_path / "b.db")
    writer = sqlite3.connect(database, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("CREATE TABLE t (x TEXT)")
    _insert_rows(writer)
    checkpointer = WalCheckpointer(database, restart_frames=10)
    own = sqlite3.connect(database, isolation_level=None)
    own.execute("PRAGMA busy_timeout=20")
    reader = sqlite3.connect(database, isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM t").fetchone()  # a reader on the log's frames
        checkpointer.checkpoint(own)  # copies them all (the reader sees them all) ...
        assert checkpointer.restarts == 0  # ... but can't start the log over under the reader
        reader.execute("COMMIT")
        for _ in range(2):  # the next two rounds only copy, though the reader has gone
            checkpointer.checkpoint(own)
            assert checkpointer.restarts == 0
        checkpointer.checkpoint(own)  # the third tries again
        assert checkpointer.restarts == 1
    finally:
        for connection in (reader, own, writer):
            connection.close()
