"""Several instances' outbox workers on one database: each queued reply reaches the
provider once (Meta's send APIs take no idempotency key, so a second send is a second
message on the user's phone), and a conversation's replies stay in order."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import sqlalchemy as sa

from baton.api import db
from baton.channels.meta import WhatsAppChannel
from baton.domain import events as ev
from baton.domain.records import Contact
from baton.domain.state import ConversationState
from baton.server.outbox import OutboxWorker
from baton.storage import SqlEventStore
from baton.storage.schema import outbox
from tests.server.standin import Provider, ServerThread, standin_app
from tests.storage.conftest import account, postgres_url, store, url

__all__ = ["account", "postgres_url", "store", "url"]

NOW = datetime(2030, 1, 1, tzinfo=UTC)


async def _queue(store: SqlEventStore, account: str, conversations: int, replies: int) -> None:
    for n in range(conversations):
        address = f"1555{n:04d}{account[-6:]}"
        contact = Contact(account, f"{account}-c{n}", identities={"whatsapp": address})
        await store.save_contact(contact)
        record = await store.create_conversation(account, contact.contact_id, "whatsapp", NOW)
        events: list[ev.Event] = [ev.ConversationStarted(channel="whatsapp")]
        events += [ev.MessageSent(f"reply {i}", "bot", "triage") for i in range(replies)]
        await store.append(
            account, record.conversation_id, 0, events, ConversationState(channel="whatsapp"), NOW
        )


async def test_two_workers_send_each_reply_once_and_in_order(
    store: SqlEventStore, account: str
) -> None:
    await store.add_account(account, "Outbox race")
    await _queue(store, account, conversations=6, replies=5)
    provider = Provider(delay=0.01)
    with ServerThread(standin_app(provider)) as stand_in:
        channel = WhatsAppChannel("secret", "verify", "token", stand_in.url, "v21.0", "me1")
        workers = [
            OutboxWorker(db.sql_engine(store), {"whatsapp": channel}, batch=7) for _ in range(3)
        ]
        try:
            for _ in range(40):  # cycles of all workers at once, until nothing is pending
                await asyncio.gather(*(worker.deliver_due() for worker in workers))
                async with store.engine.connect() as conn:
                    left = (
                        await conn.execute(
                            sa.select(sa.func.count())
                            .select_from(outbox)
                            .where(outbox.c.account_id == account, outbox.c.status == "pending")
                        )
                    ).scalar_one()
                if not left:
                    break
        finally:
            for worker in workers:
                await worker.stop()
    mine = [m for m in provider.received if m["to"].endswith(account[-6:])]
    keys = [m["key"] for m in mine]
    assert len(keys) == 30 and len(set(keys)) == 30, "a reply reached the provider twice"
    for n in range(6):
        texts = [m["text"] for m in mine if m["to"] == f"1555{n:04d}{account[-6:]}"]
        assert texts == [f"reply {i}" for i in range(5)]
