"""The outbox worker is fair across conversations and keeps what it sent: replies behind
a retry don't hold up other conversations, a slow send holds up only its own, a
Retry-After is honoured, and a graceful stop records the sends in flight."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from baton.api import db
from baton.channels.meta import WhatsAppChannel
from baton.domain import events as ev
from baton.domain.records import Contact
from baton.domain.state import ConversationState
from baton.server.outbox import OutboxWorker
from baton.storage import SqlEventStore
from baton.storage.cycles import Hold
from baton.storage.schema import outbox
from tests.server.standin import Provider, ServerThread, standin_app
from tests.server.test_outbox_instances import _queue
from tests.storage.conftest import account, postgres_url, store, url

__all__ = ["account", "postgres_url", "store", "url"]


def _address(account: str, n: int) -> str:
    return f"1555{n:04d}{account[-6:]}"


@contextlib.contextmanager
def _worker(
    store: SqlEventStore,
    provider: Provider,
    kind: type[OutboxWorker] = OutboxWorker,
    **options: Any,
) -> Iterator[OutboxWorker]:
    """A worker delivering WhatsApp replies to a stand-in provider on loopback."""
    with ServerThread(standin_app(provider)) as stand_in:
        channel = WhatsAppChannel("secret", "verify", "token", stand_in.url, "v21.0", "me1")
        yield kind(db.sql_engine(store), {"whatsapp": channel}, **options)


async def _statuses(store: SqlEventStore, account: str) -> dict[str, list[str]]:
    async with store.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(outbox.c.address, outbox.c.status)
            .where(outbox.c.account_id == account)
            .order_by(outbox.c.id)
        )
        found: dict[str, list[str]] = {}
        for address, status in rows:
            found.setdefault(address, []).append(status)
        return found


async def test_replies_behind_a_retry_do_not_hold_up_other_conversations(
    store: SqlEventStore, account: str
) -> None:
    """More rows waiting for a retry than one read takes: the due ones are still read."""
    await store.add_account(account, "Fair outbox")
    await _queue(store, account, conversations=4, replies=1)
    first_three = sa.select(outbox.c.id).where(outbox.c.account_id == account).order_by(outbox.c.id)
    async with store.engine.begin() as conn:
        ids = [row.id for row in await conn.execute(first_three)][:3]
        await conn.execute(
            outbox.update().where(outbox.c.id.in_(ids)).values(due=time.time() + 600, attempts=1)
        )
    provider = Provider()
    with _worker(store, provider, batch=2) as worker:
        try:
            assert await worker.deliver_due() == 1
        finally:
            await worker.stop()
    assert provider.texts() == ["reply 0"]
    assert (await _statuses(store, account))[_address(account, 3)] == ["sent"]


async def test_a_slow_send_holds_up_only_its_own_conversation(
    store: SqlEventStore, account: str
) -> None:
    await store.add_account(account, "Slow provider")
    await _queue(store, account, conversations=1, replies=2)
    slow = _address(account, 0)
    provider = Provider(slow={slow: 3.0})
    with _worker(store, provider, poll_seconds=0.05) as worker:
        worker.start()
        try:
            await asyncio.sleep(0.5)  # the slow conversation's first send is in flight
            assert provider.texts(slow) == []
            started = time.monotonic()
            await _queue_one(store, account, 1)
            worker.notify()
            while not provider.texts(_address(account, 1)):
                assert time.monotonic() - started < 2.0, "waited for the slow conversation"
                await asyncio.sleep(0.02)
            assert provider.texts(slow) == []
            while len(provider.texts(slow)) < 2:
                assert time.monotonic() - started < 15.0
                await asyncio.sleep(0.05)
        finally:
            await worker.stop()
    assert provider.texts(slow) == ["reply 0", "reply 1"]


async def _queue_one(store: SqlEventStore, account: str, n: int) -> None:
    """One more conversation with one reply, number ``n`` (as ``_queue`` numbers them)."""
    now = datetime(2030, 1, 1, tzinfo=UTC)
    contact = Contact(account, f"{account}-c{n}", identities={"whatsapp": _address(account, n)})
    await store.save_contact(contact)
    record = await store.create_conversation(account, contact.contact_id, "whatsapp", now)
    events: list[ev.Event] = [ev.ConversationStarted(channel="whatsapp")]
    events.append(ev.MessageSent("reply 0", "bot", "triage"))
    state = ConversationState(channel="whatsapp")
    await store.append(account, record.conversation_id, 0, events, state, now)


async def test_a_retry_after_is_honoured(store: SqlEventStore, account: str) -> None:
    await store.add_account(account, "Throttled")
    await _queue(store, account, conversations=1, replies=1)
    provider = Provider(throttle_next=1, retry_after=30)
    with _worker(store, provider, backoff_seconds=1) as worker:
        try:
            before = time.time()
            assert await worker.deliver_due() == 0
        finally:
            await worker.stop()
    async with store.engine.connect() as conn:
        due = (
            await conn.execute(sa.select(outbox.c.due).where(outbox.c.account_id == account))
        ).scalar_one()
    assert due >= before + 29


async def test_a_graceful_stop_records_the_send_in_flight(
    store: SqlEventStore, account: str
) -> None:
    """A redeploy (SIGTERM) used to cancel a send the provider then accepted, its row
    still pending: the restarted worker sent it again."""
    await store.add_account(account, "Graceful")
    await _queue(store, account, conversations=1, replies=1)
    provider = Provider(delay=1.0)
    with _worker(store, provider, poll_seconds=0.05) as worker:
        worker.start()
        await asyncio.sleep(0.3)  # in flight
        await worker.stop()
    assert provider.texts() == ["reply 0"]
    assert (await _statuses(store, account))[_address(account, 0)] == ["sent"]


async def test_a_graceful_stop_starts_no_new_send(store: SqlEventStore, account: str) -> None:
    """A conversation with replies still queued kept sending them through the whole grace,
    and the one cut off by its end was sent again after the restart."""
    await store.add_account(account, "No new sends")
    await _queue(store, account, conversations=1, replies=5)
    provider = Provider(delay=0.5)
    with _worker(store, provider, poll_seconds=0.05) as worker:
        worker.start()
        await asyncio.sleep(0.2)  # the first reply is in flight
        await worker.stop()
    mine = [m for m in provider.received if m["to"] == _address(account, 0)]
    assert len(mine) == 1
    assert (await _statuses(store, account))[_address(account, 0)] == ["sent", *["pending"] * 4]
    async with store.engine.begin() as conn:  # the PostgreSQL database is the session's
        await conn.execute(outbox.delete().where(outbox.c.account_id == account))


class _FailingRead(OutboxWorker):
    """A worker whose second read of the outbox fails (a locked SQLite file, a dropped
    PostgreSQL connection)."""

    reads = 0

    async def _due(self, busy: set[str]) -> dict[str, list[Mapping[str, Any]]]:
        self.reads += 1
        if self.reads == 2:
            raise sa.exc.OperationalError("SELECT", {}, Exception("database is locked"))
        return await super()._due(busy)


async def test_a_failed_read_does_not_cancel_the_sends_in_flight(
    store: SqlEventStore, account: str
) -> None:
    await store.add_account(account, "Failed read")
    await _queue(store, account, conversations=1, replies=1)
    provider = Provider(delay=0.5)
    with _worker(store, provider, _FailingRead, poll_seconds=0.05) as worker:
        try:
            assert await worker.deliver_due() >= 1  # (other tests' rows on a shared database)
        finally:
            await worker.stop()
    assert worker.reads >= 2
    assert [m["to"] for m in provider.received].count(_address(account, 0)) == 1
    assert (await _statuses(store, account))[_address(account, 0)] == ["sent"]


async def test_a_cycle_lets_the_lock_go_under_steady_traffic(
    store: SqlEventStore, account: str
) -> None:
    await store.add_account(account, "Steady")
    provider = Provider(delay=0.05)
    with _worker(store, provider, poll_seconds=0.02, cycle_seconds=0.5) as worker:

        async def traffic() -> None:
            for n in range(100):
                await _queue_one(store, account, n)
                worker.notify()
                await asyncio.sleep(0.02)

        feeding = asyncio.create_task(traffic())
        try:
            started = time.monotonic()
            await worker.deliver_due()
            assert time.monotonic() - started < 2.0  # the bound, plus the sends in flight
        finally:
            feeding.cancel()
            await worker.stop()


async def test_no_send_starts_once_the_lock_is_lost(store: SqlEventStore, account: str) -> None:
    """A cycle whose lock's connection dropped went on sending the rows it had read, which
    the instance that took the lock over read and sent too."""
    await store.add_account(account, "Lost lock")
    await _queue(store, account, conversations=1, replies=3)
    provider = Provider(delay=0.3)
    with _worker(store, provider) as worker:
        try:
            [queue] = (await worker._due(set())).values()
            hold = Hold(True)
            sending = asyncio.create_task(worker._send_in_order(queue, hold, time.monotonic() + 60))
            await asyncio.sleep(0.1)  # the first reply is in flight when the lock goes
            hold.taken = False
            assert await sending == 1
        finally:
            await worker.stop()
    assert [m["text"] for m in provider.received if m["to"] == _address(account, 0)] == ["reply 0"]


class _Flaky:
    """The worker's SQL engine, whose second write transaction fails (a dropped
    connection): everything else is the real engine's."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self.begins = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    def begin(self) -> Any:
        self.begins += 1
        if self.begins == 2:
            raise sa.exc.OperationalError("BEGIN", {}, Exception("connection lost"))
        return self._engine.begin()


