"""Receipts and outbox rows written by the append, on SQLite and PostgreSQL, atomically."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from baton.domain import events as ev
from baton.domain.records import Contact
from baton.domain.state import ConversationState
from baton.storage import SqlEventStore
from baton.storage.schema import inbound_receipts, outbox
from tests.storage.conftest import account, postgres_url, store, url

__all__ = ["account", "postgres_url", "store", "url"]

NOW = datetime(2030, 1, 1, tzinfo=UTC)


async def test_reply_queued_and_retry_refused_in_the_turn_transaction(
    store: SqlEventStore, account: str
) -> None:
    await store.add_account(account, "Triggers")
    contact = Contact(account, f"{account}-c", identities={"sms": f"+1{account[-8:]}"})
    await store.save_contact(contact)
    record = await store.create_conversation(account, contact.contact_id, "sms", NOW)
    turn = [
        ev.ConversationStarted(channel="sms"),
        ev.MessageReceived("hi", "sms", f"SM-{account}"),
        ev.MessageSent("Hello!", "bot", "triage"),
    ]
    state = ConversationState(channel="sms")
    await store.append(account, record.conversation_id, 0, turn, state, NOW)
    async with store.engine.connect() as conn:
        rows = (await conn.execute(sa.select(outbox).where(outbox.c.account_id == account))).all()
        receipts = (
            await conn.execute(
                sa.select(inbound_receipts).where(inbound_receipts.c.account_id == account)
            )
        ).all()
    (row,) = rows
    assert (row.channel, row.address, row.seq, row.status) == (
        "sms",
        f"+1{account[-8:]}",
        3,
        "pending",
    )
    assert row.idempotency_key == f"{record.conversation_id}:3"
    assert [(r.channel, r.message_id, r.seq) for r in receipts] == [("sms", f"SM-{account}", 2)]
    # The provider retries: the whole append is refused and nothing of it is stored.
    retry = [ev.MessageReceived("hi", "sms", f"SM-{account}"), ev.MessageSent("x", "bot")]
    with pytest.raises((IntegrityError, sqlite3.IntegrityError)) as refused:
        await store.append(account, record.conversation_id, 3, retry, state, NOW)
    assert "unique" in str(refused.value).lower()
    assert len(await store.read_events(account, record.conversation_id)) == 3
    async with store.engine.connect() as conn:
        count = (
            await conn.execute(
                sa.select(sa.func.count()).select_from(outbox).where(outbox.c.account_id == account)
            )
        ).scalar_one()
    assert count == 1


async def test_web_and_rest_replies_are_not_queued(store: SqlEventStore, account: str) -> None:
    await store.add_account(account, "No outbox")
    contact = await store.contact_for_identity(account, "web", f"session-{account}")
    record = await store.create_conversation(account, contact.contact_id, "web", NOW)
    events = [ev.ConversationStarted(channel="web"), ev.MessageSent("Hello!", "bot", "triage")]
    await store.append(account, record.conversation_id, 0, events, ConversationState(), NOW)
    async with store.engine.connect() as conn:
        count = (
            await conn.execute(
                sa.select(sa.func.count()).select_from(outbox).where(outbox.c.account_id == account)
            )
        ).scalar_one()
    assert count == 0
