"""One turn at a time per key, in arrival order; other keys run concurrently.

A key's entry exists while someone holds it: a queue of the futures of the
tasks waiting, oldest first. Releasing hands the key straight to the oldest
waiter (strict FIFO, no barging), and a free key costs no lock object, no
future and no suspension: a turn takes two keys, and on a quiet key both are
a dictionary insert and delete.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from types import TracebackType


class KeyedLocks:
    """FIFO locks created on demand and dropped when nobody holds or waits."""

    def __init__(self) -> None:
        self._waiters: dict[str, deque[asyncio.Future[None]]] = {}

    def hold(self, key: str) -> _Hold:
        """``async with locks.hold(key):`` runs the block holding the key's lock."""
        return _Hold(self, key)

    async def acquire(self, key: str) -> None:
        """Wait for the key (behind everyone already waiting), then hold it."""
        waiters = self._waiters.get(key)
        if waiters is None:
            self._waiters[key] = deque()
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiters.append(future)
        try:
            await future
        except BaseException:
            if future.done() and not future.cancelled():
                self.release(key)  # handed the key as the wait was cancelled: pass it on
            else:
                with contextlib.suppress(ValueError):
                    waiters.remove(future)
            raise

    def release(self, key: str) -> None:
        """Hand the key to the oldest task still waiting, or free it."""
        waiters = self._waiters[key]
        while waiters:
            future = waiters.popleft()
            if not future.done():
                future.set_result(None)
                return
        del self._waiters[key]

    def __len__(self) -> int:
        return len(self._waiters)


class _Hold:
    """The async context manager ``KeyedLocks.hold`` returns."""

    __slots__ = ("_key", "_locks")

    def __init__(self, locks: KeyedLocks, key: str) -> None:
        self._locks = locks
        self._key = key

    async def __aenter__(self) -> None:
        await self._locks.acquire(self._key)

    async def __aexit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self._locks.release(self._key)
