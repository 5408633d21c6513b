"""Operator (and workflow) commands, applied inside a turn: assign a bot, set its
status or mode, escalate, hand back, speak as a human agent, resolve a suggestion,
end the conversation, change the contact's tags, fields and forms."""

from __future__ import annotations

from dataclasses import replace

from baton.domain import events as ev
from baton.domain.errors import UnknownBot
from baton.domain.ports import EventStore
from baton.domain.state import ConversationState
from baton.router import messages as m
from baton.router.automation import Automation, reactivate
from baton.router.guards import current_bot, find_owner
from baton.router.statuses import check_until, takeover_pauses
from baton.router.turn import TurnContext, TurnRunner
from baton.spec.project import BotDefinition, Project
from baton.workflows.engine import change_tag, set_field


class OperatorCommands:
    """What each command does to a conversation; the router runs it as a turn."""

    def __init__(
        self, project: Project, store: EventStore, runner: TurnRunner, automation: Automation
    ) -> None:
        self.project = project
        self.store = store
        self.runner = runner
        self.automation = automation

    async def apply(self, ctx: TurnContext, command: m.Command) -> str | None:
        """Apply ``command`` in the turn ``ctx``, then let workflows react to it."""
        state = ctx.state
        if isinstance(command, m.Assign):
            bot = self._serving(command.bot_id, state.channel, "assign")
            mode = command.mode or bot.settings.mode
            before = self._current_or_none(state)
            reactivate(ctx, command.bot_id, command.by)
            if state.escalated or state.human is not None:
                # the bot takes over from the human: its answer must not be held for one
                self._end_takeover(ctx, command.bot_id, command.by)
            moved = before if before != command.bot_id else None
            ctx.emit(ev.BotAssigned(command.bot_id, mode, command.by, command.reason, moved))
            if command.bot_id != before:
                self.runner.handoff(ctx, command.bot_id)
            if bot.settings.start_flow:
                await self.runner.run(ctx, command.bot_id, "", "assigned")
        elif isinstance(command, m.SetStatus):
            # pausing or stopping "the bot" means the one the contact hears now (the
            # primary while the assigned bot is stopped); setting it active, the assigned one
            speaking = None if command.status == "active" else self._speaking(ctx)
            bot_id = command.bot_id or speaking or self._current(state)
            self._bot(bot_id)
            check_until(command, ctx.now)
            ctx.emit(ev.BotStatusChanged(bot_id, command.status, command.until, command.by))
        elif isinstance(command, m.SetMode):
            bot_id = command.bot_id or self._current(state)
            self._bot(bot_id)
            ctx.emit(ev.ModeChanged(bot_id, command.mode, command.by))
        elif isinstance(command, m.EscalateToHuman):
            ctx.emit(ev.Escalated(by=command.by, reason=command.reason, bot_id=state.owner))
        elif isinstance(command, m.HandBack):
            await self._hand_back(ctx, command)
        elif isinstance(command, m.HumanMessage):
            ctx.emit(ev.MessageSent(command.text, "human", None, f"agent:{command.agent}"))
            ctx.replies.append(m.Reply(command.text, None, "human"))
            self.automation.human_spoke(ctx, command.agent, self._takeover_target(ctx))
        elif isinstance(command, m.ResolveSuggestion):
            await self._resolve(ctx, command)
        elif isinstance(command, m.EndConversation):
            started = any(isinstance(e, ev.ConversationStarted) for e in ctx.events)
            if started and command.reason != m.NEW_CONVERSATION:
                raise m.CommandRefused("no conversation is open (the contact's last one ended)")
            ctx.emit(ev.ConversationEnded(command.reason, command.by))
        else:
            self._contact_command(ctx, command)
        await self.automation.react(ctx)
        return None

    async def _hand_back(self, ctx: TurnContext, command: m.HandBack) -> None:
        """Give the conversation back to a bot; a bot other than the last owner starts
        its ``start_flow`` at once, as an assigned one does (the last owner resumes)."""
        if not ctx.state.escalated and ctx.state.human is None:
            raise m.NothingToHandBack(
                "no human agent holds this conversation, so there is nothing to hand back; "
                "assign a bot to move it"
            )
        previous = self._current_or_none(ctx.state)
        bot_id = command.bot_id or self._current(ctx.state)
        bot = self._serving(bot_id, ctx.state.channel, "hand back to")
        self._end_takeover(ctx, bot_id, command.by)
        if bot_id != previous and bot.settings.start_flow:
            await self.runner.run(ctx, bot_id, "", "assigned")

    def _end_takeover(self, ctx: TurnContext, bot_id: str, by: str) -> None:
        """The human hands the conversation to ``bot_id``. The bot a human agent's message
        paused (its pause runs out with the takeover's) is active again, whichever bot
        takes over: it stayed paused for the rest of the conversation, and a transfer
        back to it was refused."""
        for paused in takeover_pauses(ctx.state, self._current_or_none(ctx.state)):
            if paused != bot_id:  # the takeover's pause ends with it
                ctx.emit(ev.BotStatusChanged(paused, "active", None, by))
        ctx.emit(ev.HandedBack(bot_id, by))

    def _serving(self, bot_id: str, channel: str, verb: str) -> BotDefinition:
        """The bot, if it serves the conversation's channel; else the command is refused."""
        bot = self._bot(bot_id)
        if not bot.serves(channel, self.project.settings.channels):
            raise m.CommandRefused(
                f"bot {bot_id} doesn't serve channel {channel!r}, where this conversation "
                f"is; {verb} a bot that does (see its channels: in bot.yml)"
            )
        return bot

    def _contact_command(self, ctx: TurnContext, command: m.Command) -> None:
        host = self.automation.host(ctx)
        if isinstance(command, m.AddTag | m.RemoveTag):
            change_tag(host, command.tag, isinstance(command, m.AddTag), command.by)
        elif isinstance(command, m.SetField):
            set_field(host, command.name, command.value, command.by)
        elif isinstance(command, m.SubmitForm):
            declared = self.project.settings.workflows.forms
            if declared and command.form not in declared:  # as the CLI and the API refuse it
                raise m.CommandRefused(
                    f"unknown form {command.form!r}; the project declares: "
                    f"{', '.join(sorted(declared))} (under workflows: forms: in baton.yml)"
                )
            for name, value in command.fields.items():
                set_field(host, name, value, f"form:{command.form}")
            ctx.emit(ev.FormSubmitted(command.form, dict(command.fields), command.by))
        elif isinstance(command, m.BookAppointment):
            if command.bot_id is not None:
                self._bot(command.bot_id)  # an unknown bot is refused, not dropped
            ctx.emit(ev.AppointmentBooked(command.bot_id, dict(command.details), command.by))

    async def _resolve(self, ctx: TurnContext, command: m.ResolveSuggestion) -> None:
        """Approve, edit or discard a suggestion; what is sent goes out as the bot that
        suggested it, even if another bot owns the conversation by now."""
        waiting = list(ctx.state.suggestions)  # in the order they were made
        if waiting and command.suggestion_id in (m.NEXT_SUGGESTION, m.LATEST_SUGGESTION):
            pick = waiting[0] if command.suggestion_id == m.NEXT_SUGGESTION else waiting[-1]
            command = replace(command, suggestion_id=pick)
        text = ctx.state.suggestions.get(command.suggestion_id)
        if text is None:
            listed = ", ".join(sorted(ctx.state.suggestions)) or "none"
            raise m.UnknownSuggestion(
                f"no suggestion {command.suggestion_id!r} is waiting in this conversation "
                f"(waiting: {listed}); it may have been resolved already"
            )
        final = command.text if command.outcome == "edited" else text
        ctx.emit(ev.SuggestionResolved(command.suggestion_id, command.outcome, final, command.by))
        if command.outcome != "discarded":
            bot_id = await self._suggested_by(ctx, command.suggestion_id)
            ctx.emit(ev.MessageSent(final, "bot", bot_id, "approved_suggestion"))
            ctx.replies.append(m.Reply(final, bot_id))

    async def _suggested_by(self, ctx: TurnContext, suggestion_id: str) -> str | None:
        """The bot whose ``suggestion_created`` this is (the owner if the log lacks it)."""
        stored = await self.store.read_events(ctx.contact.account_id, ctx.conversation_id)
        for event in [*(item.event for item in stored), *ctx.events]:
            if isinstance(event, ev.SuggestionCreated) and event.suggestion_id == suggestion_id:
                return event.bot_id
        return ctx.state.owner

    def _takeover_target(self, ctx: TurnContext) -> str | None:
        """The bot a human agent's message pauses: the one the contact hears now; while a
        takeover goes on, the one it already paused (the next message re-paused the
        assigned bot, a stopped one too, turning the operator's stop into a pause)."""
        if ctx.state.human is not None:
            return next(iter(takeover_pauses(ctx.state, None)), None)
        return self._speaking(ctx) or self._current_or_none(ctx.state)

    def _speaking(self, ctx: TurnContext) -> str | None:
        """The bot that takes the contact's next message now (None: a human, or nobody)."""
        return find_owner(ctx.state, self.project, ctx.now).bot_id

    def _current_or_none(self, state: ConversationState) -> str | None:
        return current_bot(state, self.project)

    def _current(self, state: ConversationState) -> str:
        bot_id = current_bot(state, self.project)
        if bot_id is None:
            raise UnknownBot("(primary)", list(self.project.bots))
        return bot_id

    def _bot(self, bot_id: str) -> BotDefinition:
        bot = self.project.bots.get(bot_id)
        if bot is None:
            raise UnknownBot(bot_id, list(self.project.bots))
        return bot
