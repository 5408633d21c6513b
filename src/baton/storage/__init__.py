"""The event store: conversation logs, snapshots, contacts, on SQLite or PostgreSQL."""

from __future__ import annotations

from baton.storage.engine import default_sqlite_url
from baton.storage.store import SqlEventStore

__all__ = ["SqlEventStore", "default_sqlite_url"]
