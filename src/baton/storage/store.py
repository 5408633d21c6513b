"""``SqlEventStore``: the event store on SQLite or PostgreSQL, through SQLAlchemy Core."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime
from functools import partial
from typing import Any

import sqlalchemy as sa
from alembic.util import CommandError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from baton.domain.errors import BatonError, ConcurrentWrite, StoreUnavailable, UnknownConversation
from baton.domain.events import Event, RecordedEvent, event_from_dict
from baton.domain.ids import DEFAULT_ACCOUNT, new_id
from baton.domain.ports import Clock
from baton.domain.records import Contact, ConversationRecord
from baton.domain.state import ConversationState
from baton.storage import statements as q
from baton.storage.cache import RecordCache, SnapshotCache
from baton.storage.codec import event_text, loads, snapshot_text, utc
from baton.storage.engine import ConversationIds, create_engine, upgrade_schema
from baton.storage.sqlite_append import AppendJob
from baton.storage.sqlite_writer import (
    SqliteWriter,
    find_or_create_contact,
    insert_conversation,
    latest_record,
    load_rows,
    read_data_version,
    sqlite_timestamp,
)

logger = logging.getLogger(__name__)

#: A cached conversation's snapshot is rewritten once the log has moved this many events
#: past the stored one (and when the conversation ends): a cold load replays at most a few
#: turns, and most turns skip serializing and writing the whole state.
SNAPSHOT_EVERY = 16


class SqlEventStore:
    """The ``EventStore`` on SQLite (``sqlite+aiosqlite://``) or PostgreSQL
    (``postgresql+asyncpg://``).

    Each append writes its events, the new snapshot and the conversation's
    version in one transaction, guarded by the version the caller read
    (optimistic concurrency). With ``cache_states`` the latest snapshot of up to
    ``cache_size`` conversations stays in memory, so ``load_state`` skips the
    database; a stale entry (another process appended) makes the next append
    fail with ``ConcurrentWrite``, which evicts it so the retry reads the row.

    On a SQLite file every call a turn makes runs on one writer thread, and
    (with ``cache_states``) contacts by identity and each contact's latest
    conversation are cached too, so a usual turn makes one hop: its append.
    """

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
            url = sa.make_url(self._url_text)
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

    async def __aenter__(self) -> SqlEventStore:
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

    # -- contacts --------------------------------------------------------------

    async def contact_for_identity(self, account_id: str, channel: str, address: str) -> Contact:
        """Return the contact with this channel identity, creating it if new."""
        key = {"b_account": account_id, "b_channel": channel, "b_address": address}
        if self._writer is not None:
            return await self._sqlite_contact(self._writer, key)
        async with self.engine.connect() as conn:
            contact_id = (await conn.execute(q.IDENTITY_OWNER, key)).scalar()
            if contact_id is None:
                contact_id = await self._new_contact(conn, account_id, channel, address)
            contact = await self._read_contact(conn, account_id, contact_id)
        if contact is None:  # pragma: no cover - the identity points at a deleted contact
            raise StoreUnavailable(f"identity {channel}:{address} names a missing contact")
        return contact

    async def _sqlite_contact(self, writer: SqliteWriter, key: dict[str, str]) -> Contact:
        account_id, channel, address = key["b_account"], key["b_channel"], key["b_address"]
        records = self._records
        if records is not None:
            cached = records.contact(account_id, channel, address)
            if cached is not None:
                return cached
        stamp = sqlite_timestamp(self._now())
        new = {
            "account_id": account_id,
            "id": new_id("contact"),
            "tags": "[]",
            "fields": "{}",
            "language": None,
            "created_at": stamp,
            "updated_at": stamp,
        }
        # One hop, and in arrival order: turns for one contact stay in sequence.
        contact = await writer.write(partial(find_or_create_contact, identity=key, new=new))
        if contact is None:  # pragma: no cover - the identity points at a deleted contact
            raise StoreUnavailable(f"identity {channel}:{address} names a missing contact")
        if records is not None:
            records.set_contact(channel, address, contact)
        return contact

    async def _new_contact(
        self, conn: AsyncConnection, account_id: str, channel: str, address: str
    ) -> str:
        contact_id = new_id("contact")
        now = self._now()
        await conn.execute(
            q.INSERT_CONTACT,
            {
                "account_id": account_id,
                "id": contact_id,
                "tags": [],
                "fields": {},
                "language": None,
                "created_at": now,
                "updated_at": now,
            },
        )
        claimed = await conn.execute(
            self._upsert.claim_identity,
            {
                "account_id": account_id,
                "channel": channel,
                "address": address,
                "contact_id": contact_id,
            },
        )
        if claimed.rowcount == 1:
            await conn.commit()
            return contact_id
        # Another writer created this identity's contact first: use theirs.
        await conn.rollback()
        key = {"b_account": account_id, "b_channel": channel, "b_address": address}
        owner: str = (await conn.execute(q.IDENTITY_OWNER, key)).scalar_one()
        return owner

    async def get_contact(self, account_id: str, contact_id: str) -> Contact | None:
        """Return a contact, or None if the account has no such contact."""
        async with self.engine.connect() as conn:
            return await self._read_contact(conn, account_id, contact_id)

    async def _read_contact(
        self, conn: AsyncConnection, account_id: str, contact_id: str
    ) -> Contact | None:
        key = {"b_id": contact_id, "b_account": account_id}
        row = (await conn.execute(q.CONTACT_ROW, key)).first()
        if row is None:
            return None
        identities = {r.channel: r.address for r in await conn.execute(q.IDENTITIES, key)}
        return Contact(
            account_id=account_id,
            contact_id=contact_id,
            identities=identities,
            tags=tuple(row.tags),
            fields=dict(row.fields),
            language=row.language,
        )

    async def save_contact(self, contact: Contact) -> None:
        """Insert or update a contact; its identities replace the stored ones.

        An identity held by another contact of the account moves to this one.
        """
        now = self._now()
        async with self.engine.begin() as conn:
            saved = await conn.execute(
                self._upsert.contact,
                {
                    "account_id": contact.account_id,
                    "id": contact.contact_id,
                    "tags": list(contact.tags),
                    "fields": dict(contact.fields),
                    "language": contact.language,
                    "created_at": now,
                    "updated_at": now,
                },
            )
            if saved.rowcount == 0:
                raise ValueError(
                    f"contact id {contact.contact_id!r} belongs to another account than "
                    f"{contact.account_id!r}; contacts can't move between accounts"
                )
            key = {"b_id": contact.contact_id, "b_account": contact.account_id}
            await conn.execute(q.FORGET_IDENTITIES, key)
            if contact.identities:
                rows = [
                    {
                        "account_id": contact.account_id,
                        "channel": channel,
                        "address": address,
                        "contact_id": contact.contact_id,
                    }
                    for channel, address in contact.identities.items()
                ]
                await conn.execute(self._upsert.move_identity, rows)
        if self._records is not None:
            self._records.forget_contacts()

    # -- conversations ---------------------------------------------------------

    async def create_conversation(
        self, account_id: str, contact_id: str, channel: str, now: datetime
    ) -> ConversationRecord:
        """Create an empty conversation (version 0) for the contact."""
        conversation_id = self._ids.new()
        empty = ConversationState(channel=channel)
        snapshot = snapshot_text(empty)
        moment = utc(now)
        row = {
            "account_id": account_id,
            "id": conversation_id,
            "contact_id": contact_id,
            "channel": channel,
            "started_at": now,
            "last_activity_at": now,
            "ended": False,
            "version": 0,
            "owner": None,
            "snapshot": snapshot,
        }
        if self._writer is not None:
            stamp = sqlite_timestamp(moment)
            row.update(started_at=stamp, last_activity_at=stamp, ended=0)
            await self._writer.write(partial(insert_conversation, row=row))
        else:
            async with self.engine.begin() as conn:
                await conn.execute(q.INSERT_CONVERSATION, row)
        if self._cache is not None:
            self._cache.put((account_id, conversation_id), empty, 0)
        record = ConversationRecord(
            account_id=account_id,
            conversation_id=conversation_id,
            contact_id=contact_id,
            channel=channel,
            started_at=moment,
            last_activity_at=moment,
            version=0,
        )
        if self._records is not None:
            self._records.set_latest(record)
        return record

    async def get_conversation(
        self, account_id: str, conversation_id: str
    ) -> ConversationRecord | None:
        """Return a conversation's row, or None outside the account."""
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(q.GET, {"b_id": conversation_id, "b_account": account_id})
            ).first()
        return None if row is None else _record(row)

    async def latest_conversation(
        self, account_id: str, contact_id: str
    ) -> ConversationRecord | None:
        """Return the contact's most recently started conversation, ended or not."""
        if self._writer is not None:
            records = self._records
            if records is not None:
                cached = records.latest(account_id, contact_id)
                if cached is not None:
                    return cached
            found = await self._writer.run(
                partial(latest_record, account_id=account_id, contact_id=contact_id)
            )
            if found is not None and records is not None:
                records.set_latest(found)
            return found
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(q.LATEST, {"b_account": account_id, "b_contact": contact_id})
            ).first()
        return None if row is None else _record(row)

    async def list_conversations(
        self, account_id: str, limit: int = 50, offset: int = 0
    ) -> list[ConversationRecord]:
        """Return conversations, most recently active first."""
        params = {"b_account": account_id, "b_limit": limit, "b_offset": offset}
        async with self.engine.connect() as conn:
            rows = (await conn.execute(q.LIST, params)).all()
        return [_record(row) for row in rows]

    # -- the log ---------------------------------------------------------------

    async def load_state(self, account_id: str, conversation_id: str) -> ConversationState:
        """Return the current state: the snapshot plus any events after it."""
        if self._cache is not None:
            cached = self._cache.get((account_id, conversation_id))
            if cached is not None:
                return cached
        key = {"b_id": conversation_id, "b_account": account_id}
        if self._writer is not None:
            found = await self._writer.run(partial(load_rows, key=key))
        else:
            found = await self._load_rows(key)
        if found is None:
            raise UnknownConversation(conversation_id)
        version, snapshot, tail = found
        state = ConversationState.from_dict(snapshot)
        for _seq, type_name, data in tail:
            state.apply(event_from_dict(type_name, loads(data)))
        state.version = version
        if self._cache is not None:
            self._cache.offer((account_id, conversation_id), state, int(snapshot["version"]))
        return state

    async def _load_rows(
        self, key: dict[str, Any]
    ) -> tuple[int, dict[str, Any], list[tuple[int, str, str]]] | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(q.LOAD, key)).first()
            if row is None:
                return None
            snapshot: dict[str, Any] = loads(row.snapshot)
            if snapshot["version"] >= row.version:
                return row.version, snapshot, []
            after = {**key, "b_after": snapshot["version"]}
            tail = [(r.seq, r.type, r.data) for r in await conn.execute(q.EVENTS_AFTER, after)]
        return row.version, snapshot, tail

    async def append(
        self,
        account_id: str,
        conversation_id: str,
        expected_version: int,
        events: list[Event],
        state: ConversationState,
        now: datetime,
    ) -> list[RecordedEvent]:
        """Append events and the new snapshot in one transaction.

        The events get sequence numbers ``expected_version + 1`` onwards;
        ``state.version`` becomes the last of them. The stored snapshot becomes
        ``state`` too, unless the conversation is cached with a stored snapshot
        fewer than ``SNAPSHOT_EVERY`` events old and goes on (a load replays the
        events after the snapshot). Raises ``ConcurrentWrite`` if the log is no
        longer at ``expected_version`` and ``UnknownConversation`` if the
        account has no such conversation.
        """
        version = expected_version + len(events)
        key = (account_id, conversation_id)
        previous_version = state.version
        state.version = version
        stored = self._cache.stored_snapshot(key) if self._cache is not None else None
        if stored is None or version - stored >= SNAPSHOT_EVERY or state.ended:
            stored = version
        try:
            snapshot = snapshot_text(state) if stored == version else None
            if self._writer is not None:
                await self._append_sqlite(
                    self._writer, expected_version, events, state, now, key, snapshot
                )
            else:
                await self._append_sql(expected_version, events, state, now, key, snapshot)
        except BaseException:
            state.version = previous_version
            # Cancelled or failed after a possible commit: the next load reads the row.
            if self._cache is not None:
                self._cache.evict(key)
            if self._records is not None:
                self._records.forget_conversation(key)
            raise
        if self._cache is not None:
            self._cache.put(key, state, stored)
        at = utc(now)
        if self._records is not None:
            self._records.appended(key, version, at, state.owner, state.ended)
        return [
            RecordedEvent(seq, at, event) for seq, event in enumerate(events, expected_version + 1)
        ]

    async def _append_sql(
        self,
        expected: int,
        events: list[Event],
        state: ConversationState,
        now: datetime,
        key: tuple[str, str],
        snapshot: str | None,
    ) -> None:
        account_id, conversation_id = key
        rows = _event_rows(account_id, conversation_id, expected, events, now)
        params = _advance(key, expected, len(events), state, now, snapshot)
        async with self.engine.begin() as conn:
            advanced = await conn.execute(q.ADVANCE, params)
            if advanced.rowcount != 1:
                exists = (await conn.execute(q.VERSION, params)).first() is not None
                raise _refusal(key[1], expected, exists)
            if rows:
                await conn.execute(q.INSERT_EVENTS, rows)

    async def _append_sqlite(
        self,
        writer: SqliteWriter,
        expected: int,
        events: list[Event],
        state: ConversationState,
        now: datetime,
        key: tuple[str, str],
        snapshot: str | None,
    ) -> None:
        stamp = sqlite_timestamp(now)
        account_id, conversation_id = key
        rows = [  # in the order of EVENT_COLUMNS
            (account_id, conversation_id, seq, e.type, e.version, event_text(e), stamp)
            for seq, e in enumerate(events, expected + 1)
        ]
        version = expected + len(events)
        ended = int(state.ended)
        advance = (
            conversation_id,
            account_id,
            expected,
            version,
            stamp,
            state.owner,
            ended,
            snapshot,
        )
        records = self._records
        check_latest = records is not None and records.is_latest(key)
        seen = records.seen(key) if records is not None else None
        done = await writer.append(AppendJob(advance, rows, check_latest, seen))
        if records is not None and done.data_version != self._data_version:
            # Another connection wrote the file: contacts may have changed.
            records.forget_contacts()
            self._data_version = done.data_version
        if done.outcome != "appended":
            raise _refusal(key[1], expected, done.outcome != "missing")
        if check_latest and records is not None:
            records.validated(key, done.data_version)

    async def read_events(
        self, account_id: str, conversation_id: str, after: int = 0
    ) -> list[RecordedEvent]:
        """Return the events after sequence number ``after``, in order."""
        params = {"b_id": conversation_id, "b_account": account_id, "b_after": after}
        async with self.engine.connect() as conn:
            rows = (await conn.execute(q.EVENTS_AFTER, params)).all()
        return [
            RecordedEvent(seq, at, event_from_dict(type_name, loads(data)))
            for seq, type_name, data, at in rows
        ]


