"""Flag the conversations that have a pending timer, so the server's rescan reads only those.

Every append writes ``has_timers`` from the conversation's state. The column is
not indexed: an index would be rewritten by every append (SQLite updates an
index whose column is in the ``SET`` list, changed or not), while the rescan
filters it in SQL once a minute, on a pool thread, without the event loop.
Conversations open before this revision are flagged (their timers are not
known without folding their log), so a rescan still reads them until their
next turn rewrites the flag.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the flag; set it on every open conversation."""
    # a plain ADD COLUMN (SQLite has one): batch mode would rebuild the table under the
    # outbox trigger that reads it
    op.add_column(
        "conversations",
        sa.Column("has_timers", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    conversations = sa.table(
        "conversations", sa.column("ended", sa.Boolean()), sa.column("has_timers", sa.Boolean())
    )
    op.execute(
        conversations.update()
        .where(conversations.c.ended == sa.false())
        .values(has_timers=sa.true())
    )


def downgrade() -> None:
    """Drop the flag."""
    op.drop_column("conversations", "has_timers")
