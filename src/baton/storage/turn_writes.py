"""What an append writes besides the events' order: each event's row, the receipts of
messages taken in with a provider id, the replies to queue, and the conversation row's
advance (``statements.ADVANCE``), made in one pass over a turn's events."""

from __future__ import annotations

from typing import Any

from baton.domain.events import ConversationStarted, Event, MessageReceived, MessageSent
from baton.domain.state import ConversationState
from baton.storage import statements as q
from baton.storage.codec import event_text


def turn_writes(
    key: tuple[str, str],
    expected: int,
    events: list[Event],
    state: ConversationState,
    at: object,
) -> tuple[list[tuple[Any, ...]], list[dict[str, Any]], list[dict[str, Any]]]:
    """One pass over a turn's events: their rows (in the order of ``EVENT_COLUMNS``),
    the parameters of ``INSERT_RECEIPT`` (each message taken in with a provider id) and
    of ``QUEUE_REPLY`` (each reply to deliver); each event's JSON is made once."""
    account_id, conversation_id = key
    queue = _queues_replies(state)
    rows: list[tuple[Any, ...]] = []
    receipts: list[dict[str, Any]] = []
    replies: list[dict[str, Any]] = []
    seq = expected
    for event in events:
        seq += 1
        text = event_text(event)
        rows.append((account_id, conversation_id, seq, event.type, event.version, text, at))
        if isinstance(event, MessageReceived):
            if event.message_id is not None:
                receipts.append(_receipt(key, event, event.message_id, seq))
        elif queue and isinstance(event, MessageSent):
            replies.append(_reply(key, seq, text, at))
    return rows, receipts, replies


def _queues_replies(state: ConversationState) -> bool:
    """Whether the conversation's replies go to the outbox: on a provider channel, or on
    an unknown one, left to ``QUEUE_REPLY``, which checks the stored row."""
    return state.channel in q.OUTBOX_CHANNELS or not state.channel


def _receipt(
    key: tuple[str, str], event: MessageReceived, message_id: str, seq: int
) -> dict[str, Any]:
    """``INSERT_RECEIPT``'s parameters: a message taken in with a provider id."""
    return {
        "b_account": key[0],
        "b_channel": event.channel,
        "b_message_id": message_id,
        "b_conversation": key[1],
        "b_seq": seq,
    }


def _reply(key: tuple[str, str], seq: int, text: str, at: object) -> dict[str, Any]:
    """``QUEUE_REPLY``'s parameters: a reply to deliver."""
    return {
        "b_account": key[0],
        "b_conversation": key[1],
        "b_seq": seq,
        "b_data": text,
        "b_key": f"{key[1]}:{seq}",
        "b_at": at,
    }


_ACTIVITY = (ConversationStarted, MessageReceived, MessageSent)


def is_activity(events: list[Event]) -> bool:
    """Whether a turn's events move the conversation's ``last_activity_at``: its start, or a
    message taken in or sent. A timer that fired to no effect, a status change or a tag is not
    activity: it would keep an idle conversation open and float it up the list."""
    for event in events:  # noqa: SIM110 - a loop: no generator on the turn's path
        if type(event) in _ACTIVITY:
            return True
    return False


def advance_params(
    key: tuple[str, str],
    expected: int,
    events: list[Event],
    state: ConversationState,
    now: object,
    snapshot: str | None,
    active: bool,
) -> dict[str, Any]:
    """``ADVANCE``'s parameters: the conversation row after the turn (``now`` only when
    the turn is activity, ``snapshot`` None to keep the stored one)."""
    return {
        "b_account": key[0],
        "b_id": key[1],
        "b_expected": expected,
        "b_version": expected + len(events),
        "b_now": now if active else None,
        "b_owner": state.owner,
        "b_ended": state.ended,
        "b_snapshot": snapshot,  # None: the stored snapshot stays (see SNAPSHOT_EVERY)
        "b_timers": bool(state.timers),
    }
