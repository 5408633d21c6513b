"""Pre-built SQLAlchemy Core statements: compiled once, then only re-bound."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from baton.storage.codec import UtcDateTime
from baton.storage.schema import (
    accounts,
    contact_identities,
    contacts,
    conversations,
    events,
    inbound_receipts,
    outbox,
)

_conv = conversations.c
_ev = events.c
_contact = contacts.c
_ident = contact_identities.c


def _p(name: str, type_: Any = None) -> sa.BindParameter[Any]:
    return sa.bindparam(name, type_=type_)


# Pre-built statements: SQLAlchemy caches their compiled form, so a turn pays
# only for binding parameters.
ADVANCE = (
    sa.update(conversations)
    .where(
        _conv.id == _p("b_id"),
        _conv.account_id == _p("b_account"),
        _conv.version == _p("b_expected"),
    )
    .values(
        version=_p("b_version", sa.Integer()),
        # a NULL ``b_now`` keeps it: the turn sent and took in no message
        last_activity_at=sa.func.coalesce(_p("b_now", UtcDateTime()), _conv.last_activity_at),
        owner=_p("b_owner", sa.String()),
        ended=_p("b_ended", sa.Boolean()),
        # a NULL ``b_snapshot`` keeps the stored one (it trails the log by a few events)
        snapshot=sa.func.coalesce(_p("b_snapshot", sa.Text()), _conv.snapshot),
        has_timers=_p("b_timers", sa.Boolean()),
    )
)
INSERT_EVENTS = events.insert()

# What a turn's append writes beside its events, in the same transaction (migration
# 0004 replaced the triggers on ``events`` that did it for every row of every channel).
#: channels whose replies the outbox worker delivers
OUTBOX_CHANNELS = ("sms", "whatsapp", "messenger", "instagram")
#: a provider message id taken in: a retry of it fails the whole append (unique key)
INSERT_RECEIPT = sa.insert(inbound_receipts).values(
    account_id=_p("b_account"),
    channel=_p("b_channel"),
    message_id=_p("b_message_id"),
    conversation_id=_p("b_conversation"),
    seq=_p("b_seq"),
)
_reply_conversation = _p("b_conversation", sa.String())
_REPLY_COLUMNS = (
    "account_id conversation_id seq channel address data idempotency_key status attempts due "
    "created_at"
).split()
#: a ``message_sent`` queued for delivery, to the contact's address on the conversation's
#: channel; nothing when that channel is not a provider channel
QUEUE_REPLY = sa.insert(outbox).from_select(
    _REPLY_COLUMNS,
    sa.select(
        _p("b_account", sa.String()),
        _reply_conversation,
        _p("b_seq", sa.Integer()),
        _conv.channel,
        _ident.address,
        _p("b_data", sa.Text()),
        _p("b_key", sa.String()),
        sa.literal_column("'pending'"),
        sa.literal_column("0"),
        sa.literal_column("0"),
        _p("b_at", UtcDateTime()),
    )
    .select_from(
        conversations.join(
            contact_identities,
            sa.and_(
                _ident.account_id == _conv.account_id,
                _ident.contact_id == _conv.contact_id,
                _ident.channel == _conv.channel,
            ),
        )
    )
    .where(
        _conv.id == _reply_conversation,
        # written out, not an expanding parameter: the SQLite writer runs the text as is
        _conv.channel.in_([sa.literal_column(f"'{name}'") for name in OUTBOX_CHANNELS]),
    ),
)
IN_CONVERSATION = (_conv.id == _p("b_id"), _conv.account_id == _p("b_account"))
LOAD = sa.select(_conv.version, _conv.snapshot).where(*IN_CONVERSATION)
VERSION = sa.select(_conv.version).where(*IN_CONVERSATION)
GET = sa.select(conversations).where(*IN_CONVERSATION)
EVENTS_AFTER = (
    sa.select(_ev.seq, _ev.type, _ev.data, _ev.at)
    .where(
        _ev.conversation_id == _p("b_id"),
        _ev.account_id == _p("b_account"),
        _ev.seq > _p("b_after"),
    )
    .order_by(_ev.seq)
)
#: a page of them: ``b_limit`` at most
EVENTS_PAGE = EVENTS_AFTER.limit(_p("b_limit", sa.Integer()))
# A contact's latest conversation: one with events before an empty one (created by a
# turn that crashed before its first append, or by another instance that has not
# appended yet), which carries nothing and supersedes nothing.
_WRITTEN_FIRST = sa.case((_conv.version > sa.literal_column("0"), 1), else_=0).desc()
LATEST = (
    sa.select(conversations)
    .where(_conv.account_id == _p("b_account"), _conv.contact_id == _p("b_contact"))
    .order_by(_WRITTEN_FIRST, _conv.started_at.desc(), _conv.id.desc())
    .limit(1)
)
# The row of a contact's latest conversation, without its snapshot.
RECORD_COLUMNS = (
    _conv.account_id,
    _conv.id,
    _conv.contact_id,
    _conv.channel,
    _conv.started_at,
    _conv.last_activity_at,
    _conv.version,
    _conv.owner,
    _conv.ended,
)
LATEST_RECORD = (
    sa.select(*RECORD_COLUMNS)
    .where(_conv.account_id == _p("b_account"), _conv.contact_id == _p("b_contact"))
    .order_by(_WRITTEN_FIRST, _conv.started_at.desc(), _conv.id.desc())
    .limit(1)
)
# The latest conversation with events of the contact a conversation belongs to (the
# appending one has moved past version 0 when this runs): one still empty, which
# another process created and has not appended to yet, supersedes nothing.
_contact_of = sa.select(_conv.contact_id).where(*IN_CONVERSATION).scalar_subquery()
LATEST_OF_CONTACT = (
    sa.select(_conv.id)
    .where(
        _conv.account_id == _p("b_account"),
        _conv.contact_id == _contact_of,
        _conv.version > sa.literal_column("0"),
    )
    .order_by(_conv.started_at.desc(), _conv.id.desc())
    .limit(1)
)
# A conversation's first append (from version 0) must not start a second live thread
# for its contact: another instance may have opened the contact's conversation since
# this one was created (two first messages at once, a provider's retry racing its
# original). FIRST_APPEND_RIVAL is whether the contact's latest *other* conversation
# with events is still going; then the empty one is dropped (DROP_EMPTY), so it
# doesn't stay its contact's "latest", and the turn is retried on the live one.
# On PostgreSQL the contact's row is locked first (LOCK_CONTACT), so two first
# appends of one contact run one after the other and the second sees the first.
FIRST_APPEND_RIVAL = (
    sa.select(_conv.ended)
    .where(
        _conv.account_id == _p("b_account"),
        _conv.contact_id == _contact_of,
        _conv.id != _p("b_id"),
        _conv.version > sa.literal_column("0"),
    )
    .order_by(_conv.started_at.desc(), _conv.id.desc())
    .limit(1)
)
DROP_EMPTY = sa.delete(conversations).where(
    *IN_CONVERSATION, _conv.version == sa.literal_column("0")
)
LOCK_CONTACT = (
    sa.select(_contact.id)
    .where(_contact.account_id == _p("b_account"), _contact.id == _contact_of)
    .with_for_update()
)
LIST = (
    sa.select(conversations)
    .where(_conv.account_id == _p("b_account"))
    .order_by(_conv.last_activity_at.desc(), _conv.id.desc())
    .limit(_p("b_limit"))
    .offset(_p("b_offset"))
)
IDENTITY_OWNER = sa.select(_ident.contact_id).where(
    _ident.account_id == _p("b_account"),
    _ident.channel == _p("b_channel"),
    _ident.address == _p("b_address"),
)
CONTACT_ROW = sa.select(_contact.tags, _contact.fields, _contact.language).where(
    _contact.id == _p("b_id"), _contact.account_id == _p("b_account")
)
# The first statement of a contact's change: it takes the row's lock on PostgreSQL and
# the file's write lock on SQLite, so what the change reads next is what it rebases on.
TOUCH_CONTACT = (
    sa.update(contacts)
    .where(_contact.id == _p("b_id"), _contact.account_id == _p("b_account"))
    .values(updated_at=_p("b_now"))
)
#: a contact's identities, unordered: with ``ORDER BY channel, address`` SQLite (without
#: ANALYZE statistics) walked the primary key, every identity of the account, to spare a
#: sort of two rows (31 ms a lookup at 63,000 contacts, 0.02 ms by the contact's index);
#: callers sort them
IDENTITIES = sa.select(_ident.channel, _ident.address).where(
    _ident.contact_id == _p("b_id"), _ident.account_id == _p("b_account")
)
FORGET_IDENTITIES = sa.delete(contact_identities).where(
    _ident.contact_id == _p("b_id"), _ident.account_id == _p("b_account")
)
INSERT_CONVERSATION = conversations.insert()
INSERT_CONTACT = contacts.insert()


class Upserts:
    """The ``INSERT ... ON CONFLICT`` statements, in the backend's own dialect."""

    def __init__(self, dialect_name: str) -> None:
        insert = postgresql.insert if dialect_name == "postgresql" else sqlite.insert
        self.account = insert(accounts).on_conflict_do_nothing(index_elements=["id"])
        new_identity = insert(contact_identities)
        self.claim_identity = new_identity.on_conflict_do_nothing(
            index_elements=["account_id", "channel", "address"]
        )
        self.move_identity = new_identity.on_conflict_do_update(
            index_elements=["account_id", "channel", "address"],
            set_={"contact_id": new_identity.excluded.contact_id},
        )
        new_contact = insert(contacts)
        self.contact = new_contact.on_conflict_do_update(
            index_elements=["id"],
            set_={
                "tags": new_contact.excluded.tags,
                "fields": new_contact.excluded.fields,
                "language": new_contact.excluded.language,
                "updated_at": new_contact.excluded.updated_at,
            },
            # A contact id from another account must never be overwritten.
            where=_contact.account_id == new_contact.excluded.account_id,
        )
