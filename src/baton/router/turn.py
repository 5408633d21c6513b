"""One turn across bots: run the owner, follow transfers, calls and returns."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from baton.domain import events as ev
from baton.domain.ids import new_id
from baton.domain.ports import CrossBotIndex, IntentMatch, Recognition
from baton.domain.record import record
from baton.domain.records import Contact
from baton.domain.state import ConversationState
from baton.domain.turns import (
    SWITCH_MARGIN,
    Bot,
    BotOutcome,
    BotTurn,
    Call,
    EndConversation,
    EntryKind,
    Escalate,
    Return,
    Transfer,
    Unmatched,
    clear_bar,
)
from baton.domain.values import Payload
from baton.router.calls import abandon_calls, callee_finished, settle_calls
from baton.router.guards import UNAVAILABLE, is_active, refusal_reason, refuse_handover
from baton.router.messages import Reply
from baton.router.views import call_inputs, own_slots, readable_context, visible_history
from baton.spec.project import Project

log = logging.getLogger(__name__)

GroupIndex = Callable[[str], CrossBotIndex | None]


@dataclass
class TurnContext:
    """A turn in progress: the working state and everything it appended."""

    state: ConversationState
    contact: Contact
    now: datetime
    events: list[ev.Event] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    conversation_id: str = ""
    reacted: int = 0
    phase: str = "after"

    def emit(self, event: ev.Event) -> None:
        """Record an event and fold it into the working state."""
        self.events.append(event)
        self.state.apply(event)

    def emit_all(self, events: list[ev.Event]) -> None:
        """Record several events in order."""
        for event in events:
            self.emit(event)


@record
class _Step:
    bot_id: str
    entry: EntryKind
    text: str = ""
    intent: IntentMatch | None = None
    flow: str | None = None
    inputs: Payload = field(default_factory=dict)
    outputs: Payload = field(default_factory=dict)
    resume_flow: str | None = None
    resume_step: int = 0
    settled: bool = False


#: how a called flow ends when it failed: the call is abandoned, not returned from
class TurnRunner:
    """Runs bots for one turn, within the hop budget and the guard rails."""

    def __init__(self, project: Project, bots: Mapping[str, Bot], groups: GroupIndex) -> None:
        self.project = project
        self.bots = bots
        self.groups = groups
        self.group_sizes = Counter(bot.settings.group for bot in project.bots.values())

    async def run(self, ctx: TurnContext, bot_id: str, text: str, entry: EntryKind) -> None:
        """Hand the turn to ``bot_id`` and follow its directives until someone stops."""
        step: _Step | None = _Step(bot_id, entry, text)
        hops = 0
        while step is not None:
            outcome = await self.bots[step.bot_id].handle(self._bot_turn(ctx, step))
            directive = outcome.directive
            if isinstance(directive, Unmatched) and directive.clear_switch_only:
                switch = self._collaborate(ctx, step.bot_id, text, hops, SWITCH_MARGIN)
                if switch is not None:  # the bot's own answer (a reprompt) is dropped
                    step, hops = switch, hops + 1
                    continue
                if directive.pending:  # nobody claims it more clearly: the bot's reading stands
                    step = replace(step, settled=True)
                    continue
                outcome.directive = None
            ctx.emit_all(outcome.events)
            settle_calls(ctx, step.bot_id, outcome.events)
            self.speak(ctx, step.bot_id, outcome.replies)
            if outcome.fallback is not None:
                self._fallback(ctx, step.bot_id, outcome.fallback)
            step, hopped = self._next(ctx, step, outcome, text, hops)
            hops += hopped

    def _next(
        self, ctx: TurnContext, step: _Step, outcome: BotOutcome, text: str, hops: int
    ) -> tuple[_Step | None, int]:
        directive = outcome.directive
        current = step.bot_id
        if directive is None and callee_finished(ctx.state, current):
            directive = Return({})
        if directive is None:
            return None, 0
        if isinstance(directive, Unmatched):
            return self._collaborate(ctx, current, text, hops), 1
        if isinstance(directive, Transfer):
            return self._transfer(ctx, current, directive, text, hops), 1
        if isinstance(directive, Call):
            return self._call(ctx, current, directive, hops), 1
        if isinstance(directive, Return):
            return self._return(ctx, current, directive), 0
        if isinstance(directive, Escalate):
            ctx.emit(ev.Escalated(by=f"bot:{current}", reason=directive.reason, bot_id=current))
            return None, 0
        if isinstance(directive, EndConversation):
            ctx.emit(ev.ConversationEnded(directive.reason, by=f"bot:{current}"))
        return None, 0

    # -- directives ---------------------------------------------------------

    def _collaborate(
        self, ctx: TurnContext, current: str, text: str, hops: int, margin: float | None = None
    ) -> _Step | None:
        """Transfer to the group's best bot for the message, or fall back.

        With a ``margin`` (a bot's reading being checked: an answer to its open question,
        or one of its own intents) the match must clear its bot's threshold by that much,
        and no match means no fallback: the bot's reading stands. A transfer that leaves an
        open question is a ``topic_switch`` and ends the asking bot's flow.
        """
        match, recognition, back = self._collaborator(ctx, current, text, hops, margin or 0.0)
        if match is None and margin is not None:
            return None
        start = self.project.bots[current].settings.start_flow
        if match is None and back and start is not None and current not in ctx.state.flows:
            # another bot's intent for it only transfers here: the message is this bot's
            # topic, which its start_flow serves (as a transfer here would have started it),
            # with the message (``{{ message }}`` was empty: a relay bot sent nothing on)
            return _Step(current, "transferred", text, flow=start)
        if match is None:
            refused = recognition is not None and recognition.best is not None
            if refused and isinstance(ctx.events[-1], ev.TransferRefused):
                reason = "the matching bots could not take the conversation"
            else:
                reason = self._unmatched(current, recognition)
            self._fallback(ctx, current, reason)
            return None
        second = recognition.runner_up_of(match) if recognition else None
        position = ctx.state.flows.get(current)
        asking = False
        if margin is not None and position is not None and position.slot is not None:
            asking = True  # the open question is left for good
            ctx.emit(ev.FlowEnded(current, position.flow, "interrupted"))
        abandon_calls(ctx)
        ctx.emit(
            ev.BotTransferred(
                from_bot=current,
                to_bot=match.bot_id,
                reason="topic_switch" if asking else "collaboration",
                message=text,
                intent=match.intent,
                confidence=round(match.confidence, 4),
                runner_up=second.intent if second else None,
                runner_up_confidence=round(second.confidence, 4) if second else None,
                handoff_message=self._handoff_text(ctx, match.bot_id),
            )
        )
        self.handoff(ctx, match.bot_id)
        return _Step(match.bot_id, "transferred", text, intent=match)

    def _unmatched(self, current: str, recognition: Recognition | None) -> str:
        """Why collaboration found no bot, with the best candidate when there was one."""
        group = self.project.bots[current].settings.group
        if not group:
            return "the bot is in no collaboration group"
        if recognition is None or self.group_sizes[group] < 2:
            return f"no other bot in collaboration group {group}"
        if not recognition.ranking:
            return "no bot in the collaboration group matched"
        best = recognition.ranking[0]
        if not recognition.confident:
            why = "below the group's gate"
        else:
            threshold = self.project.bots[best.bot_id].settings.threshold
            why = f"below {best.bot_id}'s threshold {threshold:g}"
        return (
            f"no bot in the collaboration group matched "
            f"(best: {best.intent} at {best.confidence:.2f}, {why})"
        )

    def _collaborator(
        self, ctx: TurnContext, current: str, text: str, hops: int, margin: float = 0.0
    ) -> tuple[IntentMatch | None, Recognition | None, bool]:
        """The group's best bot for the message that may take it, the recognition, and
        whether a candidate was passed over because its intent only leads back here."""
        group = self.project.bots[current].settings.group
        index = self.groups(group) if group else None
        if index is None:
            return None, None, False
        recognition = index.classify(text, exclude=current)
        back = False
        for match in recognition.confident:  # the candidates that cleared the group's gate
            target = self.project.bots.get(match.bot_id)
            if target is None or target.settings.group != group or match.bot_id == current:
                continue
            if target.hands_to(match.intent.partition(".")[2]) == current:
                back = True  # the intent is the way to this very bot: the message is its own
                continue
            threshold = target.settings.threshold
            if match.confidence < (clear_bar(threshold, margin) if margin else threshold):
                continue
            # a clear match is the user's own request, not a bounce: going back to a bot
            # that handed over a turn or two ago is then refused only within this turn
            clear = match.confidence >= clear_bar(threshold)
            refusal = refuse_handover(
                ctx.state,
                self.project,
                current,
                match.bot_id,
                ctx.now,
                hops,
                ping_pong_turns=1 if clear else None,
                handed_over=_handed_over(ctx),
            )
            if refusal is None:
                return match, recognition, back
            detail = f"{refusal_reason(refusal)} (matched {match.intent} at {match.confidence:.2f})"
            ctx.emit(ev.TransferRefused(current, match.bot_id, refusal, detail))
        return None, recognition, back

    def _transfer(
        self, ctx: TurnContext, current: str, transfer: Transfer, text: str, hops: int
    ) -> _Step | None:
        refusal = refuse_handover(
            ctx.state,
            self.project,
            current,
            transfer.to,
            ctx.now,
            hops,
            # a flow's transfer step is its author's route (billing's "cancel" hands back to
            # the front desk that sent the user): a bounce only within this very turn
            ping_pong_turns=1,
            handed_over=_handed_over(ctx),
        )
        if refusal is not None:
            ctx.emit(ev.TransferRefused(current, transfer.to, refusal, refusal_reason(refusal)))
            reason = f"transfer to {transfer.to} refused: {refusal}"
            # `refused:` says the target can't be reached; a bounce (ping-pong, hop budget)
            # is no news about the target: the bot's own fallback answers it
            said = transfer.refused if refusal in UNAVAILABLE else None
            self._fallback(ctx, current, reason, said)
            return None
        abandon_calls(ctx)
        ctx.emit(
            ev.BotTransferred(
                from_bot=current,
                to_bot=transfer.to,
                reason="bot_step",
                message=text,
                intent=_flow_intent(ctx, current),
                context_keys=transfer.context_keys,
                handoff_message=self._handoff_text(ctx, transfer.to),
                carried=transfer.with_message,
            )
        )
        self.handoff(ctx, transfer.to)
        return _Step(transfer.to, "transferred", text if transfer.with_message else "")

    def _call(self, ctx: TurnContext, current: str, call: Call, hops: int) -> _Step | None:
        refusal = refuse_handover(
            ctx.state, self.project, current, call.bot, ctx.now, hops, check_ping_pong=False
        )
        if refusal is not None:
            ctx.emit(ev.TransferRefused(current, call.bot, refusal, refusal_reason(refusal)))
            ended = ev.FlowEnded(current, call.caller_flow or "", "call_refused")
            ctx.emit(ended)
            self._fallback(ctx, current, f"call to {call.bot} refused: {refusal}", call.refused)
            # a called bot whose own call was refused (the hop budget, deep in a chain)
            # will not return what its caller waits for: the chain of calls is over
            settle_calls(ctx, current, [ended])
            return None
        ctx.emit(ev.BotCalled(current, call.bot, call.inputs, call.caller_flow, call.caller_step))
        return _Step(call.bot, "called", flow=call.flow, inputs=call.inputs)

    def _return(self, ctx: TurnContext, current: str, result: Return) -> _Step | None:
        if not ctx.state.call_stack or ctx.state.call_stack[-1].callee != current:
            return None
        frame = ctx.state.call_stack[-1]
        ctx.emit(ev.BotReturned(current, frame.caller, result.outputs))
        if not is_active(ctx.state, frame.caller, ctx.now):
            return None
        return _Step(
            frame.caller,
            "returned",
            outputs=result.outputs,
            resume_flow=frame.caller_flow,
            resume_step=frame.caller_step,
        )

    # -- pieces -------------------------------------------------------------

    def _handoff_text(self, ctx: TurnContext, bot_id: str) -> str | None:
        bot = self.project.bots[bot_id]
        message = bot.settings.handoff_message
        return bot.said(message, ctx.state.turns) if message else None

    def handoff(self, ctx: TurnContext, bot_id: str) -> None:
        """Say the bot's ``handoff_message``, if it has one, as it takes the conversation."""
        message = self._handoff_text(ctx, bot_id)
        if message:
            self.speak(ctx, bot_id, [message], kind="handoff")

    def _fallback(
        self, ctx: TurnContext, bot_id: str, reason: str, text: str | None = None
    ) -> None:
        """Record the fallback and say ``text``, or the bot's fallback when there is none."""
        ctx.emit(ev.FallbackTriggered(bot_id, reason))
        self.speak(
            ctx, bot_id, [text or self.bots[bot_id].fallback(ctx.state.turns)], kind="fallback"
        )

    def speak(self, ctx: TurnContext, bot_id: str, texts: list[str], kind: str = "reply") -> None:
        """Send texts as the bot, or store them as suggestions in suggestive mode."""
        default = self.project.bots[bot_id].settings.mode
        suggest = ctx.state.mode_of(bot_id, default) == "suggest"
        for text in texts:
            if suggest:
                suggestion = new_id("sug")
                ctx.emit(ev.SuggestionCreated(suggestion, bot_id, text))
                ctx.replies.append(Reply(text, bot_id, "bot", kind, suggestion))
            else:
                ctx.emit(ev.MessageSent(text, "bot", bot_id, kind))
                ctx.replies.append(Reply(text, bot_id, "bot", kind))

    def _bot_turn(self, ctx: TurnContext, step: _Step) -> BotTurn:
        bot = self.project.bots[step.bot_id]
        state = ctx.state
        return BotTurn(
            bot_id=step.bot_id,
            text=step.text,
            entry=step.entry,
            slots=own_slots(state, step.bot_id),
            context=readable_context(state, bot),
            contact=ctx.contact,
            history=visible_history(state, bot),
            position=state.flows.get(step.bot_id),
            intent=step.intent,
            flow=step.flow,
            inputs=step.inputs or call_inputs(state, step.bot_id),
            outputs=step.outputs,
            resume_flow=step.resume_flow,
            resume_step=step.resume_step,
            today=ctx.now.date().isoformat(),
            turn=state.turns,
            settled=step.settled,
        )


def _handed_over(ctx: TurnContext) -> frozenset[str]:
    """The bots that handed the conversation over in this turn (a message's, an operator's,
    a timer's): none may get it back in the same turn."""
    return frozenset(e.from_bot for e in ctx.events if isinstance(e, ev.BotTransferred))


def _flow_intent(ctx: TurnContext, bot_id: str) -> str | None:
    """The intent that started the bot's current flow in this turn (None: the flow began in
    an earlier turn, or with no intent)."""
    for event in reversed(ctx.events):
        if isinstance(event, ev.FlowStarted) and event.bot_id == bot_id:
            return event.intent
    return None
