"""Drop the triggers on ``events``: the append now writes receipts and outbox rows itself.

Migration ``0002`` filled ``inbound_receipts`` and ``outbox`` with two ``AFTER
INSERT`` triggers on ``events``. They ran for every event row of every channel
(about seven a turn), although only a ``message_received`` with a provider
message id or a ``message_sent`` on a provider channel writes anything: on
SQLite that was 40% of the time spent inserting a turn's events. The store's
append now runs ``INSERT_RECEIPT`` and ``QUEUE_REPLY``
(``baton.storage.statements``) for just those events, in the same transaction
as the events, so the guarantees stay: a retried provider message fails the
whole append on the receipt's unique key, and a reply is never committed
without its outbox row.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import importlib

from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

_TRIGGERS = ("outbox_on_message_sent", "receipt_on_message_received")
_FUNCTIONS = ("baton_outbox_on_message_sent()", "baton_receipt_on_message_received()")


def upgrade() -> None:
    """Drop both triggers (and, on PostgreSQL, their functions)."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    for name in _TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + ("" if sqlite else " ON events"))
    if not sqlite:
        for function in _FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {function}")


def downgrade() -> None:
    """Create the triggers again, as ``0002`` did."""
    server = importlib.import_module("baton.storage.migrations.versions.0002_server")
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in server.SQLITE_TRIGGERS if sqlite else server.POSTGRES_TRIGGERS:
        op.execute(statement)
