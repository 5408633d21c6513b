"""The ``/v1`` management API: bots, contacts, conversations and operator actions."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from baton.api import db, triggers
from baton.api import models as o
from baton.api.context import ApiContext, api_context, current_key
from baton.api.errors import ERROR_RESPONSES, ApiError, ErrorBody, not_found
from baton.domain import events as ev
from baton.domain.errors import UnknownBot
from baton.domain.events import RecordedEvent, event_to_dict
from baton.domain.ids import new_id
from baton.domain.records import Contact, ConversationRecord
from baton.domain.state import ConversationState
from baton.router import messages as m
from baton.router.guards import human_owns, is_active
from baton.runtime.transcript import describe

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES)
router.include_router(triggers.router)

Key = Annotated[db.ApiKey, Depends(current_key)]
Ctx = Annotated[ApiContext, Depends(api_context)]
Limit = Annotated[int, Query(ge=1, le=200, description="items per page")]
Cursor = Annotated[
    str | None,
    Query(pattern=r"^[0-9]{1,12}$", description="`next_cursor` of the previous page"),
]


KeyCursor = Annotated[
    str | None,
    Query(
        max_length=1100,
        pattern=db.CURSOR_PATTERN,
        description="`next_cursor` of the previous page (pass it back as it is)",
    ),
]


def _position(cursor: str | None) -> db.Position | None:
    return None if cursor is None else db.decode_cursor(cursor)


def _key_cursor(position: db.Position | None) -> str | None:
    return None if position is None else db.encode_cursor(position)


def _offset(cursor: str | None) -> int:
    return int(cursor) if cursor else 0


def _cursor(offset: int | None) -> str | None:
    return None if offset is None else str(offset)


# -- bots ---------------------------------------------------------------------


@router.get("/bots", response_model=o.BotPage, tags=["bots"])
async def list_bots(key: Key, ctx: Ctx, limit: Limit = 50, cursor: Cursor = None) -> o.BotPage:
    """The project's bots."""
    start = _offset(cursor)
    bots = list(ctx.engine.project.bots.values())
    page = bots[start : start + limit]
    items = [
        o.BotOut(
            bot_id=b.bot_id,
            name=b.settings.name,
            kind=b.settings.kind,
            primary=b.settings.primary,
            channels=list(b.settings.channels),
            language=b.settings.language,
            mode=b.settings.mode,
            group=b.settings.group,
            owners=list(b.settings.owners),
        )
        for b in page
    ]
    more = start + limit if start + limit < len(bots) else None
    return o.BotPage(items=items, next_cursor=_cursor(more))


# -- contacts -----------------------------------------------------------------


@router.get("/contacts", response_model=o.ContactPage, tags=["contacts"])
async def list_contacts(
    key: Key, ctx: Ctx, limit: Limit = 50, cursor: KeyCursor = None
) -> o.ContactPage:
    """Contacts, newest first."""
    ids, more = await db.list_contacts(ctx.sql, key.account_id, limit, _position(cursor))
    items = [triggers.contact_out(await triggers.find_contact(ctx, key, i)) for i in ids]
    return o.ContactPage(items=items, next_cursor=_key_cursor(more))


@router.post(
    "/contacts",
    response_model=o.ContactOut,
    status_code=201,
    tags=["contacts"],
    responses={409: {"model": ErrorBody, "description": "the contact id is taken"}},
)
async def create_contact(body: o.ContactIn, key: Key, ctx: Ctx) -> o.ContactOut:
    """Create a contact (409 if the id is taken)."""
    store = ctx.engine.store
    contact_id = body.contact_id or new_id("contact")
    if body.contact_id is not None and await _exists_anywhere(ctx, contact_id, key.account_id):
        raise ApiError(409, "contact_exists", f"contact id {contact_id!r} is taken")
    for channel, address in sorted(body.identities.items()):
        owner = await store.identity_owner(key.account_id, channel, address)
        if owner is not None:  # saving would move it away from its contact without a word
            raise ApiError(
                409,
                "identity_taken",
                f"the {channel} address {address!r} belongs to contact {owner!r}; "
                "leave it out, or use that contact",
            )
    contact = Contact(
        key.account_id,
        contact_id,
        identities={str(channel): address for channel, address in body.identities.items()},
        tags=tuple(dict.fromkeys(body.tags)),
        fields=dict(body.fields),
        language=body.language,
    )
    try:
        await store.save_contact(contact)
    except ValueError as exc:
        raise ApiError(409, "contact_exists", f"contact id {contact_id!r} is taken") from exc
    return triggers.contact_out(await triggers.find_contact(ctx, key, contact_id))


