"""The running server's parts, and what every channel does around a turn."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import partial

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from baton.api import db
from baton.api.errors import ApiError
from baton.api.limits import RateLimiter
from baton.channels.base import Channel
from baton.domain import events as ev
from baton.router.messages import AlreadyTakenIn, Inbound, TurnResult
from baton.runtime.engine import Engine
from baton.server.metrics import Metrics
from baton.server.outbox import OutboxWorker
from baton.server.relay import WebChatRelay
from baton.server.settings import ServerSettings
from baton.server.timers import TimerSchedule
from baton.server.webchat import WebChatHub, reply_frames

#: channels whose message ids the caller picks (a provider's ids are unique on its own):
#: there an id is a sender's, so two senders' "m1" are two messages
CALLER_ID_CHANNELS = frozenset({"rest", "web"})


@dataclass
class Baton:
    """The running server's parts (``app.state.baton``)."""

    engine: Engine
    settings: ServerSettings
    sql: AsyncEngine
    metrics: Metrics
    hub: WebChatHub
    worker: OutboxWorker
    contact_limiter: RateLimiter
    timers: TimerSchedule
    channels: Mapping[str, Channel] = field(default_factory=dict)
    #: web chat turns to and from other instances (PostgreSQL)
    relay: WebChatRelay | None = None

    async def turn(self, inbound: Inbound) -> TurnResult | None:
        """Run a contact's message (None if it is a provider retry already taken in)."""
        inbound = _keyed(inbound)
        account = inbound.account_id
        taken_in = None
        if inbound.message_id is not None:
            message_id = inbound.message_id
            taken_in = partial(db.is_duplicate, self.sql, account, inbound.channel, message_id)
        started = time.perf_counter()
        try:
            # checked under the contact's locks: a retry waits for its original's turn
            result = await self.engine.router.handle(inbound, taken_in)
        except (AlreadyTakenIn, IntegrityError, sqlite3.IntegrityError):
            # taken in before, or the receipt's unique key refused it (a retry on another
            # process while the database's lock of the contact was lost)
            self.metrics.error("duplicate_message")
            return None
        self.metrics.turn(result, inbound.channel, time.perf_counter() - started)
        await self._deliver(result, inbound.channel, account)
        return result

    async def earlier_answer(self, inbound: Inbound) -> EarlierAnswer:
        """For a message already taken in (``turn`` answered None): its conversation, its
        contact, and the replies its turn sent, so a client whose answer was lost on the
        way (a timeout, a crash after the commit) gets them by asking again."""
        inbound = _keyed(inbound)
        if inbound.message_id is None:
            raise ValueError("only a message with an id can have been taken in before")
        account = inbound.account_id
        found = await db.receipt(self.sql, account, inbound.channel, inbound.message_id)
        if found is None:  # pragma: no cover - turn() just said it was taken in
            raise LookupError(f"no receipt for message {inbound.message_id!r}")
        conversation_id, seq = found
        store = self.engine.store
        record = await store.get_conversation(account, conversation_id)
        events = await store.read_events(account, conversation_id, after=seq - 1)
        replies: list[ev.MessageSent] = []
        last = seq
        for recorded in events[1:]:  # after its message_received, until the turn's end
            if recorded.at != events[0].at or isinstance(recorded.event, ev.MessageReceived):
                break
            last = recorded.seq
            if isinstance(recorded.event, ev.MessageSent):
                replies.append(recorded.event)
        return EarlierAnswer(conversation_id, record.contact_id if record else "", replies, last)

    async def after_turn(
        self, result: TurnResult, channel: str, account_id: str | None = None
    ) -> None:
        """What follows a turn no message started (an operator's action, a workflow
        trigger, a timer): its transfers and fallbacks counted, then :meth:`_deliver`."""
        self.metrics.outcomes(result)
        await self._deliver(result, channel, account_id)

    async def _deliver(
        self, result: TurnResult, channel: str, account_id: str | None = None
    ) -> None:
        """Note new timers; wake the outbox for provider channels (web chat replies were
        pushed under the contact's locks: :meth:`push_web`).

        Synchronous channels (REST, Rasa REST) have nothing else to do here: their
        replies go back in the HTTP answer, and no outbox row is queued for them.
        """
        for event in result.events:  # a loop: ``any()`` over a generator costs twice as much
            if type(event) is ev.TimerScheduled:
                account = account_id or await self.timers.account_of(result.conversation_id)
                if account is not None:
                    self.timers.note(account, result)
                break
        if channel in self.worker.by_channel:
            self.worker.notify()

    async def push_web(self, result: TurnResult, channel: str, account: str) -> None:
        """Push a web chat turn's frames to the session's open tabs (the router's
        ``committed``: under the contact's locks, so turns' frames arrive in log order;
        pushed after them, an agent's message came below the customer's later one, and
        a reload moved it)."""
        if channel != "web":
            return
        contact = await self.engine.store.get_contact(account, result.contact_id)
        session = contact.identities.get("web") if contact else None
        if session is not None:
            await self.hub.push((account, session), reply_frames(result.events, result.version))
            if self.relay is not None:  # the session's tabs may be open on other instances
                await self.relay.announce(
                    account, session, result.conversation_id, result.version, len(result.events)
                )

    def rate_limited(self) -> None:
        """Count a request a rate limit refused."""
        self.metrics.error("rate_limited")

    def limit_contact(self, channel: str, address: str) -> None:
        """429 when one contact sends too fast."""
        wait = self.contact_limiter.check(f"{channel}:{address}")
        if wait is not None:
            raise ApiError(
                429,
                "rate_limited",
                f"too many messages from this contact; retry in {wait:.1f}s",
                {"Retry-After": str(max(1, round(wait + 0.5)))},
            )


@dataclass(frozen=True, slots=True)
class EarlierAnswer:
    """What the turn that took a message in answered: where, to whom, what, up to which
    place in the log."""

    conversation_id: str
    contact_id: str
    sent: list[ev.MessageSent]
    seq: int


def _keyed(inbound: Inbound) -> Inbound:
    """The message with its id as stored: on channels whose ids the caller picks, the
    sender's address goes in front (two senders' "m1" are two messages), its own "/"
    and "%" escaped, so sender "a/b" with id "1" and sender "a" with id "b/1" stay two
    messages (an address without them is written as before)."""
    if inbound.channel in CALLER_ID_CHANNELS and inbound.message_id is not None:
        sender = inbound.address.replace("%", "%25").replace("/", "%2F")
        return replace(inbound, message_id=f"{sender}/{inbound.message_id}")
    return inbound
