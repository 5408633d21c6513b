"""The lifecycle every part of the event store shares: the engine, the SQLite
writer, the caches, the clock; and accounts."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime
from typing import Self

import sqlalchemy as sa
from alembic.util import CommandError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from baton.domain.errors import StoreUnavailable
from baton.domain.ids import DEFAULT_ACCOUNT
from baton.domain.ports import Clock
from baton.storage import statements as q
from baton.storage.cache import RecordCache, SnapshotCache
from baton.storage.engine import ConversationIds, async_url, create_engine, upgrade_schema
from baton.storage.sqlite_writer import SqliteWriter, read_data_version

logger = logging.getLogger(__name__)


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

    # -- lifecycle -------------------------------------------------------------

    async def open(self) -> None:
        """Connect, migrate the schema to the latest version and add the default account."""
        if self._engine is not None:
            return
        engine: AsyncEngine | None = None
        writer: SqliteWriter | None = None
        shown = self._url_text
        try:
            url = async_url(sa.make_url(self._url_text))
            shown = url.render_as_string(hide_password=True)
            engine = create_engine(url)
            upserts = q.Upserts(engine.dialect.name)
            async with engine.connect() as conn:
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
        except (OSError, SQLAlchemyError, CommandError, sqlite3.Error) as exc:
            if writer is not None:
                await writer.stop()
            if engine is not None:
                await engine.dispose()
            raise StoreUnavailable(
                f"can't open the event store at {shown}: {exc}. Check that the "
                "database server is running, that the URL (driver, host, port, "
                "database name, credentials) is right, and that the file's folder "
                "is writable."
            ) from exc
        self._engine, self._upserts, self._writer = engine, upserts, writer
        self._records = RecordCache(self._cache_size) if writer and self._cache_size else None
        self._data_version = data_version
        logger.info("event store open at %s", shown)

    async def close(self) -> None:
        """Release every connection; ``open()`` may be called again later."""
        if self._writer is not None:
            await self._writer.stop()
            self._writer = None
        self._records = None
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

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


def _writer_for(url: sa.URL) -> SqliteWriter | None:
    """A single writer thread for a SQLite file (not for ``:memory:``, private per connection)."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return SqliteWriter(url.database)
