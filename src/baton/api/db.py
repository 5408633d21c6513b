"""The server's own tables (API keys, inbound receipts, outbox), read and written here.

Their DDL lives in storage migration ``0002``. The receipts and the outbox rows
are written by the store's append, in the same transaction as a turn's events
(``baton.storage.statements.INSERT_RECEIPT`` and ``QUEUE_REPLY``); their tables
are declared in ``baton.storage.schema``.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from baton.domain.ports import EventStore
from baton.domain.records import ConversationRecord
from baton.domain.state import ConversationState
from baton.router.guards import human_owns
from baton.storage import SqlEventStore
from baton.storage.codec import UtcDateTime
from baton.storage.folding import StoredRow, states_of_rows
from baton.storage.schema import conversations, inbound_receipts

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
            await conn.execute(
                sa.text(
                    "INSERT INTO accounts (id, name, created_at) SELECT :id, :id, :now "
                    "WHERE NOT EXISTS (SELECT 1 FROM accounts WHERE id = :id)"
                ).bindparams(sa.bindparam("now", type_=UtcDateTime())),
                {"id": account_id, "now": now},
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
    query = sa.select(inbound_receipts.c.seq).where(
        inbound_receipts.c.account_id == account_id,
        inbound_receipts.c.channel == channel,
        inbound_receipts.c.message_id == message_id,
    )
    async with engine.connect() as conn:
        return (await conn.execute(query)).first() is not None


@dataclass(frozen=True, slots=True)
class ConversationFilter:
    """Filters of the conversation list; None means any."""

    bot: str | None = None
    status: str | None = None
    mode: str | None = None
    channel: str | None = None
    human: bool | None = None
    contact_id: str | None = None
    #: the time ``human`` is judged at (a human's takeover may be timed)
    now: datetime | None = None

    def matches(self, state: ConversationState, default_mode: str) -> bool:
        """Whether a conversation's state passes the filters the SQL can't apply."""
        if self.human is not None:
            human = human_owns(state, self.now) if self.now is not None else state.escalated
            if human != self.human:
                return False
        owner = state.owner
        if self.status is not None:
            if owner is None:
                return self.status == "active"
            if state.status_of(owner).status != self.status:
                return False
        if self.mode is not None:
            if owner is None:
                return self.mode == default_mode
            return state.mode_of(owner, default_mode) == self.mode
        return True


async def list_conversations(
    engine: AsyncEngine,
    account_id: str,
    where: ConversationFilter,
    limit: int,
    offset: int,
    default_mode: str = "auto",
) -> tuple[list[tuple[ConversationRecord, ConversationState]], int | None]:
    """A page of conversations (most recently active first) and the next offset, if any."""
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
    position = offset
    batch = max(limit * 2, 50)
    async with engine.connect() as conn:
        while len(found) <= limit:
            rows = (await conn.execute(query.limit(batch).offset(position))).all()
            stored = [StoredRow(r.id, r.version, r.snapshot) for r in rows]
            states = await states_of_rows(conn, account_id, stored)  # tails in one query
            for row, state in zip(rows, states, strict=True):
                position += 1
                if where.matches(state, default_mode):
                    found.append((_record(row), state))
                    if len(found) > limit:
                        break
            if len(rows) < batch:
                break
    if len(found) > limit:
        return found[:limit], position - 1
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
    engine: AsyncEngine, account_id: str, limit: int, offset: int
) -> tuple[list[str], int | None]:
    """A page of contact ids (newest first) and the next offset, if any."""
    from baton.storage.schema import contacts

    query = (
        sa.select(contacts.c.id)
        .where(contacts.c.account_id == account_id)
        .order_by(contacts.c.created_at.desc(), contacts.c.id)
        .limit(limit + 1)
        .offset(offset)
    )
    async with engine.connect() as conn:
        ids = [r.id for r in await conn.execute(query)]
    if len(ids) > limit:
        return ids[:limit], offset + limit
    return ids, None
