"""``SqlEventStore``: the event store on SQLite or PostgreSQL, through SQLAlchemy Core."""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from baton.domain.errors import BatonError, ConcurrentWrite, UnknownConversation
from baton.domain.events import (
    Event,
    RecordedEvent,
    event_from_dict,
)
from baton.domain.records import ConversationRecord
from baton.domain.state import ConversationState
from baton.storage import statements as q
from baton.storage.codec import loads, postgres_text, snapshot_text, utc
from baton.storage.contacts import ContactStore
from baton.storage.sqlite_append import EVENT_COLUMNS, AppendJob
from baton.storage.sqlite_writer import (
    SqliteWriter,
    insert_conversation,
    latest_record,
    load_rows,
    sqlite_timestamp,
)
from baton.storage.turn_writes import advance_params, is_activity, turn_writes

logger = logging.getLogger(__name__)

#: A cached conversation's snapshot is rewritten once the log has moved this many events
#: past the stored one (and when the conversation ends): a cold load replays at most a few
#: turns, and most turns skip serializing and writing the whole state.
SNAPSHOT_EVERY = 16


class SqlEventStore(ContactStore):
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
            "has_timers": False,
        }
        if self._writer is not None:
            stamp = sqlite_timestamp(moment)
            row.update(started_at=stamp, last_activity_at=stamp, ended=0, has_timers=0)
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
        """Return the contact's most recently started conversation, ended or not; one with
        events before an empty one (which a crashed or unfinished first turn left)."""
        if self._writer is not None:
            records = self._records
            if records is not None:
                cached = records.latest(account_id, contact_id)
                if cached is not None:
                    return cached
                if records.take_new(account_id, contact_id):
                    return None  # created just now: a read finds nothing
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

    async def load_state(
        self, account_id: str, conversation_id: str, *, fresh: bool = False, keep: bool = True
    ) -> ConversationState:
        """Return the current state: the snapshot plus any events after it; ``fresh``
        reads the database even when the state is cached; ``keep=False`` does not cache a
        state it had to read."""
        if self._cache is not None and not fresh:
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
        if self._cache is not None and keep:
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
    ) -> None:
        """Append events and the new snapshot in one transaction.

        The events get sequence numbers ``expected_version + 1`` onwards;
        ``state.version`` becomes the last of them. The stored snapshot becomes
        ``state`` too, unless the conversation is cached with a stored snapshot
        fewer than ``SNAPSHOT_EVERY`` events old and goes on (a load replays the
        events after the snapshot). Raises ``ConcurrentWrite`` if the log is no
        longer at ``expected_version`` and ``UnknownConversation`` if the
        account has no such conversation. After a successful append the cache
        keeps ``state`` itself (no copy): the caller must not change it.
        Nothing is returned: no caller read the recorded events it once built
        (``read_events`` reads them back).
        """
        version = expected_version + len(events)
        key = (account_id, conversation_id)
        active = is_activity(events)
        previous_version = state.version
        state.version = version
        stored = self._cache.stored_snapshot(key) if self._cache is not None else None
        if stored is None or version - stored >= SNAPSHOT_EVERY or state.ended:
            stored = version
        try:
            snapshot = snapshot_text(state) if stored == version else None
            if self._writer is not None:
                await self._append_sqlite(
                    self._writer, expected_version, events, state, now, key, snapshot, active
                )
            else:
                await self._append_sql(expected_version, events, state, now, key, snapshot, active)
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
        if self._records is not None:
            moment = utc(now) if active else None
            self._records.appended(key, version, moment, state.owner, state.ended)

    async def _append_sql(
        self,
        expected: int,
        events: list[Event],
        state: ConversationState,
        now: datetime,
        key: tuple[str, str],
        snapshot: str | None,
        active: bool,
    ) -> None:
        rows, receipts, replies = turn_writes(key, expected, events, state, now)
        if self._nul_free:
            for receipt in receipts:
                receipt["b_channel"] = postgres_text(receipt["b_channel"])
                receipt["b_message_id"] = postgres_text(receipt["b_message_id"])
        params = advance_params(key, expected, events, state, now, snapshot, active)
        async with self.engine.begin() as conn:
            # the empty conversation a rival makes redundant is dropped: commit, then refuse
            rival = expected == 0 and await _rival_is_live(conn, params)
            if not rival:
                await _write_turn(conn, params, rows, receipts, replies)
        if rival:
            raise _refusal(key[1], expected, exists=True)

    async def _append_sqlite(
        self,
        writer: SqliteWriter,
        expected: int,
        events: list[Event],
        state: ConversationState,
        now: datetime,
        key: tuple[str, str],
        snapshot: str | None,
        active: bool,
    ) -> None:
        stamp = sqlite_timestamp(now)
        account_id, conversation_id = key
        rows, receipts, replies = turn_writes(key, expected, events, state, stamp)
        advance = (
            conversation_id,
            account_id,
            expected,
            expected + len(events),  # the new version
            stamp if active else None,
            state.owner,
            int(state.ended),
            snapshot,
            int(bool(state.timers)),
        )
        records = self._records
        check_latest = records is not None and records.is_latest(key)
        seen = records.seen(key) if records is not None else None
        job = AppendJob(advance, rows, check_latest, seen, receipts, replies)
        done = await writer.append(job)
        if records is not None and done.data_version != self._data_version:
            # Another connection wrote the file: contacts may have changed.
            records.forget_contacts()
            self._data_version = done.data_version
        if done.outcome != "appended":
            raise _refusal(key[1], expected, done.outcome != "missing")
        if check_latest and records is not None:
            records.validated(key, done.data_version)

    async def read_events(
        self, account_id: str, conversation_id: str, after: int = 0, limit: int | None = None
    ) -> list[RecordedEvent]:
        """Return the events after sequence number ``after``, in order (at most ``limit``)."""
        params = {"b_id": conversation_id, "b_account": account_id, "b_after": after}
        statement = q.EVENTS_AFTER
        if limit is not None:
            statement, params["b_limit"] = q.EVENTS_PAGE, limit
        async with self.engine.connect() as conn:
            rows = (await conn.execute(statement, params)).all()
        return [
            RecordedEvent(seq, at, event_from_dict(type_name, loads(data)))
            for seq, type_name, data, at in rows
        ]