async def _exists_anywhere(ctx: ApiContext, contact_id: str, account_id: str) -> bool:
    return await ctx.engine.store.get_contact(account_id, contact_id) is not None


@router.get("/contacts/{contact_id}", response_model=o.ContactOut, tags=["contacts"])
async def get_contact(contact_id: str, key: Key, ctx: Ctx) -> o.ContactOut:
    """One contact."""
    return triggers.contact_out(await triggers.find_contact(ctx, key, contact_id))


@router.patch("/contacts/{contact_id}", response_model=o.ContactOut, tags=["contacts"])
async def update_contact(contact_id: str, body: o.ContactPatch, key: Key, ctx: Ctx) -> o.ContactOut:
    """Add or remove tags, set or clear (null) custom fields, set the language.

    Tag and field changes run as turns, in that order, so the workflows they trigger
    (`tag_added`, `tag_removed`, `field_updated`) run too.
    """
    return triggers.contact_out(await triggers.apply_patch(ctx, key, contact_id, body))


# -- conversations ------------------------------------------------------------


def _default_mode(ctx: ApiContext, state: ConversationState) -> str:
    owner = state.owner or _primary(ctx, state.channel)
    bot = ctx.engine.project.bots.get(owner) if owner else None
    return bot.settings.mode if bot else "auto"


def _primary(ctx: ApiContext, channel: str) -> str | None:
    primary = ctx.engine.project.primary_for(channel)
    return primary.bot_id if primary else None


def _conversation_out(
    ctx: ApiContext, record: ConversationRecord, state: ConversationState
) -> o.ConversationOut:
    owner = state.owner
    current = owner or _primary(ctx, record.channel)
    now = ctx.engine.clock.now()
    status = state.status_of(current).status if current else "active"
    if status == "paused" and current and is_active(state, current, now):
        status = "active"  # a timed pause that ran out (the next turn records it)
    mode = state.mode_of(current, _default_mode(ctx, state)) if current else "auto"
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
        suggestions=dict(state.suggestions),
    )


async def _conversation(
    ctx: ApiContext, key: db.ApiKey, conversation_id: str
) -> tuple[ConversationRecord, ConversationState]:
    record = await ctx.engine.store.get_conversation(key.account_id, conversation_id)
    if record is None:
        raise not_found("conversation", conversation_id)
    state = await ctx.engine.store.load_state(key.account_id, conversation_id)
    return record, state


@router.get("/conversations", response_model=o.ConversationPage, tags=["conversations"])
async def list_conversations(
    key: Key,
    ctx: Ctx,
    limit: Limit = 50,
    cursor: KeyCursor = None,
    bot: Annotated[str | None, Query(max_length=100, description="owner bot")] = None,
    status: Annotated[
        str | None, Query(pattern="^(active|paused|stopped)$", description="owner's status")
    ] = None,
    mode: Annotated[str | None, Query(pattern="^(auto|suggest)$")] = None,
    channel: Annotated[str | None, Query(max_length=40)] = None,
    human: Annotated[bool | None, Query(description="escalated to a human")] = None,
    contact_id: Annotated[str | None, Query(max_length=100)] = None,
) -> o.ConversationPage:
    """Conversations, most recently active first, filtered.

    `status`, `mode` and `human` test what each item shows: with no assigned owner,
    the status and mode are those of the channel's primary bot for the contact.
    """
    where = db.ConversationFilter(bot, channel, contact_id)

    def keep(record: ConversationRecord, state: ConversationState) -> bool:
        shown = _conversation_out(ctx, record, state)
        return (
            (status is None or shown.bot_status == status)
            and (mode is None or shown.mode == mode)
            and (human is None or shown.human == human)
        )

    test = keep if (status, mode, human) != (None, None, None) else None
    rows, more = await db.list_conversations(
        ctx.sql, key.account_id, where, limit, _position(cursor), test
    )
    items = [_conversation_out(ctx, record, state) for record, state in rows]
    return o.ConversationPage(items=items, next_cursor=_key_cursor(more))


