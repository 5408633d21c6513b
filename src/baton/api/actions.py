"""Operator actions on a conversation: assign, status, mode, escalate, a human's message,
hand back, and resolving suggestions. Each runs as a turn through the router."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Annotated

from fastapi import APIRouter

from baton.api import db, triggers
from baton.api import models as o
from baton.api.context import ApiContext
from baton.api.errors import ApiError, ErrorBody, not_found
from baton.api.views import Ctx, Key, conversation_out, load_conversation
from baton.domain import events as ev
from baton.domain.errors import UnknownBot
from baton.domain.records import ConversationRecord
from baton.domain.state import ConversationState
from baton.router import messages as m

router = APIRouter()


async def _open_conversation(
    ctx: ApiContext, key: db.ApiKey, conversation_id: str, *, idle_is_over: bool = False
) -> tuple[ConversationRecord, ConversationState]:
    """The conversation an operator acts on, or 409 ``conversation_ended``.

    The router applies a command to the contact's live conversation: on an ended one it
    would open a new conversation and act there, answering 200 for something the
    operator never asked. An idle one is ended by the next turn; a suggestion of it
    (``idle_is_over``) would be lost with it, so that is refused too.
    """
    record, state = await load_conversation(ctx, key, conversation_id)
    latest = await ctx.engine.store.latest_conversation(key.account_id, record.contact_id)
    newer = latest is not None and latest.conversation_id != record.conversation_id
    if state.ended or newer:
        now_live = f"; the contact's latest is {latest.conversation_id}" if latest and newer else ""
        raise ApiError(
            409,
            "conversation_ended",
            f"conversation {conversation_id!r} has ended{now_live}; act on a live "
            "conversation (GET /v1/conversations?contact_id=...)",
        )
    idle = timedelta(minutes=ctx.engine.project.settings.settings.idle_timeout_minutes)
    if idle_is_over and ctx.engine.clock.now() - record.last_activity_at > idle:
        raise ApiError(
            409,
            "conversation_ended",
            f"conversation {conversation_id!r} went idle (no activity for more than "
            f"{idle.total_seconds() / 60:g} minutes), so its suggestions lapsed",
        )
    return record, state


async def _act(
    ctx: ApiContext,
    key: db.ApiKey,
    conversation_id: str,
    command: m.Command,
    record: ConversationRecord | None = None,
) -> o.ActionResult:
    """Run ``command`` on the conversation (opened here unless the caller has)."""
    if record is None:
        record, _state = await _open_conversation(ctx, key, conversation_id)
    try:
        async with ctx.contact_lock(key.account_id, record.contact_id):
            result = await ctx.engine.router.command(
                key.account_id,
                record.contact_id,
                command,
                record.channel,
                conversation_id=record.conversation_id,  # it may end while this waits
            )
    except UnknownBot as exc:
        raise ApiError(404, "bot_not_found", str(exc)) from exc
    except m.UnknownSuggestion:
        raise  # the suggestion's own route answers 404 suggestion_not_found
    except m.NothingToHandBack as exc:
        raise ApiError(409, "not_held_by_human", str(exc)) from exc
    except m.CommandRefused as exc:
        raise ApiError(422, "invalid_request", str(exc)) from exc
    except m.ConversationGone as exc:
        raise ApiError(409, "conversation_ended", f"{exc}; act on a live conversation") from exc
    await ctx.after_turn(result, record.channel)
    record2 = await ctx.engine.store.get_conversation(key.account_id, result.conversation_id)
    state = await ctx.engine.store.load_state(key.account_id, result.conversation_id)
    return o.ActionResult(
        conversation_id=result.conversation_id,
        events=[e.type for e in result.events],
        replies=triggers.replies_out(result),
        conversation=conversation_out(ctx, record2 or record, state),
    )


def _bot_known(ctx: ApiContext, bot_id: str | None) -> None:
    if bot_id is not None and bot_id not in ctx.engine.project.bots:
        raise not_found("bot", bot_id)


ConversationId = Annotated[str, "conversation id"]
Action = {
    "response_model": o.ActionResult,
    "tags": ["operator actions"],
    "responses": {
        409: {
            "model": ErrorBody,
            "description": "the conversation has ended (or, for a hand-back, no human holds "
            "it; for a suggestion, it was resolved already: suggestion_resolved)",
        }
    },
}


@router.post("/conversations/{conversation_id}/assign", **Action)  # type: ignore[arg-type]
async def assign(conversation_id: str, body: o.AssignIn, key: Key, ctx: Ctx) -> o.ActionResult:
    """Make a bot the owner (optionally in a mode); it is set active for the contact, a
    stopped or paused one too."""
    _bot_known(ctx, body.bot_id)
    return await _act(
        ctx, key, conversation_id, m.Assign(body.bot_id, body.mode, reason=body.reason)
    )


@router.post("/conversations/{conversation_id}/status", **Action)  # type: ignore[arg-type]
async def set_status(conversation_id: str, body: o.StatusIn, key: Key, ctx: Ctx) -> o.ActionResult:
    """Set a bot's status: active, paused (optionally until a time) or stopped."""
    _bot_known(ctx, body.bot_id)
    moment = body.until
    if moment is not None and moment.tzinfo is None:  # a time without a zone is UTC
        moment = moment.replace(tzinfo=UTC)
    until = moment.isoformat() if moment else None
    # the router refuses an `until` that is past or not on a pause (CommandRefused: 422)
    return await _act(ctx, key, conversation_id, m.SetStatus(body.status, body.bot_id, until))


