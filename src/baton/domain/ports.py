"""The small protocols through which the router meets its collaborators."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

from baton.domain.events import Event, RecordedEvent
from baton.domain.record import record
from baton.domain.records import Contact, ConversationRecord
from baton.domain.state import ConversationState


class EventStore(Protocol):
    """Append-only conversation logs with snapshots, contacts and conversations."""

    async def open(self) -> None:
        """Create or migrate the schema; call once before use."""

    async def close(self) -> None:
        """Release connections."""

    async def problem(self) -> str | None:
        """Why the store can't serve a turn now (its file gone or unreadable, its disk
        full), or None; a reachable database is checked by a query of its own."""

    def turn_lock(self, account_id: str, contact_id: str) -> AbstractAsyncContextManager[None]:
        """Held around a turn of the contact, so that it is the contact's only turn on the
        database at a time (across processes where the store is shared by several)."""

    async def contact_for_identity(self, account_id: str, channel: str, address: str) -> Contact:
        """Return the contact with this channel identity, creating it if new."""

    async def identity_owner(self, account_id: str, channel: str, address: str) -> str | None:
        """The id of the account's contact with this channel identity, if any."""

    async def get_contact(self, account_id: str, contact_id: str) -> Contact | None:
        """Return a contact, or None if the account has no such contact."""

    async def save_contact(self, contact: Contact) -> None:
        """Insert or update a contact (tags, fields, language, identities)."""

    async def change_contact(self, before: Contact, after: Contact) -> Contact:
        """Save what changed from ``before`` to ``after`` onto the contact as stored now,
        keeping changes saved since ``before`` was read; return the contact as saved."""

    async def latest_conversation(
        self, account_id: str, contact_id: str
    ) -> ConversationRecord | None:
        """Return the contact's most recent conversation, ended or not; one with events
        before an empty one."""

    async def create_conversation(
        self, account_id: str, contact_id: str, channel: str, now: datetime
    ) -> ConversationRecord:
        """Create an empty conversation (version 0) for the contact."""

    async def get_conversation(
        self, account_id: str, conversation_id: str
    ) -> ConversationRecord | None:
        """Return a conversation's row, or None outside the account."""

    async def load_state(
        self, account_id: str, conversation_id: str, *, fresh: bool = False, keep: bool = True
    ) -> ConversationState:
        """Return the current state: the snapshot plus any events after it; ``fresh``
        reads the database even when a cached state is at hand (which another instance
        may have moved past); ``keep=False`` leaves a state read from the database out of
        the cache (a sweep over many conversations would push the live ones out)."""

    async def append(
        self,
        account_id: str,
        conversation_id: str,
        expected_version: int,
        events: list[Event],
        state: ConversationState,
        now: datetime,
    ) -> None:
        """Append events and the new snapshot in one transaction.

        The events get sequence numbers ``expected_version + 1`` onwards
        (``read_events`` returns them as recorded); nothing is returned.
        Raises ``ConcurrentWrite`` if the log is no longer at ``expected_version``.
        The store may keep ``state``: once the append succeeds, the caller must not
        change it (load the state again to go on).
        """

    async def read_events(
        self, account_id: str, conversation_id: str, after: int = 0, limit: int | None = None
    ) -> list[RecordedEvent]:
        """Return the events after sequence number ``after``, in order (at most ``limit``)."""

    async def list_conversations(
        self, account_id: str, limit: int = 50, offset: int = 0
    ) -> list[ConversationRecord]:
        """Return conversations, most recently active first."""


@record
class IntentMatch:
    """A candidate intent, namespaced ``bot.intent``, with its confidence."""

    bot_id: str
    intent: str
    confidence: float


@record
class Recognition:
    """What a classifier made of a message: ranked candidates, best first.

    ``best`` is None when nothing passed the threshold (out of scope); ``confident`` holds
    the candidates that passed it, best first (``best`` is the first of them).
    """

    best: IntentMatch | None
    ranking: tuple[IntentMatch, ...] = ()
    confident: tuple[IntentMatch, ...] = ()

    def runner_up_of(self, chosen: IntentMatch) -> IntentMatch | None:
        """The best candidate from another intent than ``chosen``, if any."""
        return next((match for match in self.ranking if match.intent != chosen.intent), None)

    @property
    def runner_up(self) -> IntentMatch | None:
        """The best candidate from another intent than ``best`` (the first, without one)."""
        if self.best is None:
            return self.ranking[0] if self.ranking else None
        return self.runner_up_of(self.best)


class IntentClassifier(Protocol):
    """Maps a message to ranked intents; cheap and synchronous."""

    def classify(self, text: str) -> Recognition:
        """Return ranked candidates; ``best`` is None when none is confident."""


class CrossBotIndex(Protocol):
    """A collaboration group's classifier across its bots."""

    def classify(self, text: str, exclude: str | None = None) -> Recognition:
        """Ranked candidates of every bot but ``exclude`` (the bot that could not match)."""


class Clock(Protocol):
    """Tells the time; tests use a settable one from ``baton.testing``."""

    def now(self) -> datetime:
        """Return the current time, timezone-aware (UTC)."""
