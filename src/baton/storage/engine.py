"""Engines for SQLite and PostgreSQL, and the migrations that prepare them."""

from __future__ import annotations

import secrets
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
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


def store_url(text: str) -> sa.URL:
    """Parse what a user gave as the store's location: a SQLAlchemy URL, or a plain
    path to a SQLite file (``baton.db``, ``~/data/baton.db``), as people also write it."""
    if "://" not in text and text.strip():
        return sa.make_url(default_sqlite_url(Path(text)))
    if text.startswith(("postgres://", "postgres+")):  # as Heroku, Render and Fly write it
        text = "postgresql" + text.removeprefix("postgres")
    url = async_url(sa.make_url(text))
    backend = url.get_backend_name()
    if backend == "postgresql" and "sslmode" in url.query:  # libpq's name; asyncpg's is ssl
        query = dict(url.query)
        query["ssl"] = query.pop("sslmode")
        url = url.set(query=query)
    if backend not in ASYNC_DRIVERS:
        raise ValueError(f"Baton keeps its data in SQLite or PostgreSQL, not {backend}")
    if url.drivername != ASYNC_DRIVERS[backend]:
        raise ValueError(
            f"Baton talks to {backend} through its async driver, not {url.get_driver_name()}: "
            f"write {backend}://... (or {ASYNC_DRIVERS[backend]}://...)"
        )
    return url


def async_url(url: sa.URL) -> sa.URL:
    """``url`` with the async driver Baton uses when it names none (``sqlite:///x.db``,
    ``postgresql://...``), as people write them; an explicit driver is kept. A SQLite
    file's ``~`` is expanded, as the shell would (SQLite itself opens ``./~/...``)."""
    driver = ASYNC_DRIVERS.get(url.drivername)
    if driver:
        url = url.set(drivername=driver)
    database = url.database
    if url.get_backend_name() == "sqlite" and database and database.startswith("~"):
        url = url.set(database=str(Path(database).expanduser()))
    return url


def create_engine(url: sa.URL) -> AsyncEngine:
    """Return an async engine, tuned for the backend the URL names."""
    options: dict[str, Any] = {}
    is_sqlite = url.get_backend_name() == "sqlite"
    if is_sqlite:
        if url.database in (None, "", ":memory:"):
            # Every connection to ":memory:" is a new, empty database: share one.
            options["poolclass"] = StaticPool
        else:
            path = Path(url.database).expanduser()
            path.parent.mkdir(parents=True, exist_ok=True)
            _prepare_sqlite(path)
    elif url.get_backend_name() == "postgresql":
        options["connect_args"] = {"timeout": POSTGRES_CONNECT_TIMEOUT_S}
        # a pooled connection the server (a restart, a failover, idle_session_timeout)
        # or a proxy closed is found dead and replaced at checkout, not by a request's
        # 500 (every instance answered its first request after one with 500)
        options["pool_pre_ping"] = True
    engine = create_async_engine(url, **options)
    if is_sqlite:
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _prepare_sqlite(path: Path) -> None:
    """Open the file once with ``sqlite3``: read its schema, so a path that is a folder,
    or a file that is not a database, fails here with SQLite's own message, before
    aiosqlite (whose worker thread outlives a failed connect and complains about the
    closed event loop at exit); and turn it to WAL, retrying for up to the busy timeout:
    the switch takes the file's write lock and does not wait on the busy timeout, so
    stores opening a fresh file at once failed with "database is locked". Blocking:
    ``create_engine`` runs in a worker thread (``SqlEventStore.open``)."""
    connection = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    try:
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                connection.execute("PRAGMA journal_mode=WAL").fetchone()
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
    finally:
        connection.close()


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    # WAL lets readers run beside the writer; NORMAL skips an fsync per commit
    # but WAL still survives a process crash (only power loss may lose a commit).
    # The busy timeout first: turning a fresh file to WAL takes its write lock, which
    # another connection opening it at the same moment may hold ("database is locked").
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode=WAL")  # a file is WAL already (_prepare_sqlite)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WAL_AUTOCHECKPOINT}")
    cursor.close()


class SchemaMismatch(Exception):
    """The database's schema revision is not one this Baton knows (a newer Baton's)."""


#: Alembic's ``context`` and ``op`` are module globals: one migration per process at a time.
_MIGRATING = threading.Lock()
#: the key of the PostgreSQL advisory lock that serialises migrations across instances
MIGRATION_LOCK_KEY = 0x626174_6F6E  # "baton"


def upgrade_schema(connection: sa.Connection) -> None:
    """Run every pending Alembic migration on a sync connection, inside the caller's
    transaction (which the caller commits).

    Several instances may start at once on a new database: the first to migrate holds
    the database's write lock (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: an advisory
    lock held until the commit), the others wait, then find the schema up to date.
    A database at a revision this Baton does not know (migrated by a newer Baton) is
    refused with ``SchemaMismatch``: Baton never downgrades a database.
    """
    script = ScriptDirectory(str(MIGRATIONS))
    head = script.get_current_head()
    if _revisions(connection, script) == (head,):
        return  # the usual case: no lock, no Alembic command
    with _MIGRATING:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        elif connection.dialect.name == "postgresql":
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK_KEY)))
        if _revisions(connection, script) == (head,):
            return  # another instance migrated it while this one waited
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def _revisions(connection: sa.Connection, script: ScriptDirectory) -> tuple[str, ...]:
    """The database's schema revisions; refuse ones this Baton's migrations don't know."""
    current = MigrationContext.configure(connection).get_current_heads()
    known = {revision.revision for revision in script.walk_revisions()}
    unknown = [revision for revision in current if revision not in known]
    if unknown:
        raise SchemaMismatch(
            f"its schema is at revision {', '.join(unknown)}, newer than this Baton knows "
            f"(up to {script.get_current_head()}): a newer Baton migrated it. Run that "
            "newer Baton, or upgrade this one; Baton never downgrades a database"
        )
    return tuple(current)


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
