"""The server's own tables (API keys, inbound receipts, outbox), read and written here.

Their DDL lives in storage migration ``0002``. The receipts and the outbox rows
are written by the store's append, in the same transaction as a turn's events
(``baton.storage.statements.INSERT_RECEIPT`` and ``QUEUE_REPLY``); their tables
are declared in ``baton.storage.schema``.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from baton.domain.ports import EventStore
from baton.domain.records import ConversationRecord
from baton.domain.state import ConversationState
from baton.storage import SqlEventStore
from baton.storage.codec import UtcDateTime, postgres_text
from baton.storage.folding import StoredRow, states_of_rows
from baton.storage.schema import conversations, inbound_receipts
from baton.storage.statements import Upserts

metadata = sa.MetaData()

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(), primary_key=True),
    sa.Column("account_id", sa.String(), nullable=False),
    sa.Column("name", sa.String(), nullable=False),
    sa.Column("prefix", sa.String(), nullable=False),
    sa.Column("secret_hash", sa.String(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("revoked_at", UtcDateTime(), nullable=True),
)

KEY_PREFIX = "bk_"


def sql_engine(store: EventStore) -> AsyncEngine:
    """The SQL engine under the store (the server runs on ``SqlEventStore`` only)."""
    if not isinstance(store, SqlEventStore):
        raise TypeError("the server needs the SQL event store (SqlEventStore)")
    return store.engine


def hash_secret(secret: str) -> str:
    """SHA-256 of a key: keys are 32 random bytes, so a fast hash is enough."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key's stored record (never its secret)."""

    key_id: str
    account_id: str
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


def _key(row: sa.Row[Any]) -> ApiKey:
    return ApiKey(row.id, row.account_id, row.name, row.prefix, row.created_at, row.revoked_at)


