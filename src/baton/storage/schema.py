"""The tables the store reads and writes (their DDL lives in ``migrations/``)."""

from __future__ import annotations

import sqlalchemy as sa

from baton.storage.codec import UtcDateTime

metadata = sa.MetaData()

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", sa.String(), primary_key=True),
    sa.Column("name", sa.String(), nullable=False),
    sa.Column("parent_id", sa.String(), sa.ForeignKey("accounts.id"), nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)

contacts = sa.Table(
    "contacts",
    metadata,
    sa.Column("account_id", sa.String(), nullable=False),
    sa.Column("id", sa.String(), primary_key=True),
    sa.Column("tags", sa.JSON(), nullable=False),
    sa.Column("fields", sa.JSON(), nullable=False),
    sa.Column("language", sa.String(), nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

contact_identities = sa.Table(
    "contact_identities",
    metadata,
    sa.Column("account_id", sa.String(), primary_key=True),
    sa.Column("channel", sa.String(), primary_key=True),
    sa.Column("address", sa.String(), primary_key=True),
    sa.Column(
        "contact_id", sa.String(), sa.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False
    ),
)

conversations = sa.Table(
    "conversations",
    metadata,
    sa.Column("account_id", sa.String(), nullable=False),
    sa.Column("id", sa.String(), primary_key=True),
    sa.Column("contact_id", sa.String(), nullable=False),
    sa.Column("channel", sa.String(), nullable=False),
    sa.Column("started_at", UtcDateTime(), nullable=False),
    sa.Column("last_activity_at", UtcDateTime(), nullable=False),
    sa.Column("ended", sa.Boolean(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("owner", sa.String(), nullable=True),
    sa.Column("snapshot", sa.Text(), nullable=False),
    # a pending timer in the state (migration 0003: what the server's timer rescan reads)
    sa.Column("has_timers", sa.Boolean(), nullable=False, server_default=sa.false()),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("account_id", sa.String(), nullable=False),
    sa.Column(
        "conversation_id",
        sa.String(),
        sa.ForeignKey("conversations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("type", sa.String(), nullable=False),
    sa.Column("type_version", sa.Integer(), nullable=False),
    sa.Column("data", sa.Text(), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),
)

# Filled by the append of a turn (statements.INSERT_RECEIPT, QUEUE_REPLY); read and
# updated by the server (baton.api.db, the outbox worker). DDL: migration 0002.
inbound_receipts = sa.Table(
    "inbound_receipts",
    metadata,
    sa.Column("account_id", sa.String(), primary_key=True),
    sa.Column("channel", sa.String(), primary_key=True),
    sa.Column("message_id", sa.String(), primary_key=True),
    sa.Column("conversation_id", sa.String(), nullable=False),
    sa.Column("seq", sa.Integer(), nullable=False),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("account_id", sa.String(), nullable=False),
    sa.Column("conversation_id", sa.String(), nullable=False),
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("channel", sa.String(), nullable=False),
    sa.Column("address", sa.String(), nullable=False),
    sa.Column("data", sa.Text(), nullable=False),
    sa.Column("idempotency_key", sa.String(), nullable=False),
    sa.Column("status", sa.String(), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("due", sa.Float(), nullable=False),
    sa.Column("last_error", sa.Text(), nullable=True),
    sa.Column("provider_id", sa.String(), nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("finished_at", UtcDateTime(), nullable=True),
)
