"""Stored records other than events: contacts and conversations."""

from __future__ import annotations

from dataclasses import field
from datetime import datetime
from typing import TypeVar

from baton.domain.record import record
from baton.domain.values import Value

V = TypeVar("V")


@record
class Contact:
    """A person, with channel identities, tags, custom fields and a language."""

    account_id: str
    contact_id: str
    identities: dict[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    fields: dict[str, Value] = field(default_factory=dict)
    language: str | None = None


def rebase(stored: Contact, before: Contact, after: Contact) -> Contact:
    """``stored`` with the changes that turned ``before`` into ``after``: tags added and
    removed, fields set and cleared, the language and identities changed.

    A turn or an operator changes a copy of the contact read earlier; another instance
    may have saved the contact since. Saving ``after`` whole would undo that instance's
    change; applying the difference keeps both (the later writer wins only where both
    changed the same tag, field or identity).
    """
    removed = set(before.tags) - set(after.tags)
    tags = [tag for tag in stored.tags if tag not in removed]
    tags += [tag for tag in after.tags if tag not in before.tags and tag not in tags]
    return Contact(
        account_id=stored.account_id,
        contact_id=stored.contact_id,
        identities=_rebased(stored.identities, before.identities, after.identities),
        tags=tuple(tags),
        fields=_rebased(stored.fields, before.fields, after.fields),
        language=stored.language if after.language == before.language else after.language,
    )


def _rebased(stored: dict[str, V], before: dict[str, V], after: dict[str, V]) -> dict[str, V]:
    """``stored`` with the keys ``after`` set or changed from ``before``, less those it dropped."""
    merged = {key: value for key, value in stored.items() if key in after or key not in before}
    for key, value in after.items():
        if key not in before or before[key] != value:
            merged[key] = value
    return merged


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
