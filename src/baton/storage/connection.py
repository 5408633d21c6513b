"""The lifecycle every part of the event store shares: the engine, the SQLite
writer, the caches, the clock; and accounts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import sqlite3
import weakref
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Self

import sqlalchemy as sa
from alembic.util import CommandError
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from baton.domain.errors import StoreUnavailable
from baton.domain.ids import DEFAULT_ACCOUNT
from baton.domain.ports import Clock
from baton.storage import statements as q
from baton.storage.cache import RecordCache, SnapshotCache
from baton.storage.codec import postgres_text
from baton.storage.engine import (
    POSTGRES_CONNECT_TIMEOUT_S,
    ConversationIds,
    SchemaMismatch,
    create_engine,
    store_url,
    upgrade_schema,
)
from baton.storage.sqlite_writer import SqliteWriter, read_data_version
from baton.storage.turn_locks import TurnLocks

logger = logging.getLogger(__name__)

#: what ``turn_lock`` holds where there is nothing to take (stateless, so shared)
_NO_LOCK: AbstractAsyncContextManager[None] = contextlib.nullcontext()
#: below this much free space beside a SQLite file, the store reports itself not ready
MIN_FREE_BYTES = 4 * 1024 * 1024


def _read_a_page(connection: sqlite3.Connection) -> None:
    """Read the file itself (``SELECT 1`` is answered without it)."""
    connection.execute("SELECT count(*) FROM accounts").fetchone()


class StoreConnection:
    """Opens and closes the store's engine (and, on a SQLite file, its writer); the
    contacts (``ContactStore``) and the log (``SqlEventStore``) build on it."""

    def __init__(
        self,
        url: str,
        *,
        cache_states: bool = True,
        cache_size: int = 10_000,
        clock: Clock | None = None,
    ) -> None:
        self._url_text = url
        self._engine: AsyncEngine | None = None
        self._upserts: q.Upserts | None = None
        self._writer: SqliteWriter | None = None
        self._cache = SnapshotCache(cache_size) if cache_states else None
        self._cache_size = cache_size if cache_states else 0
        # SQLite file only (set in open): rows this process is the writer of.
        self._records: RecordCache | None = None
        self._data_version: int | None = None
        self._clock = clock
        self._ids = ConversationIds()
        # PostgreSQL: plain text columns can't hold NUL (codec.postgres_text)
        self._nul_free = False
        self._turn_locks: TurnLocks | None = None

    # -- lifecycle -------------------------------------------------------------

    async def open(self) -> None:
        """Connect, migrate the schema to the latest version and add the default account."""
        if self._engine is not None:
            return
        engine: AsyncEngine | None = None
        writer: SqliteWriter | None = None
        shown = self._url_text
        url: sa.URL | None = None
        try:
            url = store_url(self._url_text)
            shown = url.render_as_string(hide_password=True)
            engine = await asyncio.to_thread(create_engine, url)  # a SQLite file: WAL switch
            upserts = q.Upserts(engine.dialect.name)
            async with engine.connect() as conn, _migrating():
                await conn.run_sync(upgrade_schema)
                await conn.execute(
                    upserts.account,
                    {"id": DEFAULT_ACCOUNT, "name": "Default", "created_at": self._now()},
                )
                await conn.commit()
            writer = _writer_for(url)
            data_version = None
            if writer is not None:
                await writer.start()
                data_version = await writer.run(read_data_version)
        except (
            OSError,
            SQLAlchemyError,
            CommandError,
            SchemaMismatch,
            sqlite3.Error,
            ValueError,
            TypeError,  # a URL parameter the driver does not take
        ) as exc:
            if writer is not None:
                await writer.stop()
            if engine is not None:
                await engine.dispose()
            raise StoreUnavailable(
                f"can't open the event store at {shown}: {_reason(exc)}{_hint(url, exc)}"
            ) from exc
        self._engine, self._upserts, self._writer = engine, upserts, writer
        self._nul_free = engine.dialect.name == "postgresql"
        if engine.dialect.name == "postgresql":
            self._turn_locks = TurnLocks(url, {"timeout": POSTGRES_CONNECT_TIMEOUT_S})
        self._records = RecordCache(self._cache_size) if writer and self._cache_size else None
        self._data_version = data_version
        logger.info("event store open at %s", shown)

    async def close(self) -> None:
        """Release every connection; ``open()`` may be called again later."""
        if self._writer is not None:
            await self._writer.stop()
            self._writer = None
        self._records = None
        if self._turn_locks is not None:
            await self._turn_locks.close()
            self._turn_locks = None
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    async def problem(self) -> str | None:
        """Why the store can't serve a turn now, or None (a SQLite file: still the file
        opened, readable, on a disk with room; PostgreSQL: checked by the caller's query)."""
        writer = self._writer
        if writer is None:
            return None
        if not writer.checkpointer.still_there():
            return writer.checkpointer.lost
        path = writer.checkpointer.path
        try:
            free = shutil.disk_usage(os.path.dirname(os.path.abspath(path))).free
            await writer.run(_read_a_page)
        except (OSError, sqlite3.Error, StoreUnavailable) as exc:
            return f"{type(exc).__name__}: {exc}"
        if free < MIN_FREE_BYTES:
            return f"the disk holding {path} is full ({free:,} bytes free)"
        return None

    def turn_lock(self, account_id: str, contact_id: str) -> AbstractAsyncContextManager[None]:
        """Held for a turn of the contact: the only one on the database (PostgreSQL,
        ``turn_locks``); on SQLite nothing to take (one serving process)."""
        if self._turn_locks is None:
            return _NO_LOCK
        return self._turn_locks.hold(account_id, contact_id)

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    @property
    def engine(self) -> AsyncEngine:
        """The open engine (for diagnostics and tests)."""
        if self._engine is None:
            raise StoreUnavailable("the event store is not open; call `await store.open()` first")
        return self._engine

    @property
    def _upsert(self) -> q.Upserts:
        if self._upserts is None:
            raise StoreUnavailable("the event store is not open; call `await store.open()` first")
        return self._upserts

    def _text(self, value: str) -> str:
        """``value`` as a plain text column of this database can hold it."""
        return postgres_text(value) if self._nul_free else value

    def _now(self) -> datetime:
        return self._clock.now() if self._clock is not None else datetime.now(UTC)

    # -- accounts --------------------------------------------------------------

    async def add_account(self, account_id: str, name: str, parent_id: str | None = None) -> None:
        """Record an account (a no-op if it exists); an agency's sub-accounts name it as parent."""
        async with self.engine.begin() as conn:
            await conn.execute(
                self._upsert.account,
                {"id": account_id, "name": name, "parent_id": parent_id, "created_at": self._now()},
            )


