"""What a bot may see of a conversation: its slots, its contract's context, its history."""

from __future__ import annotations

from baton.domain.records import Contact
from baton.domain.state import ConversationState, HistoryLine
from baton.domain.values import Payload, Value
from baton.spec.project import BotDefinition

SUMMARY_CHARS = 400


def readable_context(state: ConversationState, bot: BotDefinition) -> dict[str, Value]:
    """Shared context the bot may read: its own keys and the ones its contract declares."""
    merged = {**state.contact_context, **state.context}
    if not merged:  # most turns of most bots
        return merged
    own = f"{bot.bot_id}."
    reads = bot.settings.context.reads  # a few keys: a list is as quick as a set
    return {k: v for k, v in merged.items() if k.startswith(own) or k in reads}


def visible_history(state: ConversationState, bot: BotDefinition) -> tuple[HistoryLine, ...]:
    """The history the bot's policy allows: full, last N, a summary, or none."""
    policy = bot.settings.history
    if policy.policy == "none":
        return ()
    if policy.policy == "last":
        return tuple(state.history[-policy.last :])
    if policy.policy == "summary":
        said = " / ".join(line.text for line in state.history if line.role == "user")
        return (HistoryLine("summary", f"The user said: {said}"[-SUMMARY_CHARS:]),)
    return tuple(state.history)


def own_slots(state: ConversationState, bot_id: str) -> dict[str, Value]:
    """The bot's private slots (never another bot's)."""
    return dict(state.slots.get(bot_id, {}))


def empty_contact(account_id: str, contact_id: str) -> Contact:
    """A contact with nothing known yet."""
    return Contact(account_id=account_id, contact_id=contact_id)


def call_inputs(state: ConversationState, bot_id: str) -> Payload:
    """The inputs of the call ``bot_id`` is serving, if it is the callee on top: a called
    flow that asked a question reads them again when the answer comes."""
    frame = state.call_stack[-1] if state.call_stack else None
    return frame.inputs if frame is not None and frame.callee == bot_id else {}