class Keys:
    """Create, list, revoke and check API keys; secrets are stored hashed."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def create(self, account_id: str, name: str = "") -> tuple[ApiKey, str]:
        """A new key for the account: its record and its secret (shown once)."""
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        key_id = "key_" + secrets.token_hex(8)
        now = datetime.now(UTC)
        row = {
            "id": key_id,
            "account_id": account_id,
            "name": name or key_id,
            "prefix": secret[: len(KEY_PREFIX) + 4],  # enough to tell keys apart
            "secret_hash": hash_secret(secret),
            "created_at": now,
            "revoked_at": None,
        }
        async with self.engine.begin() as conn:
            # the account, unless it exists (one typed statement per dialect: a text
            # statement reusing one parameter as text and varchar failed on PostgreSQL)
            await conn.execute(
                Upserts(self.engine.dialect.name).account,
                {"id": account_id, "name": account_id, "parent_id": None, "created_at": now},
            )
            await conn.execute(api_keys.insert(), row)
        return ApiKey(key_id, account_id, str(row["name"]), str(row["prefix"]), now, None), secret

    async def list(self, account_id: str | None = None) -> list[ApiKey]:
        """Keys, newest first, optionally of one account."""
        query = sa.select(api_keys).order_by(api_keys.c.created_at.desc(), api_keys.c.id)
        if account_id is not None:
            query = query.where(api_keys.c.account_id == account_id)
        async with self.engine.connect() as conn:
            return [_key(r) for r in await conn.execute(query)]

    async def revoke(self, key_id: str) -> bool:
        """Revoke a key; False if there is no such live key."""
        async with self.engine.begin() as conn:
            done = await conn.execute(
                api_keys.update()
                .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=datetime.now(UTC))
            )
        return done.rowcount == 1

    async def authenticate(self, secret: str) -> ApiKey | None:
        """The live key with this secret, or None."""
        query = sa.select(api_keys).where(
            api_keys.c.secret_hash == hash_secret(secret), api_keys.c.revoked_at.is_(None)
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else _key(row)


async def is_duplicate(engine: AsyncEngine, account_id: str, channel: str, message_id: str) -> bool:
    """Whether a provider message id was already taken in (a retry)."""
    if engine.dialect.name == "postgresql":  # stored so: PostgreSQL's text refuses NUL
        channel, message_id = postgres_text(channel), postgres_text(message_id)
    query = sa.select(inbound_receipts.c.seq).where(
        inbound_receipts.c.account_id == account_id,
        inbound_receipts.c.channel == channel,
        inbound_receipts.c.message_id == message_id,
    )
    async with engine.connect() as conn:
        return (await conn.execute(query)).first() is not None


async def receipt(
    engine: AsyncEngine, account_id: str, channel: str, message_id: str
) -> tuple[str, int] | None:
    """The conversation and log place of a message taken in, by its provider message id."""
    if engine.dialect.name == "postgresql":
        channel, message_id = postgres_text(channel), postgres_text(message_id)
    query = sa.select(inbound_receipts.c.conversation_id, inbound_receipts.c.seq).where(
        inbound_receipts.c.account_id == account_id,
        inbound_receipts.c.channel == channel,
        inbound_receipts.c.message_id == message_id,
    )
    async with engine.connect() as conn:
        row = (await conn.execute(query)).first()
    return None if row is None else (str(row[0]), int(row[1]))


@dataclass(frozen=True, slots=True)
class ConversationFilter:
    """Filters of the conversation list that SQL applies; None means any."""

    bot: str | None = None
    channel: str | None = None
    contact_id: str | None = None


#: where a page ended: the sort key of its last item (a time, then an id)
Position = tuple[datetime, str]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

#: ``<microseconds since 1970>.<the id's UTF-8 bytes in hex>``: every string this
#: pattern matches decodes, so a cursor the schema accepts is never refused later
CURSOR_PATTERN = r"^[0-9]{1,17}\.(?:[0-9a-f]{2}){1,500}$"


def encode_cursor(position: Position) -> str:
    """The cursor for the page after ``position``."""
    moment, ident = position
    return f"{(moment - _EPOCH) // _MICROSECOND}.{ident.encode().hex()}"


def decode_cursor(cursor: str) -> Position:
    """The position a cursor names (one matching ``CURSOR_PATTERN``)."""
    micros, ident = cursor.split(".", 1)
    moment = _EPOCH + int(micros) * _MICROSECOND
    return moment, bytes.fromhex(ident).decode(errors="replace")


Keep = Callable[[ConversationRecord, ConversationState], bool]


#: conversations a filtered listing reads at most per page (``keep``: status, mode, human)
MAX_SCANNED = 2_000


async def list_conversations(
    engine: AsyncEngine,
    account_id: str,
    where: ConversationFilter,
    limit: int,
    after: Position | None = None,
    keep: Keep | None = None,
) -> tuple[list[tuple[ConversationRecord, ConversationState]], Position | None]:
    """A page of conversations (most recently active first) and where it ended, if more.

    Pages are keyed on (last activity, id), not on an offset: a conversation that gets
    a turn (or a new one) while a client pages goes to the front, where the next
    listing from the top shows it, without shifting the pages after the cursor, so
    no item is shown twice and none that stayed put is skipped. ``keep`` filters on
    the folded state (what SQL can't see); a page of it reads at most ``MAX_SCANNED``
    conversations, so it may hold fewer items than ``limit``, none even, with a cursor
    to read on from (one request read 42,000 snapshots in 20 s, and turns waited).
    """
    c = conversations.c
    query = sa.select(conversations).where(c.account_id == account_id)
    if where.bot is not None:
        query = query.where(c.owner == where.bot)
    if where.channel is not None:
        query = query.where(c.channel == where.channel)
    if where.contact_id is not None:
        query = query.where(c.contact_id == where.contact_id)
    query = query.order_by(c.last_activity_at.desc(), c.id.desc())
    found: list[tuple[ConversationRecord, ConversationState]] = []
    position = after
    batch = max(limit * 2, 50)
    scanned = 0
    async with engine.connect() as conn:
        while len(found) <= limit:
            if keep is not None and scanned >= MAX_SCANNED:
                # a filter few conversations match: a short page (even an empty one) and a
                # cursor to go on from, rather than one request that reads every snapshot
                return found, position
            scanned += batch
            page = query
            if position is not None:
                moment, ident = position
                page = page.where(
                    sa.or_(
                        c.last_activity_at < moment,
                        sa.and_(c.last_activity_at == moment, c.id < ident),
                    )
                )
            rows = (await conn.execute(page.limit(batch))).all()
            stored = [StoredRow(r.id, r.version, r.snapshot) for r in rows]
            states = await states_of_rows(conn, account_id, stored)  # tails in one query
            for row, state in zip(rows, states, strict=True):
                record = _record(row)
                position = (record.last_activity_at, record.conversation_id)
                if keep is None or keep(record, state):
                    found.append((record, state))
                    if len(found) > limit:
                        break
            if len(rows) < batch:
                break
    if len(found) > limit:
        last = found[limit - 1][0]
        return found[:limit], (last.last_activity_at, last.conversation_id)
    return found, None


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


async def list_contacts(
    engine: AsyncEngine, account_id: str, limit: int, after: Position | None = None
) -> tuple[list[str], Position | None]:
    """A page of contact ids (newest first) and where it ended, if there are more.

    Keyed on (created at, id), so contacts created while a client pages don't shift
    the pages after them (an offset would show an item twice).
    """
    from baton.storage.schema import contacts

    c = contacts.c
    query = (
        sa.select(c.id, c.created_at)
        .where(c.account_id == account_id)
        .order_by(c.created_at.desc(), c.id)
        .limit(limit + 1)
    )
    if after is not None:
        moment, ident = after
        query = query.where(
            sa.or_(c.created_at < moment, sa.and_(c.created_at == moment, c.id > ident))
        )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    if len(rows) > limit:
        last = rows[limit - 1]
        return [r.id for r in rows[:limit]], (last.created_at, last.id)
    return [r.id for r in rows], None
