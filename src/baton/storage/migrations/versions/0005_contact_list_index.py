"""Index contacts by account and creation, in the order ``GET /v1/contacts`` pages them.

The list is keyed on ``(created_at, id)``, newest first, within an account. With only
``ix_contacts_account`` both SQLite (a temporary B-tree) and PostgreSQL (a sequential scan
and a sort) sorted every contact of the account for each page: 57-167 ms a page at 62,000
contacts. The new index serves the order itself and replaces ``ix_contacts_account``,
which it begins with. Contacts are written when created or changed, never per turn.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the listing index; drop the one it covers."""
    # created_at descending, id ascending: the list's own order, so no part of it is sorted
    columns: list[str | sa.TextClause] = ["account_id", sa.text("created_at DESC"), "id"]
    op.create_index("ix_contacts_account_created", "contacts", columns)
    op.drop_index("ix_contacts_account", table_name="contacts")


def downgrade() -> None:
    """Put the account index back."""
    op.create_index("ix_contacts_account", "contacts", ["account_id"])
    op.drop_index("ix_contacts_account_created", table_name="contacts")
