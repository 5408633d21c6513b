"""The call stack's upkeep: calls that end without a return (a transfer out of them, a
callee that switched topic, escalated, failed or was stopped, a caller that moved on)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from baton.domain import events as ev
from baton.domain.state import ConversationState

if TYPE_CHECKING:
    from baton.router.turn import TurnContext

#: flow outcomes that end a called flow without its work done: the chain of calls is over
FAILED_FLOW = frozenset({"action_failed", "step_failed", "call_refused"})


def abandon_calls(ctx: TurnContext) -> None:
    """A transfer leaves the open calls: each caller's flow, waiting at its ``call``
    step for a return that will not come, ends as interrupted (the transfer's own
    fold then empties the call stack)."""
    for frame in reversed(ctx.state.call_stack):
        waiting = ctx.state.flows.get(frame.caller)
        if waiting is not None and waiting.flow == frame.caller_flow:
            ctx.emit(ev.FlowEnded(frame.caller, waiting.flow, "interrupted"))


def leave_stopped_calls(ctx: TurnContext) -> None:
    """A called bot stopped for the contact (by an operator or a workflow) will not
    return: the chain of calls is over, as when a called flow fails. Every call ends
    (each waiting flow as interrupted) and the first caller holds the conversation. A
    paused callee keeps its call: it comes back when the pause ends."""
    state = ctx.state
    stack = state.call_stack
    if not any(state.status_of(f.callee).status == "stopped" for f in stack):
        return
    holder = stack[0].caller
    for frame in reversed(list(stack)):
        for bot_id in (frame.callee, frame.caller):
            position = state.flows.get(bot_id)
            if position is not None:
                ctx.emit(ev.FlowEnded(bot_id, position.flow, "interrupted"))
        ctx.emit(ev.CallAbandoned(frame.caller, frame.callee, "callee_stopped", holder))


def settle_calls(ctx: TurnContext, bot_id: str, events: list[ev.Event]) -> None:
    """End the calls a bot's events left without a return to wait for.

    A called bot whose flow was interrupted by another topic of its own, or that
    escalated, abandons its call: the caller asked for that flow's work, which will not
    come (returning when a later flow ended resumed the caller as if it had, outputs
    missing; an escalation kept the callee as the bot a hand-back went to). A caller
    that left the flow waiting for a call (it answered as the primary while the callee
    was paused) abandons the calls above it, so a later answer to the callee's old
    question does not revive that flow.
    """
    stack = ctx.state.call_stack
    if not stack:
        return
    ended = {(e.bot_id, e.flow): e.outcome for e in events if isinstance(e, ev.FlowEnded)}
    if not ended:
        return
    top = stack[-1]
    if top.callee == bot_id:
        left = {outcome for (bot, _flow), outcome in ended.items() if bot == bot_id}
        if left & {"interrupted", "escalated", *FAILED_FLOW}:
            # the whole chain of calls is over (A called B, B called C: neither B's
            # nor A's waiting flow gets its return); the conversation stays with the
            # bot that switched topic, or goes back to the first caller for a human,
            # or after a failure (its action failed: the caller went on as if the call
            # had done its work, "Summary: " after the callee's "Sorry...")
            if "interrupted" in left:
                reason, owner = "topic_switch", bot_id
            elif "escalated" in left:
                reason, owner = "escalated", None
            else:
                reason, owner = "failed", None
            first = stack[0].caller
            for frame in reversed(list(stack)):
                waiting = ctx.state.flows.get(frame.caller)
                if waiting is not None and waiting.flow == frame.caller_flow:
                    ctx.emit(ev.FlowEnded(frame.caller, waiting.flow, "interrupted"))
                holder = owner or first
                ctx.emit(ev.CallAbandoned(frame.caller, frame.callee, reason, holder))
            return
    moved = [
        depth
        for depth, frame in enumerate(stack)
        if frame.caller == bot_id and (bot_id, frame.caller_flow) in ended
    ]
    if not moved:
        return
    for frame in reversed(stack[moved[0] :]):
        if frame.callee in ctx.state.flows:
            flow = ctx.state.flows[frame.callee].flow
            ctx.emit(ev.FlowEnded(frame.callee, flow, "interrupted"))
        ctx.emit(ev.CallAbandoned(frame.caller, frame.callee, "caller_moved_on", bot_id))


def callee_finished(state: ConversationState, bot_id: str) -> bool:
    stack = state.call_stack
    return bool(stack) and stack[-1].callee == bot_id and bot_id not in state.flows
