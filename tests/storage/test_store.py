"""The event store, on a SQLite file and on PostgreSQL: the same tests for both."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from baton.domain import events as ev
from baton.domain.errors import ConcurrentWrite, StoreUnavailable, UnknownConversation
from baton.domain.records import Contact
from baton.domain.state import ConversationState, fold
from baton.storage import SqlEventStore, default_sqlite_url
from baton.storage.folding import StoredRow, states_of_rows
from baton.storage.store import SNAPSHOT_EVERY

NOW = datetime(2024, 5, 1, 9, 30, 15, 123456, tzinfo=UTC)

SAMPLES: list[ev.Event] = [
    ev.ConversationStarted(
        channel="web",
        statuses={"sales": "paused"},
        modes={"sales": "suggest"},
        contact_context={"crm.vip": True},
        previous_conversation="conv_old",
    ),
    ev.MessageReceived(text="Hi, ¿qué tal? 👋", channel="web", message_id="m1"),
    ev.MessageRejected(reason="too_long", detail="over 4096 characters", length=5000, preview="x"),
    ev.MessageSent(text="Hello!", sender="bot", bot_id="sales"),
    ev.MessageHeld(reason="bot_paused", bot_id="sales"),
    ev.SuggestionCreated(suggestion_id="s1", bot_id="sales", text="Try the basic plan"),
    ev.SuggestionResolved(suggestion_id="s1", outcome="edited", text="Try basic", by="ana"),
    ev.BotAssigned(bot_id="sales", mode="auto", by="workflow", reason="new lead", from_bot="desk"),
    ev.BotTransferred(
        from_bot="sales",
        to_bot="support",
        reason="collaboration",
        message="my order is late",
        intent="support.late_order",
        confidence=0.87,
        runner_up="sales.price",
        runner_up_confidence=0.31,
        context_keys=("sales.product", "sales.plan"),
        handoff_message="Passing you to support.",
    ),
    ev.TransferRefused(from_bot="support", to_bot="billing", reason="inactive", detail="paused"),
    ev.BotCalled(
        caller="support",
        callee="auth",
        inputs={"phone": "+34600"},
        caller_flow="late",
        caller_step=2,
    ),
    ev.BotReturned(from_bot="auth", to_bot="support", outputs={"verified": True, "tries": 1}),
    ev.CallAbandoned(caller="front", callee="billing", reason="escalated", owner="front"),
    ev.BotStatusChanged(bot_id="sales", status="paused", until="2024-05-02T00:00:00+00:00"),
    ev.ModeChanged(bot_id="sales", mode="suggest", by="ana"),
    ev.IntentRecognized(
        bot_id="support", intent=None, confidence=0.2, runner_up="x", runner_up_confidence=0.1
    ),
    ev.FallbackTriggered(bot_id="support", reason="no_match"),
    ev.FlowStarted(bot_id="support", flow="late_order", intent="support.late_order"),
    ev.QuestionAsked(bot_id="support", flow="late_order", step=1, slot="order_id", attempt=2),
    ev.AnswerRejected(bot_id="support", slot="order_id", reason="not a number", attempt=2),
    ev.FlowEnded(bot_id="support", flow="late_order", outcome="completed"),
    ev.SlotSet(bot_id="support", name="order_id", value=1234),
    ev.ContextSet(key="support.order", value=1.5, bot_id="support", scope="contact"),
    ev.ActionCompleted(
        bot_id="support", action="track", result={"eta": "tomorrow"}, elapsed_ms=12.5
    ),
    ev.ActionFailed(bot_id="support", action="track", error="timeout", kind="timeout"),
    ev.StepFailed(bot_id="billing", flow="pay", step=2, source="slots.x > 1", error="TypeError: x"),
    ev.BotActionFired(bot_id="support", action="refund", payload={"amount": 10, "note": None}),
    ev.Escalated(by="support", reason="angry", bot_id="support"),
    ev.HandedBack(to_bot="sales", by="ana"),
    ev.TagAdded(tag="vip", by="workflow:w"),
    ev.TagRemoved(tag="lead", by="operator"),
    ev.FieldUpdated(name="stage", value="middle", previous="top", by="form:f"),
    ev.LanguageDetected(language="es", confidence=0.97, previous="en"),
    ev.FormSubmitted(form="spring", fields={"email": "a@b.c", "age": 3}, by="api"),
    ev.AppointmentBooked(bot_id="closer", details={"day": "friday"}, by="bot:closer"),
    ev.HumanTookOver(agent="ana", bot_id="sales", until="2026-11-23T10:00:00+00:00"),
    ev.WorkflowTriggered(
        workflow="w",
        trigger="tag_added",
        at="2026-11-23T09:00:00+00:00",
        depth=1,
        conditions=("tag vip",),
        detail={"tag": "vip"},
    ),
    ev.WorkflowSkipped(workflow="w", trigger="tag_added", reason="conditions", failed=("x",)),
    ev.WorkflowBoundReached(workflow="w", trigger="t", bound="depth", limit=5, detail="deep"),
    ev.WorkflowActionRan(workflow="w", index=0, action="send", detail={"text": "hi"}),
    ev.WorkflowActionSkipped(workflow="w", index=1, action="assign", reason="human"),
    ev.WorkflowActionFailed(workflow="w", index=2, action="webhook", error="HTTP 500"),
    ev.WorkflowCompleted(workflow="w", outcome="failed", ran=2),
    ev.TimerScheduled(
        timer_id="t1", kind="wait", workflow="w", due_at="2026-11-23T10:00:00+00:00", resume_at=2
    ),
    ev.TimerFired(timer_id="t1", kind="wait", workflow="w"),
    ev.TimerCancelled(timer_id="t2", reason="contact_replied"),
    ev.MessageDelivered(seq=4, channel="web", provider_id="p-1", idempotency_key="k-1"),
    ev.DeliveryFailed(seq=4, channel="whatsapp", reason="HTTP 400", attempts=3),
    ev.ConversationEnded(reason="idle", by="router"),
]


def test_samples_cover_every_event_type() -> None:
    assert {type(e).type for e in SAMPLES} == set(ev.EVENT_TYPES)


async def _conversation(store: SqlEventStore, account: str, now: datetime = NOW) -> str:
    contact = await store.contact_for_identity(account, "web", "session-1")
    record = await store.create_conversation(account, contact.contact_id, "web", now)
    return record.conversation_id


async def _append(
    store: SqlEventStore,
    account: str,
    conversation_id: str,
    events: list[ev.Event],
    now: datetime = NOW,
) -> ConversationState:
    state = await store.load_state(account, conversation_id)
    expected = state.version
    state.apply_all(events)
    await store.append(account, conversation_id, expected, events, state, now)
    return state


# -- opening -------------------------------------------------------------------


async def test_open_is_idempotent(store: SqlEventStore, url: str) -> None:
    await store.open()
    again = SqlEventStore(url)
    await again.open()
    try:
        async with again.engine.connect() as conn:
            names = (await conn.execute(sa.text("SELECT id FROM accounts"))).scalars().all()
        assert "default" in names
    finally:
        await again.close()


async def test_sqlite_file_is_in_wal_mode_in_a_created_folder(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "baton.db"
    async with SqlEventStore(default_sqlite_url(path)):
        pass
    connection = sqlite3.connect(path)
    try:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        connection.close()


async def test_in_memory_sqlite_works() -> None:
    async with SqlEventStore("sqlite+aiosqlite://") as store:
        conversation_id = await _conversation(store, "default")
        await _append(store, "default", conversation_id, SAMPLES[:3])
        assert len(await store.read_events("default", conversation_id)) == 3


async def test_unreachable_postgres_is_store_unavailable() -> None:
    store = SqlEventStore("postgresql+asyncpg://postgres:secret@127.0.0.1:1/nowhere")
    with pytest.raises(StoreUnavailable, match="can't open the event store") as caught:
        await store.open()
    assert "secret" not in str(caught.value)


async def test_unwritable_sqlite_folder_is_store_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreUnavailable):
        await SqlEventStore(default_sqlite_url(blocker / "baton.db")).open()


# -- contacts ------------------------------------------------------------------


async def test_same_identity_gives_the_same_contact(store: SqlEventStore, account: str) -> None:
    first = await store.contact_for_identity(account, "whatsapp", "+34600111222")
    second = await store.contact_for_identity(account, "whatsapp", "+34600111222")
    elsewhere = await store.contact_for_identity(account + "x", "whatsapp", "+34600111222")
    other_channel = await store.contact_for_identity(account, "sms", "+34600111222")

    assert second == first
    assert first.identities == {"whatsapp": "+34600111222"}
    assert first.account_id == account
    assert elsewhere.contact_id != first.contact_id
    assert other_channel.contact_id != first.contact_id


async def test_save_contact_round_trips(store: SqlEventStore, account: str) -> None:
    contact = await store.contact_for_identity(account, "web", "s-1")
    changed = Contact(
        account_id=account,
        contact_id=contact.contact_id,
        identities={"web": "s-1", "sms": "+34600"},
        tags=("vip", "lead"),
        fields={"plan": "basic", "seats": 3, "score": 0.5, "active": True, "note": None},
        language="es",
    )
    await store.save_contact(changed)

    assert await store.get_contact(account, contact.contact_id) == changed
    assert await store.get_contact(account + "x", contact.contact_id) is None
    assert await store.contact_for_identity(account, "sms", "+34600") == changed


async def test_save_contact_inserts_a_new_contact(store: SqlEventStore, account: str) -> None:
    contact = Contact(account_id=account, contact_id="contact_new", identities={"web": "s-9"})
    await store.save_contact(contact)
    assert await store.get_contact(account, "contact_new") == contact
    assert (await store.contact_for_identity(account, "web", "s-9")).contact_id == "contact_new"


# -- conversations -------------------------------------------------------------


async def test_create_and_get_conversation(store: SqlEventStore, account: str) -> None:
    contact = await store.contact_for_identity(account, "web", "s-1")
    record = await store.create_conversation(account, contact.contact_id, "web", NOW)

    assert record.version == 0
    assert await store.get_conversation(account, record.conversation_id) == record
    assert await store.get_conversation(account + "x", record.conversation_id) is None
    state = await store.load_state(account, record.conversation_id)
    assert (state.version, state.channel) == (0, "web")


async def test_latest_conversation_breaks_ties_by_creation(
    store: SqlEventStore, account: str
) -> None:
    contact = await store.contact_for_identity(account, "web", "s-1")
    assert await store.latest_conversation(account, contact.contact_id) is None
    await store.create_conversation(account, contact.contact_id, "web", NOW)
    newer = await store.create_conversation(account, contact.contact_id, "web", NOW)

    assert await store.latest_conversation(account, contact.contact_id) == newer
    assert await store.latest_conversation(account + "x", contact.contact_id) is None


async def test_list_conversations_most_recent_first_in_pages(
    store: SqlEventStore, account: str
) -> None:
    contact = await store.contact_for_identity(account, "web", "s-1")
    ids = [
        (
            await store.create_conversation(
                account, contact.contact_id, "web", NOW + timedelta(minutes=i)
            )
        ).conversation_id
        for i in range(5)
    ]
    # The oldest becomes the most recently active.
    await _append(store, account, ids[0], SAMPLES[:1], NOW + timedelta(hours=1))
    expected = [ids[0], ids[4], ids[3], ids[2], ids[1]]

    listed = await store.list_conversations(account)
    assert [r.conversation_id for r in listed] == expected
    assert listed[0].last_activity_at == NOW + timedelta(hours=1)
    assert listed[0].version == 1
    page = await store.list_conversations(account, limit=2, offset=2)
    assert [r.conversation_id for r in page] == expected[2:4]
    assert await store.list_conversations(account + "x") == []


# -- the log -------------------------------------------------------------------


async def test_every_event_type_round_trips_in_order(store: SqlEventStore, account: str) -> None:
    conversation_id = await _conversation(store, account)
    state = await _append(store, account, conversation_id, SAMPLES)

    recorded = await store.read_events(account, conversation_id)
    assert [r.event for r in recorded] == SAMPLES
    assert [r.seq for r in recorded] == list(range(1, len(SAMPLES) + 1))
    assert all(r.at == NOW and r.at.tzinfo is not None for r in recorded)
    tail = await store.read_events(account, conversation_id, after=len(SAMPLES) - 2)
    assert [r.event for r in tail] == SAMPLES[-2:]

    record = await store.get_conversation(account, conversation_id)
    assert record is not None
    assert (record.version, record.owner, record.ended) == (len(SAMPLES), state.owner, True)


async def test_append_records_events_in_utc_and_advances_state(
    store: SqlEventStore, account: str
) -> None:
    conversation_id = await _conversation(store, account)
    state = await store.load_state(account, conversation_id)
    madrid = timezone(timedelta(hours=2))
    await store.append(account, conversation_id, 0, SAMPLES[:2], state, NOW.astimezone(madrid))

    assert state.version == 2
    stored = await store.read_events(account, conversation_id)
    assert [(r.seq, r.event) for r in stored] == [(1, SAMPLES[0]), (2, SAMPLES[1])]
    assert stored[0].at == NOW and stored[0].at.utcoffset() == timedelta(0)


async def test_load_state_returns_an_independent_copy(store: SqlEventStore, account: str) -> None:
    conversation_id = await _conversation(store, account)
    await _append(store, account, conversation_id, SAMPLES[:8])
    first = await store.load_state(account, conversation_id)
    first.owner = "changed"
    first.history.clear()

    second = await store.load_state(account, conversation_id)
    expected = fold(SAMPLES[:8])
    expected.version = 8
    assert second == expected
    assert second.owner == "sales"


async def test_load_state_folds_events_after_the_snapshot(
    store: SqlEventStore, account: str, url: str
) -> None:
    conversation_id = await _conversation(store, account)
    early = await _append(store, account, conversation_id, SAMPLES[:4])
    early_snapshot = ConversationState.from_dict(early.to_dict())
    await _append(store, account, conversation_id, SAMPLES[4:12])
    # Put an older snapshot back, as if later appends had skipped snapshotting.
    async with store.engine.begin() as conn:
        await conn.execute(
            sa.text("UPDATE conversations SET snapshot = :s WHERE id = :c"),
            {"s": _json(early_snapshot), "c": conversation_id},
        )

    fresh = SqlEventStore(url, cache_states=False)
    await fresh.open()
    try:
        loaded = await fresh.load_state(account, conversation_id)
    finally:
        await fresh.close()

    expected = fold(SAMPLES[:12])
    expected.version = 12
    assert loaded == expected


async def test_the_snapshot_trails_the_log_by_fewer_than_snapshot_every_events(
    store: SqlEventStore, account: str, url: str
) -> None:
    conversation_id = await _conversation(store, account)
    events = [e for e in SAMPLES if not isinstance(e, ev.ConversationEnded)]
    if len(events) % SNAPSHOT_EVERY == 0:  # end between two rewrites, whatever SAMPLES holds
        events = events[:-1]
    stored_versions = []
    for event in events:
        state = await _append(store, account, conversation_id, [event])
        async with store.engine.connect() as conn:
            text = (
                await conn.execute(
                    sa.text("SELECT snapshot FROM conversations WHERE id = :c"),
                    {"c": conversation_id},
                )
            ).scalar_one()
        stored_versions.append(json.loads(text)["version"])
        assert 0 <= state.version - stored_versions[-1] < SNAPSHOT_EVERY
    assert stored_versions[-1] < len(events)  # the last appends left the snapshot alone
    assert stored_versions[SNAPSHOT_EVERY - 1] == SNAPSHOT_EVERY  # ...and it was rewritten

    async with SqlEventStore(url, cache_states=False) as fresh:
        loaded = await fresh.load_state(account, conversation_id)
    expected = fold(events)
    expected.version = len(events)
    assert loaded == expected == await store.load_state(account, conversation_id)

    ended = await _append(store, account, conversation_id, [ev.ConversationEnded("idle", "router")])
    async with SqlEventStore(url, cache_states=False) as fresh:
        assert await fresh.load_state(account, conversation_id) == ended


def _json(state: ConversationState) -> str:
    return json.dumps(state.to_dict())


async def test_stale_expected_version_is_a_concurrent_write(
    store: SqlEventStore, account: str
) -> None:
    conversation_id = await _conversation(store, account)
    state = await store.load_state(account, conversation_id)
    await store.append(account, conversation_id, 0, SAMPLES[:2], state.copy(), NOW)

    with pytest.raises(ConcurrentWrite) as caught:
        await store.append(account, conversation_id, 0, SAMPLES[2:3], state.copy(), NOW)
    assert (caught.value.conversation_id, caught.value.expected) == (conversation_id, 0)
    assert len(await store.read_events(account, conversation_id)) == 2
    assert (await store.load_state(account, conversation_id)).version == 2


async def test_another_writer_is_caught_and_the_retry_sees_its_events(
    store: SqlEventStore, account: str, url: str
) -> None:
    conversation_id = await _conversation(store, account)
    await _append(store, account, conversation_id, SAMPLES[:2])
    other = SqlEventStore(url)
    await other.open()
    try:
        await _append(other, account, conversation_id, SAMPLES[2:4])
    finally:
        await other.close()

    stale = await store.load_state(account, conversation_id)  # from this process's cache
    with pytest.raises(ConcurrentWrite):
        await store.append(account, conversation_id, stale.version, SAMPLES[4:5], stale, NOW)
    retried = await _append(store, account, conversation_id, SAMPLES[4:5])
    assert retried.version == 5
    assert [r.seq for r in await store.read_events(account, conversation_id)] == [1, 2, 3, 4, 5]


async def test_accounts_are_isolated(store: SqlEventStore, account: str) -> None:
    conversation_id = await _conversation(store, account)
    await _append(store, account, conversation_id, SAMPLES[:3])
    intruder = account + "x"

    with pytest.raises(UnknownConversation):
        await store.load_state(intruder, conversation_id)
    with pytest.raises(UnknownConversation):
        await store.append(intruder, conversation_id, 3, SAMPLES[3:4], ConversationState(), NOW)
    assert await store.read_events(intruder, conversation_id) == []
    assert await store.get_conversation(intruder, conversation_id) is None
    assert len(await store.read_events(account, conversation_id)) == 3


async def test_unknown_conversation(store: SqlEventStore, account: str) -> None:
    with pytest.raises(UnknownConversation) as caught:
        await store.load_state(account, "conv_missing")
    assert caught.value.conversation_id == "conv_missing"
    with pytest.raises(UnknownConversation):
        await store.append(account, "conv_missing", 0, SAMPLES[:1], ConversationState(), NOW)


async def test_uncached_store_behaves_the_same(url: str, account: str) -> None:
    async with SqlEventStore(url, cache_states=False) as store:
        conversation_id = await _conversation(store, account)
        state = await _append(store, account, conversation_id, SAMPLES[:10])
        loaded = await store.load_state(account, conversation_id)
        assert loaded == state
        with pytest.raises(ConcurrentWrite):
            await store.append(account, conversation_id, 3, SAMPLES[:1], loaded, NOW)


# -- the turn path: cached rows, group commit -----------------------------------


async def test_latest_conversation_follows_appends(store: SqlEventStore, account: str) -> None:
    contact = await store.contact_for_identity(account, "web", "follow")
    record = await store.create_conversation(account, contact.contact_id, "web", NOW)
    assert await store.latest_conversation(account, contact.contact_id) == record
    later = NOW + timedelta(minutes=5)
    ended = [*SAMPLES[:2], ev.ConversationEnded(reason="idle", by="router")]
    await _append(store, account, record.conversation_id, ended, later)

    seen = await store.latest_conversation(account, contact.contact_id)
    async with SqlEventStore(store._url_text) as fresh:  # reads the rows, not a cache
        assert seen == await fresh.latest_conversation(account, contact.contact_id)
    assert seen is not None
    assert (seen.version, seen.last_activity_at, seen.ended) == (3, later, True)


async def test_a_conversation_another_process_started_is_caught(
    store: SqlEventStore, account: str, url: str
) -> None:
    contact = await store.contact_for_identity(account, "web", "moved-on")
    first = await store.create_conversation(account, contact.contact_id, "web", NOW)
    assert await store.latest_conversation(account, contact.contact_id) == first
    async with SqlEventStore(url) as other:
        second = await other.create_conversation(
            account, contact.contact_id, "web", NOW + timedelta(seconds=1)
        )
        await _append(other, account, second.conversation_id, SAMPLES[:1])
    with pytest.raises(ConcurrentWrite):
        await _append(store, account, first.conversation_id, SAMPLES[:1])
    latest = await store.latest_conversation(account, contact.contact_id)
    assert latest is not None
    assert latest.conversation_id == second.conversation_id
    # the first, still empty, gave way: the retry goes on in the second
    assert await store.get_conversation(account, first.conversation_id) is None
    await _append(store, account, second.conversation_id, SAMPLES[1:2])


async def test_a_conversation_another_process_only_created_supersedes_nothing(
    store: SqlEventStore, account: str, url: str
) -> None:
    contact = await store.contact_for_identity(account, "web", "created-elsewhere")
    first = await store.create_conversation(account, contact.contact_id, "web", NOW)
    await _append(store, account, first.conversation_id, SAMPLES[:1])
    async with SqlEventStore(url) as other:  # it created one and has not appended yet
        await other.create_conversation(
            account, contact.contact_id, "web", NOW + timedelta(seconds=1)
        )
    await _append(store, account, first.conversation_id, SAMPLES[1:2])  # not refused


async def test_a_contact_created_just_now_is_known_to_have_no_conversation(
    store: SqlEventStore, account: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = store._writer
    reads: list[object] = []
    if writer is not None:
        run = writer.run

        async def counted(job: Callable[[sqlite3.Connection], Any]) -> Any:
            reads.append(job)
            return await run(job)

        monkeypatch.setattr(writer, "run", counted)
    contact = await store.contact_for_identity(account, "web", "brand-new")
    assert await store.latest_conversation(account, contact.contact_id) is None
    assert reads == []  # answered without a read
    record = await store.create_conversation(account, contact.contact_id, "web", NOW)
    assert await store.latest_conversation(account, contact.contact_id) == record


async def test_a_new_contacts_conversation_started_elsewhere_is_read(
    store: SqlEventStore, account: str, url: str
) -> None:
    contact = await store.contact_for_identity(account, "web", "started-elsewhere")
    async with SqlEventStore(url) as other:  # the caller yields to the event loop
        theirs = await other.create_conversation(account, contact.contact_id, "web", NOW)
    assert await store.latest_conversation(account, contact.contact_id) == theirs


async def test_contacts_saved_elsewhere_are_seen_after_the_next_append(
    store: SqlEventStore, account: str, url: str
) -> None:
    contact = await store.contact_for_identity(account, "web", "tagged")
    conversation_id = (
        await store.create_conversation(account, contact.contact_id, "web", NOW)
    ).conversation_id
    await store.save_contact(Contact(account, contact.contact_id, {"web": "tagged"}, ("a",)))
    assert (await store.contact_for_identity(account, "web", "tagged")).tags == ("a",)
    async with SqlEventStore(url) as other:
        await other.save_contact(Contact(account, contact.contact_id, {"web": "tagged"}, ("b",)))
    await _append(store, account, conversation_id, SAMPLES[:1])
    assert (await store.contact_for_identity(account, "web", "tagged")).tags == ("b",)


async def test_concurrent_appends_commit_alone_or_together(
    store: SqlEventStore, account: str
) -> None:
    ids = []
    for n in range(6):
        contact = await store.contact_for_identity(account, "web", f"group-{n}")
        record = await store.create_conversation(account, contact.contact_id, "web", NOW)
        ids.append(record.conversation_id)
    states = [await store.load_state(account, i) for i in ids]
    for state in states:
        state.apply_all(SAMPLES[2:4])
    expected = [0, 0, 5, 0, 0, 0]  # the third is stale: only it is refused
    results = await asyncio.gather(
        *(
            store.append(account, i, e, SAMPLES[2:4], s, NOW)
            for i, e, s in zip(ids, expected, states, strict=True)
        ),
        return_exceptions=True,
    )
    assert isinstance(results[2], ConcurrentWrite)
    for n, conversation_id in enumerate(ids):
        events = await store.read_events(account, conversation_id)
        assert len(events) == (0 if n == 2 else 2)
        assert (await store.load_state(account, conversation_id)).version == len(events)


async def test_a_file_locked_by_another_process_does_not_block_the_event_loop(
    tmp_path: Path, account: str
) -> None:
    url = default_sqlite_url(tmp_path / "locked.db")
    async with SqlEventStore(url) as store:
        conversation_id = await _conversation(store, account)
        other = sqlite3.connect(tmp_path / "locked.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        appending = asyncio.create_task(_append(store, account, conversation_id, SAMPLES[:3]))
        await asyncio.sleep(0.3)
        assert not appending.done()  # waiting for the lock, on the writer thread...
        assert ticks >= 10  # ...while the loop goes on
        other.execute("COMMIT")
        other.close()
        state = await asyncio.wait_for(appending, 5)
        ticker.cancel()
        assert state.version == 3
        assert len(await store.read_events(account, conversation_id)) == 3
        # the next turns run in place again
        await _append(store, account, conversation_id, SAMPLES[3:4])
        assert (await store.load_state(account, conversation_id)).version == 4


async def test_rows_fold_to_the_states_load_state_gives(store: SqlEventStore, account: str) -> None:
    """A page of rows is folded with one query for all the trailing events."""
    events = [  # (a provider message id may be stored once per account)
        e
        for e in SAMPLES
        if not isinstance(e, ev.ConversationEnded) and not getattr(e, "message_id", None)
    ]
    ids = []
    for number in range(3):  # a contact each: a contact has one live conversation
        contact = await store.contact_for_identity(account, "web", f"fold-{number}")
        record = await store.create_conversation(account, contact.contact_id, "web", NOW)
        ids.append(record.conversation_id)
    for count, conversation_id in zip((0, 3, len(events)), ids, strict=True):
        for event in events[:count]:
            await _append(store, account, conversation_id, [event])
    c = sa.table("conversations", sa.column("id"), sa.column("version"), sa.column("snapshot"))
    async with store.engine.connect() as conn:
        found = (await conn.execute(sa.select(c.c.id, c.c.version, c.c.snapshot))).all()
        rows = [StoredRow(i, v, s) for i, v, s in found if i in ids]
        assert any(json.loads(r.snapshot)["version"] < r.version for r in rows)  # tails
        states = await states_of_rows(conn, account, rows)
    for row, state in zip(rows, states, strict=True):
        assert state == await store.load_state(account, row.conversation_id)


async def test_only_a_message_moves_the_last_activity(store: SqlEventStore, account: str) -> None:
    """A timer that fired to no effect, a tag or a status change is no activity: it would
    keep an idle conversation open (the idle timeout counts from the last activity)."""
    contact = await store.contact_for_identity(account, "web", "quiet")
    record = await store.create_conversation(account, contact.contact_id, "web", NOW)
    spoken = NOW + timedelta(minutes=1)
    said = ev.MessageReceived(text="hi", channel="web")
    await _append(store, account, record.conversation_id, [said], spoken)
    quiet = [ev.TimerFired("t1", "no_reply", "nudge"), ev.TagAdded("vip", by="workflow")]
    await _append(store, account, record.conversation_id, quiet, NOW + timedelta(hours=2))

    cached = await store.latest_conversation(account, contact.contact_id)
    async with SqlEventStore(store._url_text) as fresh:  # reads the rows, not a cache
        stored = await fresh.get_conversation(account, record.conversation_id)
    assert cached is not None and stored is not None
    assert (cached.version, cached.last_activity_at) == (3, spoken)
    assert (stored.version, stored.last_activity_at) == (3, spoken)
    answered = NOW + timedelta(hours=3)
    sent = ev.MessageSent(text="still there?", sender="bot", bot_id="sales")
    await _append(store, account, record.conversation_id, [sent], answered)
    again = await store.get_conversation(account, record.conversation_id)
    assert again is not None and again.last_activity_at == answered
