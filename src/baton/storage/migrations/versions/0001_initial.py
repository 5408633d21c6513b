"""Create accounts, contacts, identities, conversations and events.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create the initial schema."""
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("parent_id", sa.String(), sa.ForeignKey("accounts.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "contacts",
        sa.Column("account_id", sa.String(), nullable=False),
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_contacts_account", "contacts", ["account_id"])
    op.create_table(
        "contact_identities",
        sa.Column("account_id", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("address", sa.String(), nullable=False),
        sa.Column(
            "contact_id",
            sa.String(),
            sa.ForeignKey("contacts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("account_id", "channel", "address"),
    )
    op.create_index("ix_contact_identities_contact", "contact_identities", ["contact_id"])
    op.create_table(
        "conversations",
        sa.Column("account_id", sa.String(), nullable=False),
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("contact_id", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(), nullable=True),
        sa.Column("snapshot", sa.Text(), nullable=False),
    )
    op.create_index(
        "ix_conversations_activity", "conversations", ["account_id", "last_activity_at", "id"]
    )
    op.create_index(
        "ix_conversations_contact", "conversations", ["account_id", "contact_id", "started_at"]
    )
    op.create_table(
        "events",
        sa.Column("account_id", sa.String(), nullable=False),
        sa.Column(
            "conversation_id",
            sa.String(),
            sa.ForeignKey("conversations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("type_version", sa.Integer(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("conversation_id", "seq"),
        # Clustered by (conversation_id, seq) on SQLite: one b-tree to write and scan.
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    """Drop everything the upgrade created."""
    op.drop_table("events")
    op.drop_table("conversations")
    op.drop_table("contact_identities")
    op.drop_table("contacts")
    op.drop_table("accounts")
