"""The outbox worker stops even when a wake-up and the stop land together."""

from __future__ import annotations

import asyncio

from baton.api import db
from baton.server.outbox import OutboxWorker
from baton.storage import SqlEventStore
from tests.storage.conftest import account, postgres_url, store, url

__all__ = ["account", "postgres_url", "store", "url"]


async def test_stop_right_after_a_wake_up_does_not_hang(store: SqlEventStore) -> None:
    """On Python 3.11, ``asyncio.wait_for`` swallows a cancel that arrives as the awaited
    event fires; a poll loop built on it kept running and ``stop`` waited for ever (a
    server shutdown hung when a reply was queued at that moment)."""
    for _ in range(50):
        worker = OutboxWorker(db.sql_engine(store), {}, poll_seconds=0.05)
        worker.start()
        while not worker.last_cycle:  # until the loop waits for a wake-up or its poll
            await asyncio.sleep(0.001)
        worker.notify()  # the wake-up fires ...
        # ... in the iteration that cancels (no grace: the loop is cancelled, not asked)
        stopping = asyncio.create_task(worker.stop(grace_seconds=0))
        done, _ = await asyncio.wait({stopping}, timeout=5)
        if not done:  # the loop swallowed the cancel: end it for good, then fail
            assert worker._task is not None
            worker._task.cancel()
            await asyncio.wait({stopping}, timeout=5)
        assert done, "stop() did not return: the outbox loop swallowed its cancellation"
        assert not worker.alive
