"""Stored records other than events: contacts and conversations."""

from __future__ import annotations

from dataclasses import field
from datetime import datetime

from baton.domain.record import record
from baton.domain.values import Value


@record
class Contact:
    """A person, with channel identities, tags, custom fields and a language."""

    account_id: str
    contact_id: str
    identities: dict[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    fields: dict[str, Value] = field(default_factory=dict)
    language: str | None = None


@record
class ConversationRecord:
    """A conversation's row: who, where, when, and its log's version."""

    account_id: str
    conversation_id: str
    contact_id: str
    channel: str
    started_at: datetime
    last_activity_at: datetime
    version: int
    owner: str | None = None
    ended: bool = False
