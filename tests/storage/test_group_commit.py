"""Appends that share a transaction: one refused or failing leaves the others alone."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from baton.domain import events as ev
from baton.domain.errors import ConcurrentWrite
from baton.storage import SqlEventStore

NOW = datetime(2025, 1, 1, tzinfo=UTC)


async def _start(store: SqlEventStore, account: str, address: str) -> tuple[str, str]:
    contact = await store.contact_for_identity(account, "web", address)
    record = await store.create_conversation(account, contact.contact_id, "web", NOW)
    return contact.contact_id, record.conversation_id


async def _turn(store: SqlEventStore, account: str, conversation_id: str, text: str) -> None:
    state = await store.load_state(account, conversation_id)
    events: list[ev.Event] = [ev.MessageReceived(text, "web", message_id=text)]
    expected = state.version
    state.apply_all(events)
    await store.append(account, conversation_id, expected, events, state, NOW)


async def test_a_failing_insert_in_a_group_leaves_the_others_committed(
    store: SqlEventStore, account: str
) -> None:
    ids = [(await _start(store, account, f"fail-{n}"))[1] for n in range(4)]
    await _turn(store, account, ids[0], "provider-1")
    # The same provider message id again: its receipt's unique key refuses the insert
    # after the conversation's row has moved, in a transaction shared with the others.
    results = await asyncio.gather(
        *(
            _turn(store, account, i, "provider-1" if n == 1 else f"m-{n}")
            for n, i in enumerate(ids)
        ),
        return_exceptions=True,
    )
    assert [isinstance(r, Exception) for r in results] == [False, True, False, False]
    counts = [len(await store.read_events(account, i)) for i in ids]
    assert counts == [2, 0, 1, 1]
    for conversation_id, count in zip(ids, counts, strict=True):
        assert (await store.load_state(account, conversation_id)).version == count


async def test_a_conversation_superseded_after_appends_is_still_caught(
    store: SqlEventStore, account: str, url: str
) -> None:
    contact_id, first = await _start(store, account, "superseded")
    _other_contact, bystander = await _start(store, account, "bystander")
    for n in range(3):  # the appends find it the contact's latest: the check is skipped
        await _turn(store, account, first, f"before-{n}")
    async with SqlEventStore(url) as other:
        await other.create_conversation(account, contact_id, "web", NOW + timedelta(seconds=1))
    if not url.startswith("sqlite"):
        return  # PostgreSQL reads the row each time; nothing is cached to go stale
    # A bystander's append sees the other process's commit first; the check must
    # still run for the superseded conversation afterwards.
    await _turn(store, account, bystander, "bystander")
    results = await asyncio.gather(
        _turn(store, account, first, "after"),
        _turn(store, account, bystander, "bystander-2"),
        return_exceptions=True,
    )
    assert isinstance(results[0], ConcurrentWrite)
    assert results[1] is None
    assert len(await store.read_events(account, first)) == 3
    assert len(await store.read_events(account, bystander)) == 2
