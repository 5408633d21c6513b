"""Two instances on one database must not split a contact's thread in two: a
conversation's first append is refused while another conversation of its contact,
opened meanwhile elsewhere, is live; the refused one, still empty, is dropped so it
does not stay the contact's "latest"."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from baton.domain import events as ev
from baton.domain.errors import ConcurrentWrite
from baton.domain.state import ConversationState
from baton.storage import SqlEventStore

NOW = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)


def _turn(text: str, message_id: str | None = None) -> list[ev.Event]:
    return [
        ev.ConversationStarted(channel="web"),
        ev.MessageReceived(text=text, channel="web", message_id=message_id),
        ev.MessageSent(text="Hello!", sender="bot", bot_id="front"),
    ]


async def _first_append(
    store: SqlEventStore, account: str, conversation_id: str, events: list[ev.Event]
) -> None:
    state = await store.load_state(account, conversation_id)
    state.apply_all(events)
    await store.append(account, conversation_id, 0, events, state, NOW)


async def test_the_instance_that_lost_the_race_leaves_no_empty_latest(
    url: str, account: str
) -> None:
    async with SqlEventStore(url) as one, SqlEventStore(url) as two:
        contact = await one.contact_for_identity(account, "web", "racer")
        assert (await two.contact_for_identity(account, "web", "racer")) == contact
        # both saw no conversation and opened one; the second started later
        first = await one.create_conversation(account, contact.contact_id, "web", NOW)
        second = await two.create_conversation(
            account, contact.contact_id, "web", NOW + timedelta(milliseconds=1)
        )
        await _first_append(one, account, first.conversation_id, _turn("hi", "m1"))
        with pytest.raises(ConcurrentWrite):  # the router retries the turn
            await _first_append(two, account, second.conversation_id, _turn("hi", "m2"))
        # the retry (and every later turn, in either instance) finds the live thread
        for store in (one, two):
            latest = await store.latest_conversation(account, contact.contact_id)
            assert latest is not None and latest.conversation_id == first.conversation_id
        assert await two.get_conversation(account, second.conversation_id) is None
        retried = await two.load_state(account, first.conversation_id)
        assert retried.version == 3
        follow_up = [ev.MessageReceived(text="and then", channel="web")]
        retried.apply_all(follow_up)
        await two.append(account, first.conversation_id, 3, follow_up, retried, NOW)
    async with SqlEventStore(url) as fresh:
        events = await fresh.read_events(account, first.conversation_id)
        assert [e.event.type for e in events] == [
            "conversation_started",
            "message_received",
            "message_sent",
            "message_received",
        ]


async def test_an_empty_conversation_left_as_latest_gives_way_to_the_live_one(
    store: SqlEventStore, url: str, account: str
) -> None:
    contact = await store.contact_for_identity(account, "web", "orphan")
    live = await store.create_conversation(account, contact.contact_id, "web", NOW)
    await _first_append(store, account, live.conversation_id, _turn("hi"))
    async with SqlEventStore(url) as crashed:  # opened one, died before its append
        orphan = await crashed.create_conversation(
            account, contact.contact_id, "web", NOW + timedelta(seconds=1)
        )
    async with SqlEventStore(url) as later:
        found = await later.latest_conversation(account, contact.contact_id)
        # the empty one, though started later, does not shadow the one with events
        assert found is not None and found.conversation_id == live.conversation_id
        with pytest.raises(ConcurrentWrite):  # a late first append still gives way
            await _first_append(later, account, orphan.conversation_id, _turn("again"))
        found = await later.latest_conversation(account, contact.contact_id)
        assert found is not None and found.conversation_id == live.conversation_id


async def test_a_new_conversation_after_an_ended_one_is_appended(
    store: SqlEventStore, account: str
) -> None:
    contact = await store.contact_for_identity(account, "web", "returning")
    old = await store.create_conversation(account, contact.contact_id, "web", NOW)
    events = [*_turn("hi"), ev.ConversationEnded(reason="idle", by="router")]
    await _first_append(store, account, old.conversation_id, events)
    new = await store.create_conversation(account, contact.contact_id, "web", NOW)
    await _first_append(store, account, new.conversation_id, _turn("back"))
    latest = await store.latest_conversation(account, contact.contact_id)
    assert latest is not None and (latest.conversation_id, latest.version) == (
        new.conversation_id,
        3,
    )
    # the contact's other conversations are not its business: another contact's is fine
    other = await store.contact_for_identity(account, "web", "someone-else")
    theirs = await store.create_conversation(account, other.contact_id, "web", NOW)
    await _first_append(store, account, theirs.conversation_id, _turn("hello"))


async def test_first_appends_of_one_contact_in_flight_at_once_keep_one_thread(
    url: str, account: str
) -> None:
    stores = [SqlEventStore(url, cache_states=False) for _ in range(4)]
    for store in stores:
        await store.open()
    try:
        contact = await stores[0].contact_for_identity(account, "web", "together")
        records = [
            await store.create_conversation(account, contact.contact_id, "web", NOW)
            for store in stores
        ]

        async def first(store: SqlEventStore, conversation_id: str, number: int) -> bool:
            state = ConversationState(channel="web")
            events = _turn(f"message {number}")
            state.apply_all(events)
            try:
                await store.append(account, conversation_id, 0, events, state, NOW)
            except ConcurrentWrite:
                return False
            return True

        outcomes = await asyncio.gather(
            *(
                first(store, record.conversation_id, number)
                for number, (store, record) in enumerate(zip(stores, records, strict=True))
            )
        )
        assert sum(outcomes) == 1
        winner = records[outcomes.index(True)].conversation_id
        latest = await stores[0].latest_conversation(account, contact.contact_id)
        assert latest is not None and latest.conversation_id == winner
    finally:
        for store in stores:
            await store.close()