@router.post("/conversations/{conversation_id}/mode", **Action)  # type: ignore[arg-type]
async def set_mode(conversation_id: str, body: o.ModeIn, key: Key, ctx: Ctx) -> o.ActionResult:
    """Set a bot's mode: auto-pilot or suggestive."""
    _bot_known(ctx, body.bot_id)
    return await _act(ctx, key, conversation_id, m.SetMode(body.mode, body.bot_id))


@router.post("/conversations/{conversation_id}/escalate", **Action)  # type: ignore[arg-type]
async def escalate(
    conversation_id: str, key: Key, ctx: Ctx, body: o.EscalateIn | None = None
) -> o.ActionResult:
    """Give the conversation to a human agent; bots stay silent (the body is optional)."""
    body = body or o.EscalateIn()
    return await _act(ctx, key, conversation_id, m.EscalateToHuman(body.reason))


@router.post("/conversations/{conversation_id}/messages", **Action)  # type: ignore[arg-type]
async def human_message(
    conversation_id: str, body: o.HumanMessageIn, key: Key, ctx: Ctx
) -> o.ActionResult:
    """Send a human agent's message to the contact."""
    return await _act(ctx, key, conversation_id, m.HumanMessage(body.text, body.agent))


@router.post("/conversations/{conversation_id}/handback", **Action)  # type: ignore[arg-type]
async def hand_back(
    conversation_id: str, key: Key, ctx: Ctx, body: o.HandBackIn | None = None
) -> o.ActionResult:
    """Give the conversation back to a bot (409 `not_held_by_human` when no human agent
    holds it: assign a bot to move it); without a body, to the bot it was taken from."""
    body = body or o.HandBackIn()
    _bot_known(ctx, body.bot_id)
    return await _act(ctx, key, conversation_id, m.HandBack(body.bot_id))


async def _resolve(
    ctx: ApiContext, key: db.ApiKey, conversation_id: str, command: m.ResolveSuggestion
) -> o.ActionResult:
    record, state = await _open_conversation(ctx, key, conversation_id, idle_is_over=True)
    if command.suggestion_id not in state.suggestions:
        raise await _not_waiting(ctx, key, record, command.suggestion_id)
    try:
        return await _act(ctx, key, conversation_id, command, record)
    except m.UnknownSuggestion as exc:  # resolved meanwhile
        raise await _not_waiting(ctx, key, record, command.suggestion_id) from exc


async def _not_waiting(
    ctx: ApiContext, key: db.ApiKey, record: ConversationRecord, suggestion_id: str
) -> ApiError:
    """409 ``suggestion_resolved`` for a suggestion a colleague approved, edited or
    discarded already (it answered 404, as if the id were wrong); 404 for no such one."""
    events = await ctx.engine.store.read_events(key.account_id, record.conversation_id)
    for recorded in reversed(events):
        event = recorded.event
        if isinstance(event, ev.SuggestionResolved) and event.suggestion_id == suggestion_id:
            return ApiError(
                409,
                "suggestion_resolved",
                f"suggestion {suggestion_id!r} was {event.outcome} already (by {event.by})",
            )
    return not_found("suggestion", suggestion_id)


@router.post(
    "/conversations/{conversation_id}/suggestions/{suggestion_id}/approve",
    **Action,  # type: ignore[arg-type]
)
async def approve(conversation_id: str, suggestion_id: str, key: Key, ctx: Ctx) -> o.ActionResult:
    """Send a suggestion as it is."""
    return await _resolve(ctx, key, conversation_id, m.ResolveSuggestion(suggestion_id, "approved"))


@router.post(
    "/conversations/{conversation_id}/suggestions/{suggestion_id}/edit",
    **Action,  # type: ignore[arg-type]
)
async def edit(
    conversation_id: str, suggestion_id: str, body: o.EditIn, key: Key, ctx: Ctx
) -> o.ActionResult:
    """Send an edited suggestion."""
    return await _resolve(
        ctx, key, conversation_id, m.ResolveSuggestion(suggestion_id, "edited", body.text)
    )


@router.post(
    "/conversations/{conversation_id}/suggestions/{suggestion_id}/discard",
    **Action,  # type: ignore[arg-type]
)
async def discard(conversation_id: str, suggestion_id: str, key: Key, ctx: Ctx) -> o.ActionResult:
    """Drop a suggestion."""
    return await _resolve(
        ctx, key, conversation_id, m.ResolveSuggestion(suggestion_id, "discarded")
    )
