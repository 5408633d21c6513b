"""Pure routing decisions: who owns the message, and may a handover happen."""

from __future__ import annotations

from datetime import UTC, datetime

from baton.domain.record import record
from baton.domain.state import ConversationState
from baton.spec.project import Project


@record
class Owner:
    """The bot that takes the message, or None with the reason nobody does."""

    bot_id: str | None
    reason: str


def is_active(state: ConversationState, bot_id: str, now: datetime) -> bool:
    """Whether the bot may speak to this contact now (a timed pause may have run out)."""
    entry = state.status_of(bot_id)
    if entry.status == "active":
        return True
    return entry.status == "paused" and entry.until is not None and _passed(entry.until, now)


def expired_pauses(state: ConversationState, now: datetime) -> list[str]:
    """Bots whose timed pause has run out and should be recorded active again."""
    return [
        bot
        for bot, entry in state.statuses.items()
        if entry.status == "paused" and entry.until is not None and _passed(entry.until, now)
    ]


def human_owns(state: ConversationState, now: datetime) -> bool:
    """Escalated, or a human agent took over and the timed release has not come."""
    if state.escalated:
        return True
    if state.human is None:
        return False
    return state.human_until is None or not _passed(state.human_until, now)


def current_bot(state: ConversationState, project: Project) -> str | None:
    """The assigned bot, else the channel's primary (None: neither)."""
    if state.owner is not None:
        return state.owner
    primary = project.primary_for(state.channel)
    return primary.bot_id if primary else None


def find_owner(state: ConversationState, project: Project, now: datetime) -> Owner:
    """Human if escalated or taken over; else the assigned bot if active; else the primary."""
    if state.escalated:
        return Owner(None, "a human agent owns the conversation")
    if human_owns(state, now):
        return Owner(None, f"{_agent(state.human)} took over the conversation")
    assigned = state.owner
    bot = project.bots.get(assigned) if assigned is not None else None
    serves = bot is not None and bot.serves(state.channel, project.settings.channels)
    if assigned is not None and serves and is_active(state, assigned, now):
        return Owner(assigned, "assigned")
    primary = project.primary_for(state.channel)
    if primary is None:
        return Owner(None, f"no primary bot serves channel {state.channel!r}")
    if not is_active(state, primary.bot_id, now):
        status = state.status_of(primary.bot_id).status
        return Owner(None, f"bot {primary.bot_id} is {status} for this contact")
    if assigned is not None and assigned != primary.bot_id:
        why = (
            f"is {state.status_of(assigned).status}"
            if serves
            else f"doesn't serve channel {state.channel!r}"
        )
        return Owner(primary.bot_id, f"assigned bot {assigned} {why}; primary takes over")
    return Owner(primary.bot_id, "primary")


def refuse_handover(
    state: ConversationState,
    project: Project,
    source: str,
    target: str,
    now: datetime,
    hops: int,
    check_ping_pong: bool = True,
    ping_pong_turns: int | None = None,
    handed_over: frozenset[str] = frozenset(),
) -> str | None:
    """Why ``source`` may not hand the conversation to ``target`` (None: it may).

    Ping-pong looks back over the project's ``ping_pong_turns`` (or ``ping_pong_turns``
    given here), and always over the current turn: within one turn a transfer to any bot
    that handed over in it (``handed_over``, from the turn's own events) is a loop (A→B→A,
    A→B→C→A)."""
    settings = project.settings.settings
    bot = project.bots.get(target)
    if bot is None:
        return "unknown_bot"
    if target == source:
        return "same_bot"
    if hops >= settings.hop_budget:
        return "hop_budget"
    if not is_active(state, target, now):
        return f"target_{state.status_of(target).status}"
    if not bot.serves(state.channel, project.settings.channels):
        return "not_on_channel"
    window = settings.ping_pong_turns if ping_pong_turns is None else ping_pong_turns
    if check_ping_pong and (
        target in handed_over or _ping_pong(state, source, target, max(window, 1))
    ):
        return "ping_pong"
    return None


def _ping_pong(state: ConversationState, source: str, target: str, window: int) -> bool:
    """A→B→A: ``target`` handed to ``source`` within the last ``window`` turns."""
    return any(
        mark.from_bot == target and mark.to_bot == source and state.turns - mark.turn < window
        for mark in state.transfers
    )


def _passed(until: str, now: datetime) -> bool:
    """Whether ``until`` has come; a time without a zone is UTC (as timers read theirs)."""
    try:
        moment = datetime.fromisoformat(until)
    except ValueError:
        return False
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment <= now


def _agent(name: str | None) -> str:
    """A human agent as a sentence names them: "human agent Dana", or "a human agent"
    for the API's default name "agent" ("human agent agent" before)."""
    if not name or name.strip().lower() in ("agent", "human", "operator"):
        return "a human agent"
    return f"human agent {name}"


_REASONS = {
    "unknown_bot": "the project has no such bot",
    "same_bot": "a bot can't hand the conversation to itself",
    "hop_budget": "too many handovers in one turn",
    "target_paused": "the target bot is paused for this contact",
    "target_stopped": "the target bot is stopped for this contact",
    "not_on_channel": "the target bot doesn't serve this channel",
    "ping_pong": "the target handed the conversation over a moment ago (ping-pong)",
}


#: refusals that say the target can't take the conversation now, which a step's
#: ``refused:`` text is written for ("our support team is unavailable right now")
UNAVAILABLE = frozenset({"target_paused", "target_stopped", "not_on_channel"})


def refusal_reason(code: str) -> str:
    """A refusal code (``refuse_handover``'s answer) in words."""
    return _REASONS.get(code, code)
