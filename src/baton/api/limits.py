"""Token-bucket rate limits, kept in memory per process."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable


class RateLimiter:
    """``per_minute`` requests per key, in bursts of up to ``per_minute``.

    ``check`` answers None when a request may pass, else the seconds to wait, and then
    calls ``refused`` (the server counts it in ``baton_errors_total{kind="rate_limited"}``,
    whichever door the request came in by).
    At most ``max_keys`` buckets are kept (least recently used dropped).
    """

    def __init__(
        self,
        per_minute: int,
        *,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
        refused: Callable[[], None] | None = None,
    ) -> None:
        self.capacity = float(max(per_minute, 1))
        self.rate = self.capacity / 60.0
        self.max_keys = max_keys
        self.clock = clock
        self.refused = refused
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def check(self, key: str) -> float | None:
        """Take one token for ``key``; None if allowed, else seconds until one is free."""
        now = self.clock()
        tokens, stamp = self._buckets.pop(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - stamp) * self.rate)
        allowed = tokens >= 1.0
        if allowed:
            tokens -= 1.0
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        if allowed:
            return None
        if self.refused is not None:
            self.refused()
        return (1.0 - tokens) / self.rate
