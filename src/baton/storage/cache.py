"""Bounded, least-recently-used caches: snapshots per conversation, records per contact."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import TypeVar

from baton.domain.records import Contact, ConversationRecord
from baton.domain.state import ConversationState

Key = tuple[str, str]
V = TypeVar("V")


class _Lru(OrderedDict[Key, V]):
    """An ``OrderedDict`` that forgets its oldest entries beyond ``capacity``."""

    def __init__(self, capacity: int) -> None:
        super().__init__()
        self.capacity = capacity

    def fetch(self, key: Key) -> V | None:
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value

    def keep(self, key: Key, value: V) -> V | None:
        """Store a value; return the value it pushed out, if any."""
        self[key] = value
        self.move_to_end(key)
        if len(self) > self.capacity:
            return self.popitem(last=False)[1]
        return None


class SnapshotCache:
    """Latest state per ``(account_id, conversation_id)``, evicting the oldest, and the
    version of the snapshot the database holds for it.

    The cache hands out copies (``ConversationState.copy()`` shares only
    frozen records), so no caller can change a cached state: a turn that
    fails half-way leaves it as it was. ``put`` takes the state it is given
    without copying it (an append's state, which its caller is done with: one
    copy per turn fewer); ``offer`` copies, as its caller goes on with it.
    """

    def __init__(self, capacity: int) -> None:
        self._entries: _Lru[tuple[ConversationState, int]] = _Lru(capacity)

    def get(self, key: Key) -> ConversationState | None:
        """Return a copy of the cached state, or None."""
        entry = self._entries.fetch(key)
        return None if entry is None else entry[0].copy()

    def stored_snapshot(self, key: Key) -> int | None:
        """The version of the snapshot in the database, if the conversation is cached."""
        entry = self._entries.get(key)
        return None if entry is None else entry[1]

    def put(self, key: Key, state: ConversationState, stored_snapshot: int) -> None:
        """Store a conversation's latest state, and the stored snapshot's version.

        The cache keeps ``state`` itself: the caller must not change it afterwards.
        """
        self._entries.keep(key, (state, stored_snapshot))

    def offer(self, key: Key, state: ConversationState, stored_snapshot: int) -> None:
        """Store (a copy of) a state just read, unless an append cached one meanwhile."""
        if key not in self._entries:
            self._entries.keep(key, (state.copy(), stored_snapshot))

    def evict(self, key: Key) -> None:
        """Forget a conversation (after a concurrent write proved the entry stale)."""
        self._entries.pop(key, None)

    def clear(self) -> None:
        """Forget everything."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


