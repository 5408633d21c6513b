"""How long a bot's status for a contact lasts: across conversations, and a human
agent's takeover (whose pause ends with it)."""

from __future__ import annotations

from datetime import UTC, datetime

from baton.domain.state import ConversationState, StatusEntry
from baton.router import messages as m
from baton.router.guards import is_active

#: who a human agent's takeover pause is by (``Automation.human_spoke``)
TAKEOVER = "human_takeover"


def lasting_statuses(state: ConversationState, now: datetime) -> dict[str, StatusEntry]:
    """Statuses that outlive a conversation (a contact's bot status): stopped, and pauses
    that have not run out, except a human agent's takeover, which ends with its
    conversation (an indefinite one would otherwise silence the bot for good)."""
    return {
        bot: entry
        for bot, entry in state.statuses.items()
        if entry.status == "stopped"
        or (entry.status == "paused" and _lasting_pause(entry) and not is_active(state, bot, now))
    }


def _lasting_pause(entry: StatusEntry) -> bool:
    """A pause that is the contact's: not a takeover's; one from before pauses said who
    set them (``by`` empty, a snapshot of an older version) lasts only when timed, as
    pauses then did (it may be an untimed takeover's)."""
    if entry.by == TAKEOVER:
        return False
    return entry.until is not None or entry.by != ""


def check_until(command: m.SetStatus, now: datetime) -> None:
    """Refuse an ``until`` that is not a future time of a pause."""
    if command.until is None:
        return
    if command.status != "paused":
        raise m.CommandRefused(
            f"`until` only goes with status paused, not {command.status}; leave it out"
        )
    try:
        until = datetime.fromisoformat(command.until)
    except ValueError as exc:
        raise m.CommandRefused(
            f"`until` {command.until!r} is not an ISO time, e.g. 2026-12-01T09:00:00+00:00"
        ) from exc
    if until.tzinfo is None:
        until = until.replace(tzinfo=UTC)
    if until <= now:
        raise m.CommandRefused(
            f"`until` {command.until} is not in the future (now is {now.isoformat()}); "
            "give a later time, or pause without `until` and set the bot active later"
        )


def takeover_pauses(state: ConversationState, owner: str | None) -> list[str]:
    """The bots a human agent's takeover paused (none when no takeover goes on). A pause
    from before pauses said who set them (``by`` empty) counts when it is ``owner``'s and
    ends with the takeover."""
    if state.human is None:
        return []
    return [
        bot
        for bot, entry in state.statuses.items()
        if entry.status == "paused"
        and (
            entry.by == TAKEOVER
            or (entry.by == "" and bot == owner and entry.until == state.human_until)
        )
    ]
