"""The server's collector policy: the heap is frozen often and thawed now and then."""

import asyncio
import contextlib
import gc
import weakref

from baton.server.collector import freeze_forever


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


async def test_the_heap_is_frozen_and_frozen_cycles_are_freed_at_the_thaw() -> None:
    try:
        gc.unfreeze()
        node = _Node()
        gone = weakref.ref(node)
        task = asyncio.create_task(freeze_forever(0.01, thaw_minutes=0.2 / 60))
        await asyncio.sleep(0.05)
        assert gc.get_freeze_count() > 0
        del node
        gc.collect()
        assert gone() is not None  # frozen: a full collection does not see it
        await asyncio.sleep(0.3)  # the thaw collects everything once
        assert gone() is None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    finally:
        gc.unfreeze()
