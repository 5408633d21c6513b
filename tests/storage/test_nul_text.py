"""PostgreSQL's text refuses the NUL character; a turn whose sender, message id or
text holds one must still be stored, on both backends, and found again the same way."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import IntegrityError

from baton.domain import events as ev
from baton.domain.records import Contact
from baton.storage import SqlEventStore

NOW = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)


async def _turn(store: SqlEventStore, account: str, conversation_id: str, message_id: str) -> None:
    state = await store.load_state(account, conversation_id)
    events: list[ev.Event] = [
        ev.MessageReceived(text="he\x00llo", channel="sms", message_id=message_id),
        ev.MessageSent(text="re\x00ply", sender="bot", bot_id="front"),
    ]
    expected = state.version
    state.apply_all(events)
    await store.append(account, conversation_id, expected, events, state, NOW)


async def test_a_nul_in_a_sender_or_message_id_is_stored_and_found_again(
    store: SqlEventStore, account: str
) -> None:
    contact = await store.contact_for_identity(account, "sms", "+34\x00600")
    assert (await store.contact_for_identity(account, "sms", "+34\x00600")) == contact
    assert await store.identity_owner(account, "sms", "+34\x00600") == contact.contact_id
    record = await store.create_conversation(account, contact.contact_id, "sms", NOW)
    await _turn(store, account, record.conversation_id, "id\x00one")
    recorded = await store.read_events(account, record.conversation_id)
    received = recorded[0].event
    assert isinstance(received, ev.MessageReceived)
    assert received.text == "he\x00llo"  # the log keeps the text as given (JSON)
    # a provider's retry of that message id is still refused, nothing of it kept
    with pytest.raises((IntegrityError, sqlite3.IntegrityError)):
        await _turn(store, account, record.conversation_id, "id\x00one")
    assert len(await store.read_events(account, record.conversation_id)) == 2


async def test_a_contact_saved_with_nul_in_its_fields_round_trips(
    store: SqlEventStore, account: str
) -> None:
    contact = Contact(
        account,
        "contact_nul",
        {"web": "session\x00x"},
        ("t\x00ag",),
        {"note": "a\x00b"},
        "e\x00s",
    )
    await store.save_contact(contact)
    found = await store.get_contact(account, "contact_nul")
    assert found is not None
    assert (found.tags, found.fields) == (("t\x00ag",), {"note": "a\x00b"})  # JSON columns
    owner = await store.identity_owner(account, "web", "session\x00x")
    assert owner == "contact_nul"
