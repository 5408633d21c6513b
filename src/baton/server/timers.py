"""Workflow timers (waits, no-reply watches) while the server runs: a schedule in memory.

Timers live in each conversation's log. Reading every open conversation to find
the due ones, every few seconds, costs event-loop time in proportion to all the
conversations ever opened (0.2 to 2 s per pass at 10,000 of them): turns wait
behind it, and it grows without bound. Instead:

- a timer scheduled by a turn of this process is noted from the turn's events;
- at start, and every ``rescan_seconds`` after, the open conversations flagged
  ``has_timers`` (written by every append) are read once, a slice at a time with
  the loop free in between, for timers set before a restart or by another
  process (the CLI, a second server);
- every ``tick_seconds`` the due entries are fired, by one instance at a time
  (``baton.storage.cycles``). ``Router.fire_timer`` checks the timer is still
  pending and due, so an entry that went stale (fired elsewhere, cancelled, or
  moved) costs one read and fires nothing.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from baton.domain import events as ev
from baton.domain.errors import UnknownConversation
from baton.router.messages import TurnResult
from baton.runtime.engine import Engine
from baton.storage.cycles import exclusive_cycle
from baton.storage.schema import conversations

log = logging.getLogger(__name__)

_Key = tuple[str, str, str, str]  # account, conversation, timer, due_at
AfterFired = Callable[[TurnResult, str, str], Awaitable[None]]


def _due(due_at: str) -> datetime:
    """The moment a timer is due; an unreadable one is due at once (as the router does)."""
    try:
        moment = datetime.fromisoformat(due_at)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class TimerSchedule:
    """Pending timers, earliest first, and the loop that fires them."""

    def __init__(
        self,
        engine: Engine,
        sql: AsyncEngine,
        *,
        tick_seconds: float = 1.0,
        rescan_seconds: float = 60.0,
        slice_size: int = 50,
    ) -> None:
        self.engine = engine
        self.sql = sql
        self.tick_seconds = tick_seconds
        self.rescan_seconds = rescan_seconds
        self.slice_size = slice_size
        self._heap: list[tuple[datetime, _Key]] = []
        self._queued: set[_Key] = set()
        #: what follows a fired turn (the server's ``after_turn``: the
        #: outbox's wake-up, metrics), given the turn, its channel and its account
        self.after_fired: AfterFired | None = None
        #: set once the loop's first rescan (at start) is done
        self.scanned = asyncio.Event()

    def __len__(self) -> int:
        return len(self._heap)

    def note(self, account_id: str, result: TurnResult) -> None:
        """Take in the timers a turn scheduled."""
        for event in result.events:
            if isinstance(event, ev.TimerScheduled):
                self._push(account_id, result.conversation_id, event.timer_id, event.due_at)

    def _push(self, account_id: str, conversation_id: str, timer_id: str, due_at: str) -> None:
        key = (account_id, conversation_id, timer_id, due_at)
        if key not in self._queued:
            self._queued.add(key)
            heapq.heappush(self._heap, (_due(due_at), key))

    async def account_of(self, conversation_id: str) -> str | None:
        """The account a conversation belongs to (conversation ids are unique)."""
        query = sa.select(conversations.c.account_id).where(conversations.c.id == conversation_id)
        async with self.sql.connect() as conn:
            found: str | None = (await conn.execute(query)).scalar_one_or_none()
        return found

    async def fire_due(self) -> int:
        """Fire every entry whose time has come; how many timers fired.

        Nothing while another process fires the database's timers (see
        ``baton.storage.cycles``); the entries stay, for a later tick.
        """
        now = self.engine.clock.now()
        if not self._heap or self._heap[0][0] > now:
            return 0
        async with exclusive_cycle(self.sql, "timers") as mine:
            return await self._fire_due(now) if mine else 0

    async def _fire_due(self, now: datetime) -> int:
        fired = 0
        while self._heap and self._heap[0][0] <= now:
            _due_at, key = heapq.heappop(self._heap)
            self._queued.discard(key)
            account_id, conversation_id, timer_id, _text = key
            try:
                result = await self.engine.router.fire_timer(account_id, conversation_id, timer_id)
            except Exception:  # one broken timer must not stop the others; the rescan retries
                log.exception("firing timer %s of %s failed", timer_id, conversation_id)
                continue
            if result is not None:
                fired += 1
                self.note(account_id, result)
                if self.after_fired is not None:
                    try:  # the turn is stored: a failed push must not hold the other timers
                        await self._after(self.after_fired, account_id, result)
                    except Exception:
                        log.exception("after timer %s of %s", timer_id, conversation_id)
        return fired

    async def _after(self, after: AfterFired, account_id: str, result: TurnResult) -> None:
        record = await self.engine.store.get_conversation(account_id, result.conversation_id)
        if record is not None:
            await after(result, record.channel, account_id)

    async def rescan(self) -> None:
        """Read the pending timers of every open conversation that has one, a slice at a
        time."""
        c = conversations.c
        after = ""
        while True:
            query = (
                sa.select(c.account_id, c.id)
                .where(c.ended == sa.false(), c.has_timers == sa.true(), c.id > after)
                .order_by(c.id)
                .limit(self.slice_size)
            )
            async with self.sql.connect() as conn:
                rows = (await conn.execute(query)).all()
            for account_id, conversation_id in rows:
                try:
                    # not kept in the cache: a sweep of thousands of quiet conversations
                    # pushed the live ones out (their next turn read and rewrote them)
                    state = await self.engine.store.load_state(
                        account_id, conversation_id, keep=False
                    )
                except UnknownConversation:
                    continue
                for timer_id, timer in state.timers.items():
                    self._push(account_id, conversation_id, timer_id, timer.due_at)
            if len(rows) < self.slice_size:
                return
            after = rows[-1][1]
            await asyncio.sleep(0)  # turns run between slices

    async def run(self) -> None:
        """Rescan and fire until cancelled."""
        next_rescan = 0.0
        while True:
            try:
                if time.monotonic() >= next_rescan:
                    next_rescan = time.monotonic() + self.rescan_seconds
                    await self.rescan()
                    self.scanned.set()
                await self.fire_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("timer cycle failed; retrying at the next tick")
            await asyncio.sleep(self.tick_seconds)
