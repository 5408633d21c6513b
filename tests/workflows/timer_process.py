"""A separate process for the restart test: submit a form, or fire due timers.

Usage: python timer_process.py ROOT DATABASE_URL MINUTES (submit|fire|hang)
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from baton.runtime.engine import open_engine
from baton.runtime.workflows import run_due_timers, submit_form
from baton.testing import TestClock

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def main(root: Path, url: str, minutes: float, what: str) -> None:
    engine = await open_engine(
        root, database=url, clock=TestClock(START + timedelta(minutes=minutes))
    )
    try:
        if what in ("submit", "hang"):
            await submit_form(engine, "signup", {"email": "a@b.c"}, address="lead-1")
            print("submitted", flush=True)
            if what == "hang":
                time.sleep(600)  # killed here, the wait still pending
        else:
            fired = await run_due_timers(engine)
            print(f"fired {len(fired)}", flush=True)
    finally:
        await engine.close()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2], float(sys.argv[3]), sys.argv[4]))
