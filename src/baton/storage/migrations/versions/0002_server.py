"""Add API keys, the inbound receipts that drop provider retries, and the outbox.

The receipts and the outbox are filled by triggers on ``events``: a
``message_received`` with a provider message id claims its receipt, and a
``message_sent`` in a conversation on a provider channel (sms, whatsapp,
messenger, instagram) queues an outbox row, both inside the transaction
that appends the turn. A retried provider message therefore fails the whole
append (a unique-key violation) and nothing of it is stored; a reply is
never committed without its outbox row, nor queued for a turn that rolled back.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

OUTBOX_CHANNELS = "('sms', 'whatsapp', 'messenger', 'instagram')"

SQLITE_TRIGGERS = [
    f"""
    CREATE TRIGGER outbox_on_message_sent AFTER INSERT ON events
    FOR EACH ROW WHEN NEW.type = 'message_sent'
    BEGIN
        INSERT INTO outbox (account_id, conversation_id, seq, channel, address, data,
                            idempotency_key, status, attempts, due, created_at)
        SELECT NEW.account_id, NEW.conversation_id, NEW.seq, c.channel, i.address, NEW.data,
               NEW.conversation_id || ':' || NEW.seq, 'pending', 0, 0, NEW.at
        FROM conversations AS c
        JOIN contact_identities AS i
          ON i.account_id = c.account_id AND i.contact_id = c.contact_id
         AND i.channel = c.channel
        WHERE c.id = NEW.conversation_id AND c.channel IN {OUTBOX_CHANNELS};
    END
    """,
    """
    CREATE TRIGGER receipt_on_message_received AFTER INSERT ON events
    FOR EACH ROW WHEN NEW.type = 'message_received'
        AND json_extract(NEW.data, '$.message_id') IS NOT NULL
    BEGIN
        INSERT INTO inbound_receipts (account_id, channel, message_id, conversation_id, seq)
        VALUES (NEW.account_id, json_extract(NEW.data, '$.channel'),
                json_extract(NEW.data, '$.message_id'), NEW.conversation_id, NEW.seq);
    END
    """,
]

POSTGRES_TRIGGERS = [
    f"""
    CREATE FUNCTION baton_outbox_on_message_sent() RETURNS trigger AS $$
    BEGIN
        INSERT INTO outbox (account_id, conversation_id, seq, channel, address, data,
                            idempotency_key, status, attempts, due, created_at)
        SELECT NEW.account_id, NEW.conversation_id, NEW.seq, c.channel, i.address, NEW.data,
               NEW.conversation_id || ':' || NEW.seq, 'pending', 0, 0, NEW.at
        FROM conversations AS c
        JOIN contact_identities AS i
          ON i.account_id = c.account_id AND i.contact_id = c.contact_id
         AND i.channel = c.channel
        WHERE c.id = NEW.conversation_id AND c.channel IN {OUTBOX_CHANNELS};
        RETURN NULL;
    END $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER outbox_on_message_sent AFTER INSERT ON events
    FOR EACH ROW WHEN (NEW.type = 'message_sent')
    EXECUTE FUNCTION baton_outbox_on_message_sent()
    """,
    """
    CREATE FUNCTION baton_receipt_on_message_received() RETURNS trigger AS $$
    BEGIN
        IF (NEW.data::json ->> 'message_id') IS NOT NULL THEN
            INSERT INTO inbound_receipts (account_id, channel, message_id, conversation_id, seq)
            VALUES (NEW.account_id, NEW.data::json ->> 'channel', NEW.data::json ->> 'message_id',
                    NEW.conversation_id, NEW.seq);
        END IF;
        RETURN NULL;
    END $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER receipt_on_message_received AFTER INSERT ON events
    FOR EACH ROW WHEN (NEW.type = 'message_received')
    EXECUTE FUNCTION baton_receipt_on_message_received()
    """,
]


def upgrade() -> None:
    """Create the tables and the triggers that fill them."""
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("account_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("prefix", sa.String(), nullable=False),
        sa.Column("secret_hash", sa.String(), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_api_keys_account", "api_keys", ["account_id"])
    op.create_table(
        "inbound_receipts",
        sa.Column("account_id", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("message_id", sa.String(), nullable=False),
        sa.Column("conversation_id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "channel", "message_id"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.String(), nullable=False),
        sa.Column("conversation_id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("address", sa.String(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.String(), nullable=False, unique=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due", sa.Float(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("provider_id", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_outbox_due", "outbox", ["status", "due", "id"])
    triggers = SQLITE_TRIGGERS if op.get_bind().dialect.name == "sqlite" else POSTGRES_TRIGGERS
    for statement in triggers:
        op.execute(statement)


def downgrade() -> None:
    """Drop the triggers and tables."""
    op.execute("DROP TRIGGER IF EXISTS outbox_on_message_sent" + _on_events())
    op.execute("DROP TRIGGER IF EXISTS receipt_on_message_received" + _on_events())
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP FUNCTION IF EXISTS baton_outbox_on_message_sent()")
        op.execute("DROP FUNCTION IF EXISTS baton_receipt_on_message_received()")
    op.drop_table("outbox")
    op.drop_table("inbound_receipts")
    op.drop_table("api_keys")


def _on_events() -> str:
    return "" if op.get_bind().dialect.name == "sqlite" else " ON events"
