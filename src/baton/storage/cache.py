"""A bounded, least-recently-used cache of the latest snapshot per conversation."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

Key = tuple[str, str]


class SnapshotCache:
    """Latest snapshot data per ``(account_id, conversation_id)``, evicting the oldest.

    Entries are plain snapshot dicts: ``ConversationState.from_dict`` builds an
    independent state from one far faster than ``ConversationState.copy()``.
    """

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[Key, dict[str, Any]] = OrderedDict()

    def get(self, key: Key) -> dict[str, Any] | None:
        """Return the cached snapshot data, or None."""
        data = self._entries.get(key)
        if data is not None:
            self._entries.move_to_end(key)
        return data

    def put(self, key: Key, data: dict[str, Any]) -> None:
        """Store snapshot data that no caller holds a reference to."""
        self._entries[key] = data
        self._entries.move_to_end(key)
        if len(self._entries) > self._capacity:
            self._entries.popitem(last=False)

    def evict(self, key: Key) -> None:
        """Forget a conversation (after a concurrent write proved the entry stale)."""
        self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)
