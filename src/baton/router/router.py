"""The router: one entry point for messages and operator actions."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta

from baton.domain import events as ev
from baton.domain.errors import ConcurrentWrite, UnknownBot
from baton.domain.ports import Clock, EventStore
from baton.domain.records import Contact, ConversationRecord
from baton.domain.state import ConversationState, StatusEntry
from baton.domain.turns import Bot
from baton.router import messages as m
from baton.router.guards import expired_pauses, find_owner, is_active
from baton.router.locks import KeyedLocks
from baton.router.turn import GroupIndex, TurnContext, TurnRunner
from baton.spec.project import BotDefinition, Project

log = logging.getLogger(__name__)

RETRIES = 3


class Router:
    """Runs turns: finds the conversation, its owner, the bots; commits the events."""

    def __init__(
        self,
        project: Project,
        bots: Mapping[str, Bot],
        store: EventStore,
        clock: Clock,
        groups: GroupIndex,
    ) -> None:
        self.project = project
        self.store = store
        self.clock = clock
        self.runner = TurnRunner(project, bots, groups)
        self.locks = KeyedLocks()
        self.settings = project.settings.settings

    # -- messages -----------------------------------------------------------

    async def handle(self, inbound: m.Inbound) -> m.TurnResult:
        """Process a contact's message: record it, route it, reply."""
        # The address lock keeps one sender's messages in arrival order even while
        # the store looks the contact up; the contact lock (in _locked) orders them
        # with operator commands.
        async with self.locks.hold(f"{inbound.account_id}/{inbound.channel}/{inbound.address}"):
            contact = await self.store.contact_for_identity(
                inbound.account_id, inbound.channel, inbound.address
            )
            return await self._locked(
                contact, inbound.channel, lambda ctx: self._message(ctx, inbound)
            )

    async def _message(self, ctx: TurnContext, inbound: m.Inbound) -> str | None:
        text = inbound.text
        ctx.emit(ev.MessageReceived(text, inbound.channel, inbound.message_id))
        rejected = self._validate(text)
        if rejected is not None:
            reason, detail = rejected
            ctx.emit(ev.MessageRejected(reason, detail, len(text), text[:80]))
            return reason
        for bot_id in expired_pauses(ctx.state, ctx.now):
            ctx.emit(ev.BotStatusChanged(bot_id, "active", None, by="timer"))
        owner = find_owner(ctx.state, self.project, ctx.now)
        if owner.bot_id is None:
            ctx.emit(ev.MessageHeld(owner.reason, ctx.state.owner))
            return None
        await self.runner.run(ctx, owner.bot_id, text, "message")
        return None

    def _validate(self, text: str) -> tuple[str, str] | None:
        limit = self.settings.max_message_chars
        if not text:
            return "empty", "the message is empty"
        if not text.strip():
            return "blank", "the message has only whitespace"
        if len(text) > limit:
            return "too_long", f"the message has {len(text)} characters; the limit is {limit}"
        return None

    # -- operator actions ---------------------------------------------------

    async def command(
        self, account_id: str, contact_id: str, command: m.Command, channel: str = "web"
    ) -> m.TurnResult:
        """Apply an operator's (or a workflow's) command to the contact's conversation."""
        contact = await self.store.get_contact(account_id, contact_id)
        if contact is None:
            contact = Contact(account_id, contact_id)
            await self.store.save_contact(contact)
        return await self._locked(contact, channel, lambda ctx: self._command(ctx, command))

    async def _command(self, ctx: TurnContext, command: m.Command) -> str | None:
        state = ctx.state
        if isinstance(command, m.Assign):
            bot = self._bot(command.bot_id)
            mode = command.mode or bot.settings.mode
            ctx.emit(ev.BotAssigned(command.bot_id, mode, command.by, command.reason))
            if bot.settings.start_flow:
                await self.runner.run(ctx, command.bot_id, "", "assigned")
        elif isinstance(command, m.SetStatus):
            bot_id = command.bot_id or self._current(state)
            self._bot(bot_id)
            ctx.emit(ev.BotStatusChanged(bot_id, command.status, command.until, command.by))
        elif isinstance(command, m.SetMode):
            bot_id = command.bot_id or self._current(state)
            self._bot(bot_id)
            ctx.emit(ev.ModeChanged(bot_id, command.mode, command.by))
        elif isinstance(command, m.EscalateToHuman):
            ctx.emit(ev.Escalated(by=command.by, reason=command.reason, bot_id=state.owner))
        elif isinstance(command, m.HandBack):
            bot_id = command.bot_id or self._current(state)
            self._bot(bot_id)
            ctx.emit(ev.HandedBack(bot_id, command.by))
        elif isinstance(command, m.HumanMessage):
            ctx.emit(ev.MessageSent(command.text, "human", None, f"agent:{command.agent}"))
            ctx.replies.append(m.Reply(command.text, None, "human"))
        elif isinstance(command, m.ResolveSuggestion):
            self._resolve(ctx, command)
        elif isinstance(command, m.EndConversation):
            ctx.emit(ev.ConversationEnded(command.reason, command.by))
        return None

    def _resolve(self, ctx: TurnContext, command: m.ResolveSuggestion) -> None:
        text = ctx.state.suggestions.get(command.suggestion_id)
        if text is None:
            raise KeyError(command.suggestion_id)
        final = command.text if command.outcome == "edited" else text
        ctx.emit(ev.SuggestionResolved(command.suggestion_id, command.outcome, final, command.by))
        if command.outcome != "discarded":
            ctx.emit(ev.MessageSent(final, "bot", ctx.state.owner, "approved_suggestion"))
            ctx.replies.append(m.Reply(final, ctx.state.owner))

    def _current(self, state: ConversationState) -> str:
        if state.owner is not None:
            return state.owner
        primary = self.project.primary_for(state.channel)
        if primary is None:
            raise UnknownBot("(primary)", list(self.project.bots))
        return primary.bot_id

    def _bot(self, bot_id: str) -> BotDefinition:
        bot = self.project.bots.get(bot_id)
        if bot is None:
            raise UnknownBot(bot_id, list(self.project.bots))
        return bot

    # -- the transaction around a turn --------------------------------------

    async def _locked(
        self,
        contact: Contact,
        channel: str,
        body: Callable[[TurnContext], Awaitable[str | None]],
    ) -> m.TurnResult:
        async with self.locks.hold(f"{contact.account_id}/{contact.contact_id}"):
            for attempt in range(RETRIES):
                try:
                    return await self._attempt(contact, channel, body)
                except ConcurrentWrite:
                    if attempt == RETRIES - 1:
                        raise
                    log.info("conversation of %s moved on; retrying", contact.contact_id)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _attempt(
        self,
        contact: Contact,
        channel: str,
        body: Callable[[TurnContext], Awaitable[str | None]],
    ) -> m.TurnResult:
        now = self.clock.now()
        record, state, opening = await self._open(contact, channel)
        version = state.version
        ctx = TurnContext(state, contact, now)
        ctx.emit_all(opening)
        rejected = await body(ctx)
        ctx.state.version = version + len(ctx.events)
        await self.store.append(
            contact.account_id, record.conversation_id, version, ctx.events, ctx.state, now
        )
        return m.TurnResult(
            record.conversation_id, contact.contact_id, ctx.events, ctx.replies, rejected
        )

    async def _open(
        self, contact: Contact, channel: str
    ) -> tuple[ConversationRecord, ConversationState, list[ev.Event]]:
        """The contact's live conversation, or a new one carrying contact-level state."""
        account, now = contact.account_id, self.clock.now()
        latest = await self.store.latest_conversation(account, contact.contact_id)
        previous: ConversationState | None = None
        if latest is not None:
            state = await self.store.load_state(account, latest.conversation_id)
            idle = now - latest.last_activity_at > timedelta(
                minutes=self.settings.idle_timeout_minutes
            )
            if not state.ended and not idle:
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
        kept = _lasting_statuses(previous, now) if previous else {}
        started = ev.ConversationStarted(
            channel=channel,
            statuses={bot: entry.status for bot, entry in kept.items()},
            paused_until={bot: entry.until for bot, entry in kept.items() if entry.until},
            contact_context=dict(previous.contact_context) if previous else {},
            previous_conversation=latest.conversation_id if latest else None,
        )
        return record, ConversationState(), [started]


def _lasting_statuses(state: ConversationState, now: datetime) -> dict[str, StatusEntry]:
    """Statuses that outlive a conversation: stopped, and pauses that have not run out."""
    return {
        bot: entry
        for bot, entry in state.statuses.items()
        if entry.status == "stopped"
        or (entry.status == "paused" and entry.until is not None and not is_active(state, bot, now))
    }
