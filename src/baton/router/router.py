"""The router: one entry point for messages and operator actions."""

from __future__ import annotations

import asyncio
import logging
import random
import re
import unicodedata
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from functools import partial

from baton.domain import events as ev
from baton.domain.errors import ConcurrentWrite
from baton.domain.ports import Clock, EventStore
from baton.domain.records import Contact, ConversationRecord
from baton.domain.state import ConversationState
from baton.domain.text import composed
from baton.domain.turns import Bot
from baton.router import messages as m
from baton.router.automation import Automation
from baton.router.calls import leave_stopped_calls
from baton.router.commands import OperatorCommands
from baton.router.guards import expired_pauses, find_owner
from baton.router.locks import KeyedLocks
from baton.router.statuses import lasting_statuses
from baton.router.turn import GroupIndex, TurnContext, TurnRunner
from baton.spec.project import Project
from baton.workflows.engine import WorkflowEngine
from baton.workflows.language import LanguageDetector

log = logging.getLogger(__name__)

#: attempts of a turn whose append found that another instance wrote its conversation
#: first; between them the turn waits a random while of up to RETRY_PAUSE x 2^attempt
#: seconds, so two instances racing on one contact don't collide again in step
RETRIES = 8
RETRY_PAUSE = 0.002


#: a lone UTF-16 surrogate: what Python makes of undecodable input bytes
#: (``surrogateescape``); it can't be encoded as UTF-8, so it becomes U+FFFD
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class Router:
    """Runs turns: finds the conversation, its owner, the bots; commits the events."""

    def __init__(
        self,
        project: Project,
        bots: Mapping[str, Bot],
        store: EventStore,
        clock: Clock,
        groups: GroupIndex,
        *,
        workflows: WorkflowEngine | None = None,
        detector: LanguageDetector | None = None,
    ) -> None:
        self.project = project
        self.store = store
        self.clock = clock
        self.runner = TurnRunner(project, bots, groups)
        self.automation = Automation(project, self.runner, workflows, detector)
        self.commands = OperatorCommands(project, store, self.runner, self.automation)
        self.locks = KeyedLocks()
        #: called under the contact's locks once a turn is committed, with its result, its
        #: channel and its account: what must follow the log's order (web chat pushes;
        #: pushed after the locks, a turn's frames could overtake the one before)
        self.committed: Callable[[m.TurnResult, str, str], Awaitable[None]] | None = None
        self.settings = project.settings.settings
        self._idle_after = timedelta(minutes=self.settings.idle_timeout_minutes)

    # -- messages -----------------------------------------------------------

    async def handle(
        self, inbound: m.Inbound, taken_in: Callable[[], Awaitable[bool]] | None = None
    ) -> m.TurnResult:
        """Process a contact's message: record it, route it, reply.

        ``taken_in`` (a channel's receipt check for a message with an id) runs once the
        contact's locks are held, this process's and the database's: a retry that arrives
        while its original's turn still runs waits for it, and is then found taken in
        (``AlreadyTakenIn``) instead of running the turn, actions and webhooks included,
        a second time (its append would fail on the receipt, after the fact)."""
        # The address lock keeps one sender's messages in arrival order even while
        # the store looks the contact up; the contact lock (in _locked) orders them
        # with operator commands.
        async with self.locks.hold(f"{inbound.account_id}/{inbound.channel}/{inbound.address}"):
            find = partial(
                self.store.contact_for_identity,
                inbound.account_id,
                inbound.channel,
                inbound.address,
            )
            return await self._locked(
                await find(),
                inbound.channel,
                lambda ctx: self._message(ctx, inbound),
                load=find,
                taken_in=taken_in,
            )

    async def _message(self, ctx: TurnContext, inbound: m.Inbound) -> str | None:
        text = inbound.text
        if not text.isascii():  # bytes that were not UTF-8 (a terminal's) can't be stored
            text = composed(_LONE_SURROGATE.sub("\ufffd", text))  # "café" typed decomposed
        rejected = self._validate(text)
        if inbound.unsupported is not None:
            kind = inbound.unsupported
            detail = f"{_article(kind)} {kind} message; only text is supported on this channel"
            rejected = ("unsupported_type", detail)
        if inbound.rate_limited:
            rejected = ("rate_limited", "the contact sent more messages than its rate limit")
        # A too-long message is kept only up to the limit; its rejection records its length.
        kept = text[: self.settings.max_message_chars]
        ctx.emit(ev.MessageReceived(kept, inbound.channel, inbound.message_id))
        if rejected is not None:
            reason, detail = rejected
            ctx.emit(ev.MessageRejected(reason, detail, len(text), text[:80]))
            return reason
        for bot_id in expired_pauses(ctx.state, ctx.now):
            ctx.emit(ev.BotStatusChanged(bot_id, "active", None, by="timer"))
        leave_stopped_calls(ctx)
        self.automation.contact_replied(ctx)
        self.automation.detect_language(ctx, text)
        await self.automation.react(ctx, phase="before")
        if ctx.state.ended:
            return None
        owner = find_owner(ctx.state, self.project, ctx.now)
        if owner.bot_id is None:
            ctx.emit(ev.MessageHeld(owner.reason, ctx.state.owner))
        else:
            await self.runner.run(ctx, owner.bot_id, text, "message")
        await self.automation.react(ctx)
        return None

    def _validate(self, text: str) -> tuple[str, str] | None:
        limit = self.settings.max_message_chars
        if not text:
            return "empty", "the message is empty"
        if not any(_visible(ch) for ch in text):
            return "blank", "the message has only whitespace or invisible characters"
        if len(text) > limit:
            return "too_long", f"the message has {len(text)} characters; the limit is {limit}"
        return None

    # -- operator actions ---------------------------------------------------

    async def command(
        self,
        account_id: str,
        contact_id: str,
        command: m.Command,
        channel: str = "web",
        conversation_id: str | None = None,
    ) -> m.TurnResult:
        """Apply an operator's (or a workflow's) command to the contact's conversation.

        With ``conversation_id`` the command is for that conversation only: if it has ended
        or a newer one replaced it by the time the contact's lock is held,
        :class:`~baton.router.messages.ConversationGone` is raised and nothing happens.
        """
        new = Contact(account_id, contact_id)
        if isinstance(command, m.EndConversation) and conversation_id is None:
            latest = await self.store.latest_conversation(account_id, contact_id)
            idle = latest is not None and (
                self.clock.now() - latest.last_activity_at > self._idle_after
            )
            if latest is None or latest.ended or idle:  # ending would open one to end it
                if command.reason == m.NEW_CONVERSATION:  # /new: already the case
                    return m.TurnResult(
                        latest.conversation_id if latest else "", contact_id, [], []
                    )
                raise m.CommandRefused("no conversation is open (the contact's last one ended)")

        async def find() -> Contact:
            found = await self.store.get_contact(account_id, contact_id)
            if found is None:
                await self.store.save_contact(new)
            return found or new

        apply = partial(self.commands.apply, command=command)
        return await self._locked(new, channel, apply, load=find, meant=conversation_id)

    async def update_contact(
        self, account_id: str, contact_id: str, change: Callable[[Contact], Contact]
    ) -> Contact | None:
        """Change a contact outside a turn (its language, say) under the contact's lock, so
        no concurrent turn saves over it; None if the account has no such contact."""
        async with self.locks.hold(f"{account_id}/{contact_id}"):
            found = await self.store.get_contact(account_id, contact_id)
            if found is None:
                return None
            changed = change(found)
            if changed != found:
                return await self.store.change_contact(found, changed)
            return changed

    # -- timers -------------------------------------------------------------

    async def fire_timer(
        self, account_id: str, conversation_id: str, timer_id: str
    ) -> m.TurnResult | None:
        """Fire a due timer of a conversation, once: None if it is gone or not due.

        The append of ``timer_fired`` is the claim: a second process firing the
        same timer meets a ``ConcurrentWrite``, retries, and finds it gone.
        """
        record = await self.store.get_conversation(account_id, conversation_id)
        if record is None:
            return None
        contact = await self.store.get_contact(account_id, record.contact_id)
        if contact is None:
            return None
        result = await self._locked(
            contact, record.channel, lambda ctx: self._fire(ctx, timer_id), record
        )
        return result if result.events else None

    async def _fire(self, ctx: TurnContext, timer_id: str) -> str | None:
        timer = ctx.state.timers.get(timer_id)
        if timer is None:
            return "gone"
        try:
            due = datetime.fromisoformat(timer.due_at)
        except ValueError:
            due = ctx.now
        if due > ctx.now:
            return "not_due"
        ctx.reacted = len(ctx.events)
        ctx.emit(ev.TimerFired(timer_id, timer.kind, timer.workflow))
        if timer.kind == "wait":
            await self.automation.resume(ctx, timer.workflow, timer.resume_at)
        else:
            await self.automation.react(ctx)
        return None

    # -- the transaction around a turn --------------------------------------

    async def _locked(
        self,
        contact: Contact,
        channel: str,
        body: Callable[[TurnContext], Awaitable[str | None]],
        record: ConversationRecord | None = None,
        load: Callable[[], Awaitable[Contact]] | None = None,
        meant: str | None = None,
        taken_in: Callable[[], Awaitable[bool]] | None = None,
    ) -> m.TurnResult:
        """Run ``body`` as one turn under the contact's lock, retrying on a concurrent write.

        The lock is this process's (``KeyedLocks``, in arrival order) and then the store's
        (``turn_lock``: on PostgreSQL the database's, so no other instance runs a turn of
        the contact meanwhile, and a turn's actions and webhooks run once).

        ``load`` reads the contact again once the lock is held: a copy read before it
        may miss what the turn that held the lock saved (two concurrent tag changes
        would both start from it, and the later save would drop the earlier's tag), and
        again on a retry (another process moved on). On a SQLite file the store answers
        it from its cache; on PostgreSQL it costs the contact's statements once more,
        the price of not losing another instance's change made while the turn waited.
        """
        account, who = contact.account_id, contact.contact_id
        async with self.locks.hold(f"{account}/{who}"), self.store.turn_lock(account, who):
            if taken_in is not None and await taken_in():
                raise m.AlreadyTakenIn("this message was taken in before")
            for attempt in range(RETRIES):
                if load is not None:
                    contact = await load()
                try:
                    result = await self._attempt(contact, channel, body, record, meant)
                except ConcurrentWrite:
                    if attempt == RETRIES - 1:
                        raise
                    log.info("conversation of %s moved on; retrying", contact.contact_id)
                    await asyncio.sleep(random.uniform(0, RETRY_PAUSE * 2**attempt))
                    continue
                if self.committed is not None and result.events:
                    try:
                        await self.committed(result, channel, account)
                    except Exception:  # the turn is committed: a push that failed is logged
                        log.exception("after the turn of %s", contact.contact_id)
                return result
        raise AssertionError("unreachable")  # pragma: no cover

    async def _attempt(
        self,
        contact: Contact,
        channel: str,
        body: Callable[[TurnContext], Awaitable[str | None]],
        given: ConversationRecord | None = None,
        meant: str | None = None,
    ) -> m.TurnResult:
        now = self.clock.now()
        if given is None:
            record, state, opening = await self._open(contact, channel, now, meant)
        else:
            record, opening = given, []
            # a timer: another instance may have fired it since this one cached the state,
            # and firing runs its workflow's webhooks and actions before the append's check
            state = await self.store.load_state(
                contact.account_id, given.conversation_id, fresh=True
            )
            contact = (
                await self.store.get_contact(contact.account_id, contact.contact_id) or contact
            )
        version = state.version
        ctx = TurnContext(state, contact, now, conversation_id=record.conversation_id)
        ctx.emit_all(opening)
        rejected = await body(ctx)
        self.automation.arm_no_reply(ctx, fired_timer=given is not None)
        ctx.state.version = version + len(ctx.events)
        if ctx.events:
            await self.store.append(
                contact.account_id, record.conversation_id, version, ctx.events, ctx.state, now
            )
        if ctx.contact is not contact and ctx.contact != contact:  # most turns keep it
            await self.store.change_contact(contact, ctx.contact)
        return m.TurnResult(
            record.conversation_id,
            contact.contact_id,
            ctx.events,
            ctx.replies,
            rejected,
            version=ctx.state.version,
        )

    async def _open(
        self, contact: Contact, channel: str, now: datetime, meant: str | None = None
    ) -> tuple[ConversationRecord, ConversationState, list[ev.Event]]:
        """The contact's live conversation, or a new one carrying contact-level state
        (started at the turn's ``now``, the time its events and activity carry); with
        ``meant``, that conversation while it is live, else ``ConversationGone``."""
        account = contact.account_id
        latest = await self.store.latest_conversation(account, contact.contact_id)
        previous: ConversationState | None = None
        if meant is not None and (latest is None or latest.conversation_id != meant):
            raise m.ConversationGone(f"conversation {meant!r} was replaced by a newer one")
        if latest is not None:
            state = await self.store.load_state(account, latest.conversation_id)
            if state.version != latest.version:  # another instance moved it past the cache
                state = await self.store.load_state(account, latest.conversation_id, fresh=True)
            if meant is not None and state.ended:
                raise m.ConversationGone(f"conversation {meant!r} has ended")
            idle = now - latest.last_activity_at > self._idle_after
            if not state.ended and not idle:
                if state.version == 0:  # created, never written (its first turn crashed)
                    return latest, state, [ev.ConversationStarted(channel=latest.channel)]
                return latest, state, []
            if not state.ended:
                ended = ev.ConversationEnded("idle", "router")
                state.apply(ended)
                state.version += 1
                await self.store.append(
                    account, latest.conversation_id, state.version - 1, [ended], state, now
                )
            previous = state
        record = await self.store.create_conversation(account, contact.contact_id, channel, now)
        kept = lasting_statuses(previous, now) if previous else {}
        started = ev.ConversationStarted(
            channel=channel,
            statuses={bot: entry.status for bot, entry in kept.items()},
            paused_until={bot: entry.until for bot, entry in kept.items() if entry.until},
            # review lasts: a bot in suggestive mode for the contact stays so; "auto" is not
            # carried (an assignment records the bot's default then, which may change since)
            modes={b: mode for b, mode in previous.modes.items() if mode == "suggest"}
            if previous
            else {},
            contact_context=dict(previous.contact_context) if previous else {},
            previous_conversation=latest.conversation_id if latest else None,
        )
        return record, ConversationState(), [started]


def _article(word: str) -> str:
    """ "an" before a vowel sound's letter (an image, an audio), else "a"."""
    return "an" if word[:1].lower() in "aeiou" and word[:1] else "a"


def _visible(char: str) -> bool:
    """Not whitespace, a control character (NUL) or a format one (zero-width space, BOM)."""
    return not char.isspace() and unicodedata.category(char) not in ("Cc", "Cf")