_MIGRATION_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


def _migrating() -> asyncio.Lock:
    """The event loop's lock around migrations: Alembic keeps its state in module
    globals, and ``upgrade_schema`` runs on the loop's thread (SQLAlchemy's greenlets),
    so two stores opening at once must not interleave there."""
    loop = asyncio.get_running_loop()
    lock = _MIGRATION_LOCKS.get(loop)
    if lock is None:
        lock = _MIGRATION_LOCKS[loop] = asyncio.Lock()
    return lock


def _reason(exc: BaseException) -> str:
    """What went wrong, on one line: the driver's own message, without SQLAlchemy's
    statement, parameters and "Background on this error" link."""
    cause: BaseException = exc
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        cause = exc.orig
    text = " ".join(str(cause).split("\n")[0].split())
    if isinstance(cause, TimeoutError | ConnectionError) or not text:
        text = f"{type(cause).__name__} {text}".strip()
    return text


def _hint(url: sa.URL | None, exc: BaseException) -> str:
    """What to check, for the kind of database the URL names."""
    if isinstance(exc, SchemaMismatch):
        return ""
    if url is None:
        return (
            ". Give a SQLAlchemy URL (sqlite:///path/baton.db, "
            "postgresql://user:password@host:5432/database) or a SQLite file's path"
        )
    if "locked" in str(exc):
        return (
            ". Another program holds the database's write lock (a long transaction?); "
            "try again once it is done"
        )
    if url.get_backend_name() == "sqlite":
        return (
            ". Check the file's path, that its folder can be written, and that it is "
            "a Baton database (not another program's)"
        )
    return (
        ". Check that the database server is running and that the URL (host, port, "
        "database name, user, password) is right"
    )


def _writer_for(url: sa.URL) -> SqliteWriter | None:
    """A single writer thread for a SQLite file (not for ``:memory:``, private per connection)."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return SqliteWriter(url.database)
