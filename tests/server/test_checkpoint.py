"""The WAL is checkpointed in the background while the server runs (SQLite in a file)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import sqlalchemy as sa

from baton.server.checkpoint import checkpoint_forever, wants_checkpoints
from baton.storage import default_sqlite_url
from baton.storage.engine import create_engine


async def test_the_log_is_copied_back_without_a_commit_doing_it(tmp_path: Path) -> None:
    sql = create_engine(sa.make_url(default_sqlite_url(tmp_path / "c.db")))
    memory = create_engine(sa.make_url("sqlite+aiosqlite://"))
    try:
        assert wants_checkpoints(sql) and not wants_checkpoints(memory)
        async with sql.begin() as conn:
            await conn.exec_driver_sql("PRAGMA journal_mode=WAL")
            await conn.exec_driver_sql("PRAGMA wal_autocheckpoint=0")  # commits never do it
            await conn.exec_driver_sql("CREATE TABLE t (x TEXT)")
            for i in range(200):
                await conn.exec_driver_sql(f"INSERT INTO t VALUES ('{'x' * 500}{i}')")
        task = asyncio.create_task(checkpoint_forever(sql, interval=0.01))
        await asyncio.sleep(0.2)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        # The rows reached the database file itself (the commits left them in the log).
        assert (tmp_path / "c.db").stat().st_size > 200 * 500
    finally:
        await sql.dispose()
        await memory.dispose()
