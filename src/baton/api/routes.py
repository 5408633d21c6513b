"""The ``/v1`` management API: bots, contacts, conversations and operator actions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from baton.api import actions, db, triggers
from baton.api import models as o
from baton.api.context import ApiContext
from baton.api.errors import ERROR_RESPONSES, ApiError, ErrorBody
from baton.api.views import Ctx, Key, conversation_out, load_conversation, primary_of
from baton.domain.events import RecordedEvent, event_to_dict
from baton.domain.ids import new_id
from baton.domain.records import Contact, ConversationRecord
from baton.domain.state import ConversationState
from baton.router.guards import human_owns
from baton.runtime.transcript import describe

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES)
router.include_router(triggers.router)
router.include_router(actions.router)

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
    """Create a contact (409 if the id is taken).

    Its tags and fields are then set as a PATCH sets them, as turns, so the workflows they
    trigger (`tag_added`, `field_updated`) run: a contact created tagged `vip` gets the
    VIP workflow, which a later PATCH adding the tag it already had would not run.
    """
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
        language=body.language,
    )
    try:
        await store.save_contact(contact)
    except ValueError as exc:
        raise ApiError(409, "contact_exists", f"contact id {contact_id!r} is taken") from exc
    if body.tags or body.fields:
        changes = o.ContactPatch(add_tags=body.tags, fields=body.fields)
        return triggers.contact_out(await triggers.apply_patch(ctx, key, contact_id, changes))
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
        shown = conversation_out(ctx, record, state)
        return (
            (status is None or shown.bot_status == status)
            and (mode is None or shown.mode == mode)
            and (human is None or shown.human == human)
        )

    test = keep if (status, mode, human) != (None, None, None) else None
    rows, more = await db.list_conversations(
        ctx.sql, key.account_id, where, limit, _position(cursor), test
    )
    items = [conversation_out(ctx, record, state) for record, state in rows]
    return o.ConversationPage(items=items, next_cursor=_key_cursor(more))


@router.get(
    "/conversations/{conversation_id}", response_model=o.ConversationOut, tags=["conversations"]
)
async def get_conversation(conversation_id: str, key: Key, ctx: Ctx) -> o.ConversationOut:
    """One conversation."""
    record, state = await load_conversation(ctx, key, conversation_id)
    return conversation_out(ctx, record, state)


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
    """The conversation's events (paged by sequence number) and, on the first page, its
    owner spans (of the whole log: a later page has none, so paging reads each event
    once; every page used to read, and send, the whole log again)."""
    record, state = await load_conversation(ctx, key, conversation_id)
    after = _offset(cursor)
    store = ctx.engine.store
    if after == 0:
        recorded = await store.read_events(key.account_id, conversation_id)
        page = recorded[:limit]
        held = spans(recorded, primary_of(ctx, record.channel))
    else:
        page = await store.read_events(key.account_id, conversation_id, after, limit)
        held = []
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
    more = page[-1].seq if page and page[-1].seq < state.version else None
    return o.Transcript(
        conversation=conversation_out(ctx, record, state),
        events=events,
        spans=held,
        next_cursor=_cursor(more),
    )


__all__ = ["router", "spans"]
