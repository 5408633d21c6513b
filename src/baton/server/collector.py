"""Python's garbage collector kept out of the request path (tail latency).

A full collection scans every tracked object, so its pause grows with the heap:
in the HTTP bench the caches of a few thousand conversations made pauses of 5
to 45 ms that collected nothing, one every few seconds, and set the p99 (a
cached state is replaced every turn, so new objects reach the oldest generation
all the time). The server therefore freezes the heap at start-up and then every
``freeze_seconds`` (1 s; ``gc.freeze()`` splices lists, it costs nothing):
frozen objects are never scanned, so a full collection only looks at what
survived since the last freeze. With 10 s the pauses still grew to 44 ms; with
1 s none over 2 ms was left in the bench.

The price is that garbage *cycles* among frozen objects are not reclaimed until
the next thaw: every ``thaw_minutes`` everything is unfrozen and collected once
(a longer pause, logged with its duration). Baton's own long-lived data (cached
states, records, models) is acyclic and freed by reference counting frozen or
not.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time

log = logging.getLogger(__name__)


def freeze() -> None:
    """Collect once, then move every tracked object out of the collector's sight."""
    gc.collect()
    gc.freeze()


async def freeze_forever(freeze_seconds: float, thaw_minutes: float) -> None:
    """Freeze every ``freeze_seconds``; thaw and collect everything every ``thaw_minutes``."""
    thawed = time.monotonic()
    while True:
        await asyncio.sleep(freeze_seconds)
        if thaw_minutes > 0 and time.monotonic() - thawed >= thaw_minutes * 60:
            gc.unfreeze()
            started = time.perf_counter()
            found = gc.collect()
            thawed = time.monotonic()
            log.info(
                "full garbage collection: %d objects freed in %.0f ms",
                found,
                (time.perf_counter() - started) * 1000,
            )
        gc.freeze()