@router.get(
    "/conversations/{conversation_id}", response_model=o.ConversationOut, tags=["conversations"]
)
async def get_conversation(conversation_id: str, key: Key, ctx: Ctx) -> o.ConversationOut:
    """One conversation."""
    record, state = await _conversation(ctx, key, conversation_id)
    return _conversation_out(ctx, record, state)


def spans(recorded: list[RecordedEvent], primary: str | None = None) -> list[o.Span]:
    """Who held the conversation, from which event to which: bot spans and human spans."""
    state = ConversationState()
    found: list[o.Span] = []
    for item in recorded:
        state.apply(item.event)
        human = human_owns(state, item.at)
        holder = (None, True) if human else (state.owner or primary, False)
        last = found[-1] if found else None
        if last is not None and (last.owner, last.human) == holder:
            last.to_seq, last.ended_at = item.seq, item.at
        elif holder != (None, False):
            found.append(
                o.Span(
                    owner=holder[0],
                    human=holder[1],
                    from_seq=item.seq,
                    to_seq=item.seq,
                    started_at=item.at,
                    ended_at=item.at,
                )
            )
    return found


@router.get(
    "/conversations/{conversation_id}/transcript",
    response_model=o.Transcript,
    tags=["conversations"],
)
async def transcript(
    conversation_id: str,
    key: Key,
    ctx: Ctx,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    cursor: Cursor = None,
) -> o.Transcript:
    """The conversation's events (paged by sequence number) and its owner spans."""
    record, state = await _conversation(ctx, key, conversation_id)
    after = _offset(cursor)
    recorded = await ctx.engine.store.read_events(key.account_id, conversation_id)
    page = [r for r in recorded if r.seq > after][:limit]
    events = [
        o.EventOut(
            seq=r.seq,
            at=r.at,
            type=r.event.type,
            data=event_to_dict(r.event),
            line=describe(r.event),
        )
        for r in page
    ]
    more = page[-1].seq if page and page[-1].seq < (recorded[-1].seq if recorded else 0) else None
    return o.Transcript(
        conversation=_conversation_out(ctx, record, state),
        events=events,
        spans=spans(recorded, _primary(ctx, record.channel)),
        next_cursor=_cursor(more),
    )


# -- operator actions ---------------------------------------------------------


async def _open_conversation(
    ctx: ApiContext, key: db.ApiKey, conversation_id: str, *, idle_is_over: bool = False
) -> tuple[ConversationRecord, ConversationState]:
    """The conversation an operator acts on, or 409 ``conversation_ended``.

    The router applies a command to the contact's live conversation: on an ended one it
    would open a new conversation and act there, answering 200 for something the
    operator never asked. An idle one is ended by the next turn; a suggestion of it
    (``idle_is_over``) would be lost with it, so that is refused too.
    """
    record, state = await _conversation(ctx, key, conversation_id)
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
    ctx: ApiContext, key: db.ApiKey, conversation_id: str, command: m.Command
) -> o.ActionResult:
    record, _state = await _open_conversation(
        ctx, key, conversation_id, idle_is_over=isinstance(command, m.ResolveSuggestion)
    )
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
        conversation=_conversation_out(ctx, record2 or record, state),
    )


