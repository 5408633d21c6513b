"""The outbox worker: delivers queued replies, in order per conversation, with retries.

Rows are queued by the store's append in the turn's transaction. A row stays
``pending`` until the provider accepted it and the outcome is recorded (as soon as
its send ends), so a crash between the send and that record re-sends it after a
restart with the same idempotency key (``<conversation>:<seq>``): delivery is at
least once. A graceful stop lets the sends in flight end and be recorded first.

A worker claims the rows it read before sending them: it moves their ``due`` a lease
ahead (``lease_seconds``, longer than any send), in a statement that only takes rows
still due, so no other worker reads them until the lease ends, even one that took the
outbox lock after this one's lock connection dropped (then both used to send the same
rows). A row claimed by a process that died is due again when its lease ends.
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
from baton.storage.cycles import Hold, exclusive_cycle
from baton.storage.schema import outbox

log = logging.getLogger(__name__)

#: the longest Retry-After honoured (seconds): a provider asking for more is retried then
MAX_RETRY_AFTER = 3600.0
#: how long one cycle starts new sends (seconds) before it lets the lock go
CYCLE_SECONDS = 10.0
#: the least a claim on rows lasts (seconds); at least 3 send timeouts
LEASE_SECONDS = 60.0

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
        cycle_seconds: float = CYCLE_SECONDS,
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
        self.cycle_seconds = cycle_seconds
        self.observe = observe
        self.record = record
        self.timeout_seconds = timeout_seconds
        #: how long a claimed row is not due for other readers (see the module's doc)
        self.lease_seconds = max(LEASE_SECONDS, 3 * timeout_seconds)
        self._client = httpx.AsyncClient(timeout=timeout_seconds)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        #: sends that ended and are not recorded (committed) yet, and their recording's lock
        self._finished: list[tuple[Mapping[str, Any], dict[str, Any]]] = []
        self._flushing = asyncio.Lock()
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

    async def stop(self, grace_seconds: float | None = None) -> None:
        """Stop the loop: start no new send, give those in flight ``grace_seconds`` (the
        send timeout by default) to end and be recorded, then abandon the rest (their
        rows stay pending, and are sent again after a restart)."""
        if self._task is not None:
            self._stopping = True
            self._wake.set()
            grace = self.timeout_seconds + 1 if grace_seconds is None else grace_seconds
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(grace):
                    await asyncio.shield(self._task)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._flush()  # outcomes that ended as the loop was cancelled
        await self._client.aclose()

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self.deliver_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox cycle failed; retrying at the next poll")
            self.last_cycle = time.monotonic()
            if self._stopping:
                return
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancel that
            # lands as the wake-up fires, the loop goes on, and stop() waits for ever
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_seconds):
                    await self._wake.wait()
            self._wake.clear()

    async def deliver_due(self) -> int:
        """Send every due row (conversations in parallel, each in order); return how many.

        Nothing when another process's worker is delivering for the database (see
        ``baton.storage.cycles``): it sends this instance's replies too.
        """
        async with exclusive_cycle(self.sql, "outbox") as mine:
            return await self._deliver_due(mine) if mine else 0

    async def _deliver_due(self, hold: Hold) -> int:
        """One cycle: keep sending while anything is due or in flight.

        Each conversation's due replies go out in order on their own task; while one
        waits on a slow provider, other conversations' replies (queued before or during
        it) are read and sent, so one slow send holds up only its own conversation. Each
        outcome is recorded as soon as its send ends (``_flush``), not at the cycle's end.
        After ``cycle_seconds`` no new send starts: the cycle ends once those in flight have,
        and lets the database lock go (the next poll takes it again). Before each read it
        checks that it still holds the lock (a PostgreSQL connection can drop, and its lock
        with it); once lost, no new send starts either. A read that fails is tried again at
        the next wake-up; a recording that fails is kept for the next one (its conversation
        is not read again meanwhile): neither cancels the sends in flight, which would send
        their replies again.
        """
        in_flight: dict[str, asyncio.Task[int]] = {}
        sent = 0
        ends = time.monotonic() + self.cycle_seconds
        try:
            while True:
                self._wake.clear()  # before reading: a row queued after the read wakes us
                starting = not self._stopping and time.monotonic() < ends
                if self._finished and not in_flight:  # a recording that failed before
                    try:
                        await self._flush()
                    except Exception:
                        log.exception("recording deliveries failed; trying again shortly")
                if starting and await hold.still_held():
                    # a conversation whose outcome is not recorded yet is not read again
                    busy = set(in_flight) | {row["conversation_id"] for row, _ in self._finished}
                    try:
                        due = await self._due(busy)
                    except Exception:
                        log.exception("reading the outbox failed; trying again shortly")
                        due = {}
                    for conversation, queue in due.items():
                        sending = self._send_in_order(queue, hold, ends)
                        in_flight[conversation] = asyncio.create_task(sending)
                if not in_flight:
                    return sent
                waking = asyncio.create_task(self._wake.wait())
                await asyncio.wait(
                    [*in_flight.values(), waking],
                    timeout=self.poll_seconds,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                waking.cancel()
                for conversation, task in list(in_flight.items()):
                    if task.done():
                        del in_flight[conversation]
                        sent += task.result()
        finally:
            for task in in_flight.values():
                task.cancel()  # the cycle was cancelled (a stop's grace ran out)

    async def _due(self, busy: set[str]) -> dict[str, list[Mapping[str, Any]]]:
        """The due rows by conversation, in order, leaving out conversations in flight and
        those whose earlier reply waits for a retry (a later one waits behind it)."""
        now = time.time()
        earlier = outbox.alias("earlier")
        waiting = (
            sa.select(earlier.c.id)
            .where(
                earlier.c.conversation_id == outbox.c.conversation_id,
                earlier.c.status == "pending",
                earlier.c.id < outbox.c.id,
                earlier.c.due > now,
            )
            .exists()
        )
        query = sa.select(outbox).where(outbox.c.status == "pending", outbox.c.due <= now, ~waiting)
        if busy:
            query = query.where(outbox.c.conversation_id.not_in(sorted(busy)))
        query = query.order_by(outbox.c.id).limit(self.batch)
        async with self.sql.connect() as conn:
            rows = [dict(r) for r in (await conn.execute(query)).mappings()]
        if not rows:
            return {}
        # a statement of its own (a SQLite read that then writes fails if a turn wrote
        # between the two): it takes only the rows still due, so it is the claim
        claim = now + self.lease_seconds
        taking = outbox.update().where(
            outbox.c.id.in_([row["id"] for row in rows]),
            outbox.c.status == "pending",
            outbox.c.due <= now,
        )
        async with self.sql.begin() as conn:
            result = await conn.execute(taking.values(due=claim).returning(outbox.c.id))
            claimed = {r[0] for r in result}
        queues: dict[str, list[Mapping[str, Any]]] = {}
        gaps: set[str] = set()
        release: list[Mapping[str, Any]] = []
        for row in rows:
            conversation = row["conversation_id"]
            row["due"] = claim
            if row["id"] not in claimed:  # another worker took it between the two statements
                gaps.add(conversation)
            elif conversation in gaps:  # claimed behind a row another worker sends: not now
                release.append(row)
            else:
                queues.setdefault(conversation, []).append(row)
        await self._release(release)
        return queues

    async def _release(self, rows: list[Mapping[str, Any]]) -> None:
        """Give up this worker's claim on rows it will not send now (they are due at once
        again), unless its lease ran out and another worker claimed them since."""
        if not rows:
            return
        releasing = outbox.update().where(
            outbox.c.id.in_([row["id"] for row in rows]),
            outbox.c.status == "pending",
            outbox.c.due.in_({row["due"] for row in rows}),  # the claim, still this worker's
        )
        try:
            async with self.sql.begin() as conn:
                await conn.execute(releasing.values(due=time.time()))
        except Exception:  # they are due again when the lease ends
            log.exception("releasing claimed outbox rows failed")

    async def _send_in_order(self, rows: list[Mapping[str, Any]], hold: Hold, ends: float) -> int:
        """Send a conversation's rows in order, recording each; stop at one that must wait
        for a retry (later replies wait behind it). Return how many were accepted.

        No new send starts once the worker is stopping, the cycle's time is up, or the
        lock was found lost (the cycle probes it every poll): another instance may hold
        it and send these very rows.
        """
        sent = 0
        for i, row in enumerate(rows):
            if self._stopping or not hold.taken or time.monotonic() >= ends:
                await self._release(rows[i:])
                break
            values = await self._send(row)
            self._finished.append((row, values))
            try:
                await self._flush()
            except Exception:  # the row stays pending: sent again later, at least once
                log.exception("recording the delivery of outbox row %s failed", row["id"])
                await self._release(rows[i + 1 :])
                break
            if values["status"] == "pending":
                await self._release(rows[i + 1 :])  # they wait behind it anyway
                break
            sent += values["status"] == "sent"
        return sent

    async def _flush(self) -> None:
        """Record every finished send not recorded yet, in one transaction: sends that end
        while one flush writes are written together by the next."""
        async with self._flushing:
            # they stay in ``_finished`` until committed: not recorded (a failed write), or
            # being written, their conversations are not read again; sends ending meanwhile
            # are appended after them, for the next flush
            done = list(self._finished)
            if not done:
                return
            recorded = []
            async with self.sql.begin() as conn:
                for row, values in done:
                    result = await conn.execute(
                        outbox.update()
                        .where(outbox.c.id == row["id"], outbox.c.status == "pending")
                        .values(**values)
                    )
                    if result.rowcount:  # else another worker recorded it (a lease ran out)
                        recorded.append((row, values))
            del self._finished[: len(done)]
        for row, values in recorded:
            if values["status"] == "pending":
                self._observe(row["channel"], "retry")
                continue
            self._observe(row["channel"], values["status"])
            if self.record is not None:
                provider_id = values.get("provider_id") or ""
                await self.record(
                    row, values["status"], provider_id, values.get("last_error") or ""
                )

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
                delay = self._delay(attempts, failure.retry_after)
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

    def _delay(self, attempts: int, retry_after: float | None) -> float:
        """Exponential backoff with jitter, never sooner than the provider's Retry-After
        (up to ``MAX_RETRY_AFTER``)."""
        delay: float = min(self.backoff_cap_seconds, self.backoff_seconds * 2.0 ** (attempts - 1))
        delay *= random.uniform(0.8, 1.2)
        if retry_after is not None:
            delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
        return delay

    def _observe(self, channel: str, outcome: str) -> None:
        if self.observe is not None:
            self.observe(channel, outcome)
