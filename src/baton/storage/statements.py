"""Pre-built SQLAlchemy Core statements: compiled once, then only re-bound."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from baton.storage.codec import UtcDateTime
from baton.storage.schema import accounts, contact_identities, contacts, conversations, events

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
        last_activity_at=_p("b_now", UtcDateTime()),
        owner=_p("b_owner", sa.String()),
        ended=_p("b_ended", sa.Boolean()),
        # a NULL ``b_snapshot`` keeps the stored one (it trails the log by a few events)
        snapshot=sa.func.coalesce(_p("b_snapshot", sa.Text()), _conv.snapshot),
        has_timers=_p("b_timers", sa.Boolean()),
    )
)
INSERT_EVENTS = events.insert()
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
LATEST = (
    sa.select(conversations)
    .where(_conv.account_id == _p("b_account"), _conv.contact_id == _p("b_contact"))
    .order_by(_conv.started_at.desc(), _conv.id.desc())
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
    .order_by(_conv.started_at.desc(), _conv.id.desc())
    .limit(1)
)
# The latest conversation of the contact a conversation belongs to.
_contact_of = sa.select(_conv.contact_id).where(*IN_CONVERSATION).scalar_subquery()
LATEST_OF_CONTACT = (
    sa.select(_conv.id)
    .where(_conv.account_id == _p("b_account"), _conv.contact_id == _contact_of)
    .order_by(_conv.started_at.desc(), _conv.id.desc())
    .limit(1)
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
IDENTITIES = (
    sa.select(_ident.channel, _ident.address)
    .where(_ident.contact_id == _p("b_id"), _ident.account_id == _p("b_account"))
    .order_by(_ident.channel, _ident.address)
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
