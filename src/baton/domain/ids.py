"""Typed identifiers; all are strings on the wire."""

from __future__ import annotations

import uuid
from typing import NewType

AccountId = NewType("AccountId", str)
ContactId = NewType("ContactId", str)
ConversationId = NewType("ConversationId", str)
BotId = NewType("BotId", str)

DEFAULT_ACCOUNT = AccountId("default")


def new_id(prefix: str) -> str:
    """Return a random id such as ``conv_3f2a...`` (prefix says what it names)."""
    return f"{prefix}_{uuid.uuid4().hex}"
