"""Engines for SQLite and PostgreSQL, and the migrations that prepare them."""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 5_000
# Checkpoint every 4,000 pages (16 MB) of WAL rather than 1,000: conversation
# rows rewritten many times between checkpoints are copied, and synced, once.
SQLITE_WAL_AUTOCHECKPOINT = 4_000
POSTGRES_CONNECT_TIMEOUT_S = 10


def default_sqlite_url(path: Path) -> str:
    """Return the async SQLite URL for a database file."""
    return f"sqlite+aiosqlite:///{Path(path).expanduser().resolve()}"


#: the async driver of a URL that names only the database (``sqlite:///x.db``)
ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


def async_url(url: sa.URL) -> sa.URL:
    """``url`` with the async driver Baton uses when it names none (``sqlite:///x.db``,
    ``postgresql://...``), as people write them; an explicit driver is kept."""
    driver = ASYNC_DRIVERS.get(url.drivername)
    return url.set(drivername=driver) if driver else url


def create_engine(url: sa.URL) -> AsyncEngine:
    """Return an async engine, tuned for the backend the URL names."""
    options: dict[str, Any] = {}
    is_sqlite = url.get_backend_name() == "sqlite"
    if is_sqlite:
        if url.database in (None, "", ":memory:"):
            # Every connection to ":memory:" is a new, empty database: share one.
            options["poolclass"] = StaticPool
        else:
            Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    elif url.get_backend_name() == "postgresql":
        options["connect_args"] = {"timeout": POSTGRES_CONNECT_TIMEOUT_S}
    engine = create_async_engine(url, **options)
    if is_sqlite:
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    # WAL lets readers run beside the writer; NORMAL skips an fsync per commit
    # but WAL still survives a process crash (only power loss may lose a commit).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WAL_AUTOCHECKPOINT}")
    cursor.close()


def upgrade_schema(connection: sa.Connection) -> None:
    """Run every pending Alembic migration on a sync connection."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


class ConversationIds:
    """Makes conversation ids that sort in creation order, even within one clock tick.

    ``latest_conversation`` breaks ties on ``started_at`` by id, which matters
    when a test clock starts two conversations at the same instant.
    """

    def __init__(self) -> None:
        self._last = 0

    def new(self) -> str:
        """Return a fresh ``conv_...`` id, greater than every earlier one."""
        stamp = max(time.time_ns(), self._last + 1)
        self._last = stamp
        return f"conv_{stamp:020x}{secrets.token_hex(6)}"
