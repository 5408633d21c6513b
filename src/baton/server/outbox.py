"""The outbox worker: delivers queued replies, in order per conversation, with retries.

Rows are queued by the database itself (storage migration 0002) in the turn's
transaction. A row stays ``pending`` until the provider accepted it, so a crash
between the send and the status update re-sends it after a restart with the
same idempotency key (``<conversation>:<seq>``), which the provider uses to
drop the copy: delivery is at least once on the wire, exactly once in effect.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from baton.channels.base import Channel, DeliveryFailed, Outgoing
from baton.server.cycles import exclusive_cycle
from baton.storage.schema import outbox

log = logging.getLogger(__name__)

Observer = Callable[[str, str], None]
Recorder = Callable[[Mapping[str, Any], str, str, str], Awaitable[None]]


class OutboxWorker:
    """Polls the outbox (and wakes on ``notify``); one per process, one delivering per
    database at a time."""

    def __init__(
        self,
        sql: AsyncEngine,
        channels: Mapping[str, Channel],
        *,
        poll_seconds: float = 0.5,
        max_attempts: int = 8,
        backoff_seconds: float = 1.0,
        backoff_cap_seconds: float = 300.0,
        timeout_seconds: float = 10.0,
        batch: int = 200,
        observe: Observer | None = None,
        record: Recorder | None = None,
    ) -> None:
        self.sql = sql
        self.by_channel = {c.channel: c for c in channels.values()}
        self.poll_seconds = poll_seconds
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.backoff_cap_seconds = backoff_cap_seconds
        self.batch = batch
        self.observe = observe
        self.record = record
        self._client = httpx.AsyncClient(timeout=timeout_seconds)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.last_cycle = 0.0

    def notify(self) -> None:
        """Look at the outbox now rather than at the next poll."""
        self._wake.set()

    @property
    def alive(self) -> bool:
        """Whether the loop is running."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the loop on the running event loop."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="baton-outbox")

    async def stop(self) -> None:
        """Stop the loop (a send in flight is abandoned; its row stays pending)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._client.aclose()

    async def _run(self) -> None:
        while True:
            try:
                await self.deliver_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox cycle failed; retrying at the next poll")
            self.last_cycle = time.monotonic()
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancel that
            # lands as the wake-up fires, the loop goes on, and stop() waits for ever
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_seconds):
                    await self._wake.wait()
            self._wake.clear()

    async def deliver_due(self) -> int:
        """Send every due row (conversations in parallel, each in order); return how many.

        Nothing when another process's worker is delivering for the database (see
        ``baton.server.cycles``): it sends this instance's replies too.
        """
        async with exclusive_cycle(self.sql, "outbox") as mine:
            return await self._deliver_due() if mine else 0

    async def _deliver_due(self) -> int:
        now = time.time()
        query = (
            sa.select(outbox)
            .where(outbox.c.status == "pending")
            .order_by(outbox.c.id)
            .limit(self.batch)
        )
        async with self.sql.connect() as conn:
            rows: list[dict[str, Any]] = [dict(r) for r in (await conn.execute(query)).mappings()]
        queues: dict[str, list[Mapping[str, Any]]] = {}
        blocked: set[str] = set()
        for pending in rows:
            conversation = pending["conversation_id"]
            if conversation in blocked:
                continue
            if pending["due"] > now:
                blocked.add(conversation)  # a later reply waits for the earlier one
                continue
            queues.setdefault(conversation, []).append(pending)
        outcomes = await asyncio.gather(*(self._send_in_order(q) for q in queues.values()))
        done = [item for batch in outcomes for item in batch]
        if not done:
            return 0
        # One write transaction per cycle: the store's writer is not held up by the worker.
        async with self.sql.begin() as conn:
            for row, values in done:
                await conn.execute(
                    outbox.update()
                    .where(outbox.c.id == row["id"], outbox.c.status == "pending")
                    .values(**values)
                )
        for row, values in done:
            if values["status"] == "pending":
                self._observe(row["channel"], "retry")
                continue
            self._observe(row["channel"], values["status"])
            if self.record is not None:
                provider_id = values.get("provider_id") or ""
                await self.record(
                    row, values["status"], provider_id, values.get("last_error") or ""
                )
        return sum(1 for _row, values in done if values["status"] == "sent")

    async def _send_in_order(
        self, rows: list[Mapping[str, Any]]
    ) -> list[tuple[Mapping[str, Any], dict[str, Any]]]:
        done: list[tuple[Mapping[str, Any], dict[str, Any]]] = []
        for row in rows:
            values = await self._send(row)
            done.append((row, values))
            if values["status"] == "pending":
                break  # later replies of this conversation wait for this one
        return done

    async def _send(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """Try one row; return the column values that record the outcome."""
        channel = self.by_channel.get(row["channel"])
        text = str(json.loads(row["data"]).get("text", ""))
        message = Outgoing(row["address"], text, row["idempotency_key"])
        attempts = row["attempts"] + 1
        try:
            if channel is None:
                raise DeliveryFailed(f"channel {row['channel']!r} is not configured", retry=True)
            provider_id = await channel.send(self._client, message)
        except DeliveryFailed as failure:
            if failure.retry and attempts < self.max_attempts:
                delay = min(self.backoff_cap_seconds, self.backoff_seconds * 2 ** (attempts - 1))
                delay *= random.uniform(0.8, 1.2)
                log.info("delivery of %s failed (%s); retry in %.1fs", row["id"], failure, delay)
                return {
                    "status": "pending",
                    "attempts": attempts,
                    "due": time.time() + delay,
                    "last_error": failure.reason,
                }
            return {
                "status": "failed",
                "attempts": attempts,
                "last_error": failure.reason,
                "finished_at": datetime.now(UTC),
            }
        return {
            "status": "sent",
            "attempts": attempts,
            "provider_id": provider_id,
            "finished_at": datetime.now(UTC),
        }

    def _observe(self, channel: str, outcome: str) -> None:
        if self.observe is not None:
            self.observe(channel, outcome)
