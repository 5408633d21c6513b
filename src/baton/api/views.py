"""How the API shows a conversation, shared by the reading routes and operator actions."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Depends

from baton.api import db
from baton.api import models as o
from baton.api.context import ApiContext, api_context, current_key
from baton.api.errors import not_found
from baton.domain.records import ConversationRecord
from baton.domain.state import ConversationState
from baton.router.guards import current_bot, find_owner, human_owns, is_active

Key = Annotated[db.ApiKey, Depends(current_key)]
Ctx = Annotated[ApiContext, Depends(api_context)]


def default_mode(ctx: ApiContext, state: ConversationState) -> str:
    owner = current_bot(state, ctx.engine.project)
    bot = ctx.engine.project.bots.get(owner) if owner else None
    return bot.settings.mode if bot else "auto"


def primary_of(ctx: ApiContext, channel: str) -> str | None:
    primary = ctx.engine.project.primary_for(channel)
    return primary.bot_id if primary else None


def conversation_out(
    ctx: ApiContext, record: ConversationRecord, state: ConversationState
) -> o.ConversationOut:
    owner = state.owner
    current = current_bot(state, ctx.engine.project)
    now = ctx.engine.clock.now()
    status = state.status_of(current).status if current else "active"
    if status == "paused" and current and is_active(state, current, now):
        status = "active"  # a timed pause that ran out (the next turn records it)
    mode = state.mode_of(current, default_mode(ctx, state)) if current else "auto"
    answering = find_owner(state, ctx.engine.project, now)
    minutes = ctx.engine.project.settings.settings.idle_timeout_minutes
    idle = not state.ended and now - record.last_activity_at > timedelta(minutes=minutes)
    return o.ConversationOut(
        conversation_id=record.conversation_id,
        contact_id=record.contact_id,
        channel=record.channel,
        started_at=record.started_at,
        last_activity_at=record.last_activity_at,
        ended=state.ended,
        version=state.version,
        owner=owner,
        bot_status=status,
        mode=mode,
        human=human_owns(state, now),
        suggestions={} if idle else dict(state.suggestions),  # they lapse with it
        idle=idle,
        answering=None if state.ended or idle else answering.bot_id,
        answering_why=(
            "the conversation ended"
            if state.ended
            else "idle: the contact's next message starts a new conversation"
            if idle
            else answering.reason
        ),
    )


async def load_conversation(
    ctx: ApiContext, key: db.ApiKey, conversation_id: str
) -> tuple[ConversationRecord, ConversationState]:
    record = await ctx.engine.store.get_conversation(key.account_id, conversation_id)
    if record is None:
        raise not_found("conversation", conversation_id)
    state = await ctx.engine.store.load_state(key.account_id, conversation_id)
    if state.version != record.version:  # another instance moved it past this one's cache
        state = await ctx.engine.store.load_state(key.account_id, conversation_id, fresh=True)
    return record, state