def _bot_known(ctx: ApiContext, bot_id: str | None) -> None:
    if bot_id is not None and bot_id not in ctx.engine.project.bots:
        raise not_found("bot", bot_id)


ConversationId = Annotated[str, "conversation id"]
Action = {
    "response_model": o.ActionResult,
    "tags": ["operator actions"],
    "responses": {409: {"model": ErrorBody, "description": "the conversation has ended"}},
}


@router.post("/conversations/{conversation_id}/assign", **Action)  # type: ignore[arg-type]
async def assign(conversation_id: str, body: o.AssignIn, key: Key, ctx: Ctx) -> o.ActionResult:
    """Make a bot the owner (optionally in a mode)."""
    _bot_known(ctx, body.bot_id)
    return await _act(
        ctx, key, conversation_id, m.Assign(body.bot_id, body.mode, reason=body.reason)
    )


@router.post("/conversations/{conversation_id}/status", **Action)  # type: ignore[arg-type]
async def set_status(conversation_id: str, body: o.StatusIn, key: Key, ctx: Ctx) -> o.ActionResult:
    """Set a bot's status: active, paused (optionally until a time) or stopped."""
    _bot_known(ctx, body.bot_id)
    await _open_conversation(ctx, key, conversation_id)
    moment = body.until
    if moment is not None and moment.tzinfo is None:  # a time without a zone is UTC
        moment = moment.replace(tzinfo=UTC)
    until = moment.isoformat() if moment else None
    if until is not None and body.status != "paused":
        raise ApiError(422, "invalid_request", "`until` only goes with status paused")
    return await _act(ctx, key, conversation_id, m.SetStatus(body.status, body.bot_id, until))


@router.post("/conversations/{conversation_id}/mode", **Action)  # type: ignore[arg-type]
async def set_mode(conversation_id: str, body: o.ModeIn, key: Key, ctx: Ctx) -> o.ActionResult:
    """Set a bot's mode: auto-pilot or suggestive."""
    _bot_known(ctx, body.bot_id)
    return await _act(ctx, key, conversation_id, m.SetMode(body.mode, body.bot_id))


@router.post("/conversations/{conversation_id}/escalate", **Action)  # type: ignore[arg-type]
async def escalate(conversation_id: str, body: o.EscalateIn, key: Key, ctx: Ctx) -> o.ActionResult:
    """Give the conversation to a human agent; bots stay silent."""
    return await _act(ctx, key, conversation_id, m.EscalateToHuman(body.reason))


@router.post("/conversations/{conversation_id}/messages", **Action)  # type: ignore[arg-type]
async def human_message(
    conversation_id: str, body: o.HumanMessageIn, key: Key, ctx: Ctx
) -> o.ActionResult:
    """Send a human agent's message to the contact."""
    return await _act(ctx, key, conversation_id, m.HumanMessage(body.text, body.agent))


@router.post("/conversations/{conversation_id}/handback", **Action)  # type: ignore[arg-type]
async def hand_back(conversation_id: str, body: o.HandBackIn, key: Key, ctx: Ctx) -> o.ActionResult:
    """Give the conversation back to a bot."""
    _bot_known(ctx, body.bot_id)
    return await _act(ctx, key, conversation_id, m.HandBack(body.bot_id))


async def _resolve(
    ctx: ApiContext, key: db.ApiKey, conversation_id: str, command: m.ResolveSuggestion
) -> o.ActionResult:
    _record, state = await _open_conversation(ctx, key, conversation_id, idle_is_over=True)
    if command.suggestion_id not in state.suggestions:
        raise not_found("suggestion", command.suggestion_id)
    try:
        return await _act(ctx, key, conversation_id, command)
    except KeyError as exc:  # resolved meanwhile
        raise not_found("suggestion", command.suggestion_id) from exc


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


__all__ = ["ev", "router", "spans"]