class RecordCache:
    """Each contact's latest conversation row, and contacts by channel identity.

    Only for a SQLite file, whose one writer is this process's writer thread:
    every append updates the cached row it touches and every new conversation
    replaces its contact's entry. Another process writing the same file is
    caught in the append's transaction (the version moved, or the conversation
    is no longer the contact's latest): the entry is evicted and the append
    raises ``ConcurrentWrite``, so the retry reads the rows again. A contact
    created here is known to have no conversation until its creator yields to
    the event loop (``take_new``): a new contact's turn makes no read for it.
    """

    def __init__(self, capacity: int) -> None:
        self._latest: _Lru[ConversationRecord] = _Lru(capacity)
        # (account, conversation) -> the contact whose latest conversation it is
        self._owner: dict[Key, Key] = {}
        # (account, conversation) -> data_version of the last append that found it latest
        self._seen: dict[Key, int] = {}
        self._contacts: _Lru[Contact] = _Lru(capacity)
        # (account, contact) of contacts created here in this turn of the event loop
        self._new: set[Key] = set()

    # -- latest conversation per contact ---------------------------------------

    def latest(self, account_id: str, contact_id: str) -> ConversationRecord | None:
        """The cached latest conversation of a contact, or None if not cached."""
        return self._latest.fetch((account_id, contact_id))

    def created_contact(self, account_id: str, contact_id: str) -> None:
        """A contact was created here just now: until the caller next yields to the event
        loop, it has no conversation (see ``take_new``)."""
        if not self._new:
            asyncio.get_running_loop().call_soon(self._new.clear)
        self._new.add((account_id, contact_id))

    def take_new(self, account_id: str, contact_id: str) -> bool:
        """Whether the contact was created here in this turn of the event loop (answered
        once): then it has no conversation, and no read is needed to know it.

        Its id is new, so no other process could start a conversation for it before
        its creation committed; the read this saves would run a turn of the loop
        later, and the conversation a caller then creates as much earlier.
        """
        key = (account_id, contact_id)
        if key in self._new:
            self._new.discard(key)
            return True
        return False

    def set_latest(self, record: ConversationRecord) -> None:
        """Record a contact's latest conversation (just read or just created)."""
        contact_key = (record.account_id, record.contact_id)
        self._new.discard(contact_key)
        previous = self._latest.get(contact_key)
        if previous is not None:
            self._drop((previous.account_id, previous.conversation_id))
        key = (record.account_id, record.conversation_id)
        self._seen.pop(key, None)
        self._owner[key] = contact_key
        pushed = self._latest.keep(contact_key, record)
        if pushed is not None:
            self._drop((pushed.account_id, pushed.conversation_id))

    def _drop(self, key: Key) -> None:
        self._owner.pop(key, None)
        self._seen.pop(key, None)

    def appended(
        self,
        key: Key,
        version: int,
        moment: object,
        owner: str | None,
        ended: bool,
    ) -> None:
        """Update the cached row of a conversation after a committed append (``moment``
        None: the append was no activity, ``last_activity_at`` stays)."""
        contact_key = self._owner.get(key)
        if contact_key is None:
            return
        record = self._latest.get(contact_key)
        if record is None or record.conversation_id != key[1]:  # pragma: no cover
            self._drop(key)
            return
        self._latest[contact_key] = ConversationRecord(
            account_id=record.account_id,
            conversation_id=record.conversation_id,
            contact_id=record.contact_id,
            channel=record.channel,
            started_at=record.started_at,
            last_activity_at=record.last_activity_at if moment is None else moment,  # type: ignore[arg-type]
            version=version,
            owner=owner,
            ended=ended,
        )

    def is_latest(self, key: Key) -> bool:
        """Whether the conversation is cached as its contact's latest."""
        return key in self._owner

    def seen(self, key: Key) -> int | None:
        """The file's ``data_version`` when an append last found the conversation latest."""
        return self._seen.get(key)

    def validated(self, key: Key, data_version: int) -> None:
        """An append at ``data_version`` found (or knew) the conversation its contact's latest."""
        if key in self._owner:
            self._seen[key] = data_version

    def forget_conversation(self, key: Key) -> None:
        """Drop a conversation's cached row (another writer touched it)."""
        contact_key = self._owner.pop(key, None)
        self._seen.pop(key, None)
        if contact_key is not None:
            self._latest.pop(contact_key, None)

    # -- contacts by identity --------------------------------------------------

    def contact(self, account_id: str, channel: str, address: str) -> Contact | None:
        """The cached contact holding a channel identity, or None."""
        return self._contacts.fetch((account_id, f"{channel}\x00{address}"))

    def set_contact(self, channel: str, address: str, contact: Contact) -> None:
        """Remember which contact holds an identity."""
        self._contacts.keep((contact.account_id, f"{channel}\x00{address}"), contact)

    def forget_contacts(self) -> None:
        """Drop every cached contact (one was saved, or another process wrote the file)."""
        self._contacts.clear()
        self._new.clear()

    def clear(self) -> None:
        """Forget everything."""
        self._latest.clear()
        self._owner.clear()
        self._seen.clear()
        self._contacts.clear()
        self._new.clear()