async def test_a_failed_recording_is_kept_and_replies_stay_in_order(
    store: SqlEventStore, account: str
) -> None:
    """A failed flush dropped other conversations' outcomes: their next reply went out,
    and the unrecorded one was sent again after it."""
    await store.add_account(account, "Flaky recording")
    await _queue(store, account, conversations=3, replies=2)
    provider = Provider(delay=0.05)
    with _worker(store, provider, poll_seconds=0.05) as worker:
        worker.sql = _Flaky(worker.sql)
        worker.start()
        try:
            for _ in range(200):
                statuses = await _statuses(store, account)
                if all(s == ["sent", "sent"] for s in statuses.values()):
                    break
                await asyncio.sleep(0.05)
        finally:
            await worker.stop()
    for n in range(3):
        texts = [m["text"] for m in provider.received if m["to"] == _address(account, n)]
        assert texts == ["reply 0", "reply 1"], (n, texts)


async def test_a_worker_that_took_the_lock_over_leaves_claimed_rows_alone(
    store: SqlEventStore, account: str
) -> None:
    """The lock's connection dropped while a worker sent the rows it had read; the
    instance that took the lock over read the same rows, still pending, and sent them
    again (25 of 560 replies twice in a QA run), each recorded twice."""
    await store.add_account(account, "Claimed rows")
    await _queue(store, account, conversations=2, replies=2)
    provider = Provider(delay=0.3)
    recorded: list[int] = []

    async def record(row: Mapping[str, Any], status: str, provider_id: str, error: str) -> None:
        recorded.append(row["id"])

    with _worker(store, provider, record=record) as first, _worker(store, provider) as second:
        try:
            queues = await first._due(set())
            assert len(queues) == 2
            sending = [
                asyncio.create_task(first._send_in_order(q, Hold(True), time.monotonic() + 60))
                for q in queues.values()
            ]
            await asyncio.sleep(0.1)
            assert await second._due(set()) == {}  # claimed: not due for anyone else
            assert sum(await asyncio.gather(*sending)) == 4
            assert await second._due(set()) == {}  # and sent
        finally:
            await first.stop()
            await second.stop()
    assert sorted(provider.texts()) == ["reply 0", "reply 0", "reply 1", "reply 1"]
    assert len(recorded) == len(set(recorded)) == 4


async def test_rows_a_worker_will_not_send_now_are_released(
    store: SqlEventStore, account: str
) -> None:
    """Rows read in a cycle that ends (or loses its lock) before sending them are due at
    once again, not after the claim's lease."""
    await store.add_account(account, "Released rows")
    await _queue(store, account, conversations=1, replies=3)
    provider = Provider()
    with _worker(store, provider) as worker, _worker(store, provider) as other:
        try:
            [queue] = (await worker._due(set())).values()
            assert await worker._send_in_order(queue, Hold(False), time.monotonic() + 60) == 0
            [again] = (await other._due(set())).values()
            assert [row["id"] for row in again] == [row["id"] for row in queue]
        finally:
            await worker.stop()
            await other.stop()