async def _write_turn(
    conn: AsyncConnection,
    params: dict[str, Any],
    rows: list[tuple[Any, ...]],
    receipts: list[dict[str, Any]],
    replies: list[dict[str, Any]],
) -> None:
    """Advance the conversation's row (or refuse) and insert what the turn writes."""
    advanced = await conn.execute(q.ADVANCE, params)
    if advanced.rowcount != 1:
        exists = (await conn.execute(q.VERSION, params)).first() is not None
        raise _refusal(params["b_id"], params["b_expected"], exists)
    if rows:
        named = [dict(zip(EVENT_COLUMNS, row, strict=True)) for row in rows]
        await conn.execute(q.INSERT_EVENTS, named)
    if receipts:  # a provider's retry fails here (unique key): nothing is kept
        await conn.execute(q.INSERT_RECEIPT, receipts)
    if replies:
        await conn.execute(q.QUEUE_REPLY, replies)


async def _rival_is_live(conn: AsyncConnection, params: dict[str, Any]) -> bool:
    """Before a conversation's first append: lock its contact's row (two first appends
    of one contact then run one after the other), and tell whether the contact's latest
    other conversation with events is still going, that is another instance opened it
    since this one was created. Then this one, still empty, is deleted, so that it does
    not stay the contact's latest, and the caller's retry finds the live one."""
    await conn.execute(q.LOCK_CONTACT, params)
    rival = (await conn.execute(q.FIRST_APPEND_RIVAL, params)).first()
    if rival is None or rival.ended:
        return False
    await conn.execute(q.DROP_EMPTY, params)
    return True


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


def _refusal(conversation_id: str, expected: int, exists: bool) -> BatonError:
    if not exists:
        return UnknownConversation(conversation_id)
    logger.info(
        "concurrent write refused",
        extra={"conversation_id": conversation_id, "expected_version": expected},
    )
    return ConcurrentWrite(conversation_id, expected)
