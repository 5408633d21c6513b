"""The router's side of workflows: hosting runs in a turn, timers, language, takeover.

Order within a message turn (documented in docs/workflows.md):

1. ``message_received`` (and ``conversation_started`` for a new conversation)
   is recorded; pending no-reply timers are cancelled; the language is detected.
2. Workflows triggered by those events run ("before" phase). An ``assign``
   here only changes the owner: the assigned bot then handles the message.
3. The owner handles the message; its own transfers and calls happen here.
4. Workflows triggered by what the bots did (a fired action, a booked
   appointment) run ("after" phase). An ``assign`` here runs the bot's
   ``start_flow`` at once. So a workflow's assignment made because of a bot's
   action comes after, and overrides, that bot's own transfer in the same turn.
5. If the contact was sent a message, no-reply watches are armed.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta

from baton.domain import events as ev
from baton.domain.ids import new_id
from baton.domain.records import Contact
from baton.domain.state import ConversationState
from baton.domain.values import Mode
from baton.router.guards import current_bot, human_owns
from baton.router.messages import Reply
from baton.router.statuses import TAKEOVER
from baton.router.turn import TurnContext, TurnRunner
from baton.spec.project import Project
from baton.workflows.engine import WorkflowEngine
from baton.workflows.language import LanguageDetector

log = logging.getLogger(__name__)


class TurnHost:
    """A turn seen by the workflow engine (implements ``baton.workflows.Host``)."""

    def __init__(self, ctx: TurnContext, automation: Automation) -> None:
        self.ctx = ctx
        self.automation = automation

    @property
    def state(self) -> ConversationState:
        return self.ctx.state

    @state.setter
    def state(self, value: ConversationState) -> None:
        self.ctx.state = value

    @property
    def contact(self) -> Contact:
        return self.ctx.contact

    @contact.setter
    def contact(self, value: Contact) -> None:
        self.ctx.contact = value

    @property
    def events(self) -> list[ev.Event]:
        return self.ctx.events

    @events.setter
    def events(self, value: list[ev.Event]) -> None:
        self.ctx.events = value

    @property
    def now(self) -> datetime:
        return self.ctx.now

    @now.setter
    def now(self, value: datetime) -> None:
        self.ctx.now = value

    @property
    def conversation_id(self) -> str:
        return self.ctx.conversation_id

    @conversation_id.setter
    def conversation_id(self, value: str) -> None:
        self.ctx.conversation_id = value

    def emit(self, event: ev.Event) -> None:
        self.ctx.emit(event)

    def current_bot(self) -> str | None:
        return self.automation.current_bot(self.ctx)

    def human_owns(self) -> bool:
        return human_owns(self.ctx.state, self.ctx.now)

    def mode_of_current(self) -> str:
        bot_id = self.current_bot()
        bot = self.automation.project.bots.get(bot_id) if bot_id else None
        if bot_id is None or bot is None:  # no bot, or one a later deploy removed
            return "auto"
        return self.ctx.state.mode_of(bot_id, bot.settings.mode)

    def has_bot(self, bot_id: str) -> bool:
        return bot_id in self.automation.project.bots

    def serves(self, bot_id: str) -> bool:
        project = self.automation.project
        return project.bots[bot_id].serves(self.ctx.state.channel, project.settings.channels)

    async def assign(self, bot_id: str, mode: Mode | None, by: str) -> None:
        await self.automation.assign(self.ctx, bot_id, mode, by)

    async def send(self, text: str, by: str) -> None:
        self.ctx.emit(ev.MessageSent(text, "workflow", None, by))
        self.ctx.replies.append(Reply(text, None, "workflow", "workflow"))


def reactivate(ctx: TurnContext, bot_id: str, by: str) -> None:
    """An assignment sets the bot active for the contact (a stopped or paused bot too: the
    seed's "Assign bot: assigns a specific bot and sets it to Active"), on the record."""
    if ctx.state.status_of(bot_id).status != "active":
        ctx.emit(ev.BotStatusChanged(bot_id, "active", None, by))


class Automation:
    """Workflows, language detection, timers and human takeover for the router."""

    def __init__(
        self,
        project: Project,
        runner: TurnRunner,
        engine: WorkflowEngine | None = None,
        detector: LanguageDetector | None = None,
    ) -> None:
        self.project = project
        self.runner = runner
        settings = project.settings.workflows
        self.settings = settings
        self.engine = engine or WorkflowEngine(project.workflows, settings)
        detection = settings.language_detection
        enabled = detection.enabled
        if enabled is None:
            enabled = self.engine.uses_language()
        if detector is None and enabled:
            detector = LanguageDetector(
                detection.languages, detection.min_confidence, detection.min_chars
            )
        self.detector = detector

    def host(self, ctx: TurnContext) -> TurnHost:
        """The turn as the workflow engine sees it."""
        return TurnHost(ctx, self)

    # -- workflow runs ----------------------------------------------------------

    async def react(self, ctx: TurnContext, phase: str = "after") -> None:
        """Run the workflows that this turn's events (not yet reacted to) trigger."""
        ctx.phase = phase
        start = ctx.reacted
        ctx.reacted = len(ctx.events)
        if self.engine.workflows:
            await self.engine.react(TurnHost(ctx, self), ctx.events[start:])
        ctx.reacted = len(ctx.events)
        ctx.phase = "after"

    async def resume(self, ctx: TurnContext, workflow: str, index: int) -> None:
        """Go on with a waiting workflow run (its ``wait`` timer fired)."""
        ctx.reacted = len(ctx.events)
        await self.engine.resume(TurnHost(ctx, self), workflow, index)
        ctx.reacted = len(ctx.events)

    async def assign(self, ctx: TurnContext, bot_id: str, mode: Mode | None, by: str) -> None:
        """Assign a bot for a workflow; outside the "before" phase it greets at once."""
        bot = self.project.bots[bot_id]
        chosen: Mode = mode or bot.settings.mode
        before = self.current_bot(ctx)
        reactivate(ctx, bot_id, by)
        moved = before if before != bot_id else None
        ctx.emit(ev.BotAssigned(bot_id, chosen, by, "workflow", moved))
        if bot_id != before:
            self.runner.handoff(ctx, bot_id)
        if ctx.phase != "before" and bot.settings.start_flow:
            await self.runner.run(ctx, bot_id, "", "assigned")

    def current_bot(self, ctx: TurnContext) -> str | None:
        """The assigned bot, else the channel's primary."""
        return current_bot(ctx.state, self.project)

    # -- language ---------------------------------------------------------------

    def detect_language(self, ctx: TurnContext, text: str) -> None:
        """Store the language of the contact's message when it is clear and new."""
        if self.detector is None:
            return
        found = self.detector.detect(text)
        if found is None:
            return
        language, confidence = found
        previous = ctx.contact.language
        if language == previous:
            return
        ctx.contact = replace(ctx.contact, language=language)
        ctx.emit(ev.LanguageDetected(language, confidence, previous))

    # -- human takeover -----------------------------------------------------------

    def human_spoke(self, ctx: TurnContext, agent: str, bot_id: str | None) -> None:
        """A human agent's message pauses the bot (configurable, optionally timed)."""
        takeover = self.settings.human_takeover
        if not takeover.pause_bot or ctx.state.escalated:
            return
        until = None
        if takeover.release_minutes is not None:
            until = (ctx.now + timedelta(minutes=takeover.release_minutes)).isoformat()
        ctx.emit(ev.HumanTookOver(agent, bot_id, until))
        if bot_id is not None and ctx.state.status_of(bot_id).status != "stopped":
            ctx.emit(ev.BotStatusChanged(bot_id, "paused", until, by=TAKEOVER))

    # -- no-reply watches -------------------------------------------------------

    def contact_replied(self, ctx: TurnContext) -> None:
        """The contact wrote: their pending no-reply timers are cancelled."""
        for timer_id, timer in list(ctx.state.timers.items()):
            if timer.kind == "no_reply":
                ctx.emit(ev.TimerCancelled(timer_id, "contact_replied"))

    def arm_no_reply(self, ctx: TurnContext, fired_timer: bool) -> None:
        """After a turn that sent the contact a message, (re)start each no-reply watch."""
        watches = self.engine.no_reply_watches()
        if not watches or fired_timer or ctx.state.ended:
            return
        if not any(isinstance(e, ev.MessageSent) for e in ctx.events):
            return
        for timer_id, timer in list(ctx.state.timers.items()):
            if timer.kind == "no_reply":
                ctx.emit(ev.TimerCancelled(timer_id, "replaced"))
        for workflow, minutes in watches.items():
            try:
                due = (ctx.now + timedelta(minutes=minutes)).isoformat()
            except OverflowError:  # past the calendar's end (baton check bounds it): no watch
                log.warning(
                    "no_reply of workflow %s (%g minutes) ends past 9999", workflow, minutes
                )
                continue
            ctx.emit(ev.TimerScheduled(new_id("timer"), "no_reply", workflow, due))
