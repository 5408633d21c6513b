"""A clock that only moves when told to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class TestClock:
    """Settable time for stories and tests."""

    __test__ = False

    def __init__(self, start: datetime = START) -> None:
        self.current = start

    def now(self) -> datetime:
        """The clock's time."""
        return self.current

    def advance(self, minutes: float) -> None:
        """Move forward."""
        self.current += timedelta(minutes=minutes)
