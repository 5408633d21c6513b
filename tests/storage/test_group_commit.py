"""Appends that share a transaction: one refused or failing leaves the others alone."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

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
    if not url.startswith("sqlite"):
        return  # PostgreSQL reads the row each time; nothing is cached to go stale
    async with SqlEventStore(url) as other:
        newer = await other.create_conversation(
            account, contact_id, "web", NOW + timedelta(seconds=1)
        )
        # Only a conversation with events supersedes (a first append is refused while
        # the contact has a live one, so this takes another writer: an older Baton).
        async with other.engine.begin() as conn:
            await conn.execute(
                sa.text("UPDATE conversations SET version = 1 WHERE id = :id"),
                {"id": newer.conversation_id},
            )
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


async def test_new_contacts_and_conversations_share_the_appends_commit(
    store: SqlEventStore, account: str, url: str
) -> None:
    if not url.startswith("sqlite"):
        return  # group commit is the SQLite writer's
    _, old = await _start(store, account, "known")
    # New contacts and conversations, and a duplicate provider message that fails, all
    # submitted in one loop iteration: one transaction, rerun with savepoints.
    results = await asyncio.gather(
        _turn(store, account, old, "dup"),
        _start(store, account, "new-1"),
        _start(store, account, "new-2"),
        _turn(store, account, old, "dup"),
        return_exceptions=True,
    )
    assert isinstance(results[3], Exception) or isinstance(results[0], Exception)
    new = [r for r in results[1:3] if isinstance(r, tuple)]
    assert len(new) == 2
    for contact_id, conversation_id in new:
        assert (await store.get_conversation(account, conversation_id)) is not None
        again = await store.contact_for_identity(
            account, "web", "new-1" if contact_id == new[0][0] else "new-2"
        )
        assert again.contact_id == contact_id
    async with SqlEventStore(url) as other:  # committed, as another process sees it
        for contact_id, conversation_id in new:
            record = await other.get_conversation(account, conversation_id)
            assert record is not None and record.contact_id == contact_id
        assert (await other.contact_for_identity(account, "web", "new-2")).contact_id in {
            c for c, _ in new
        }


async def test_a_failing_group_write_is_undone_and_the_appends_beside_it_commit(
    store: SqlEventStore, account: str, url: str
) -> None:
    if not url.startswith("sqlite"):
        return
    _, first = await _start(store, account, "w-1")
    _, second = await _start(store, account, "w-2")
    writer = store._writer
    assert writer is not None

    def half_then_fail(connection: sqlite3.Connection) -> None:
        connection.execute("UPDATE contacts SET language = 'xx' WHERE account_id = ?", (account,))
        raise sqlite3.IntegrityError("refused half-way")

    results = await asyncio.gather(
        _turn(store, account, first, "a"),
        writer.write(half_then_fail),
        _turn(store, account, second, "b"),
        return_exceptions=True,
    )
    assert [isinstance(r, Exception) for r in results] == [False, True, False]
    assert [len(await store.read_events(account, c)) for c in (first, second)] == [1, 1]
    async with SqlEventStore(url) as other:  # the failed write left nothing behind
        contact = await other.contact_for_identity(account, "web", "w-1")
        assert contact.language is None