def _record(row: sa.Row[Any]) -> ConversationRecord:
    return ConversationRecord(
        account_id=row.account_id,
        conversation_id=row.id,
        contact_id=row.contact_id,
        channel=row.channel,
        started_at=row.started_at,
        last_activity_at=row.last_activity_at,
        version=row.version,
        owner=row.owner,
        ended=bool(row.ended),
    )


def _writer_for(url: sa.URL) -> SqliteWriter | None:
    """A single writer thread for a SQLite file (not for ``:memory:``, private per connection)."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return SqliteWriter(url.database)


def _event_rows(
    account_id: str, conversation_id: str, expected: int, events: list[Event], at: object
) -> list[dict[str, Any]]:
    return [
        {
            "account_id": account_id,
            "conversation_id": conversation_id,
            "seq": seq,
            "type": event.type,
            "type_version": event.version,
            "data": event_text(event),
            "at": at,
        }
        for seq, event in enumerate(events, expected + 1)
    ]


def _advance(
    key: tuple[str, str],
    expected: int,
    count: int,
    state: ConversationState,
    now: object,
    snapshot: str | None,
) -> dict[str, Any]:
    return {
        "b_account": key[0],
        "b_id": key[1],
        "b_expected": expected,
        "b_version": expected + count,
        "b_now": now,
        "b_owner": state.owner,
        "b_ended": state.ended,
        "b_snapshot": snapshot,  # None: the stored snapshot stays (see SNAPSHOT_EVERY)
    }


def _refusal(conversation_id: str, expected: int, exists: bool) -> BatonError:
    if not exists:
        return UnknownConversation(conversation_id)
    logger.info(
        "concurrent write refused",
        extra={"conversation_id": conversation_id, "expected_version": expected},
    )
    return ConcurrentWrite(conversation_id, expected)
