"""Several instances on one database fire a timer once: each holds every timer in its
schedule (noted from its turns or found by a rescan), but the firing runs one instance
at a time, so a workflow's webhook (or a Python action) is not called once per instance."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request

from baton.api import db
from baton.router import messages as m
from baton.runtime.engine import open_engine
from baton.server.timers import TimerSchedule
from baton.testing import TestClock
from tests.server.standin import ServerThread
from tests.server.test_timers import nudges
from tests.storage.conftest import postgres_url, url
from tests.workflows.projects import write_project

__all__ = ["postgres_url", "url"]


def _receiver(calls: list[dict[str, Any]]) -> FastAPI:
    app = FastAPI()

    @app.post("/hook")
    async def hook(request: Request) -> dict[str, str]:
        calls.append(await request.json())
        await asyncio.sleep(0.05)  # a real receiver takes a moment: the instances overlap
        return {"ok": "yes"}

    return app


async def test_two_instances_fire_a_timer_and_its_webhook_once(tmp_path: Path, url: str) -> None:
    calls: list[dict[str, Any]] = []
    with ServerThread(_receiver(calls)) as receiver:
        nudge = {
            "trigger": {"no_reply": {"minutes": 15}},
            "actions": [{"webhook": {"url": f"{receiver.url}/hook"}}, {"send": "Still there?"}],
        }
        root = write_project(tmp_path / "p", {"nudge": nudge})
        clock = TestClock()
        one = await open_engine(root, database=url, clock=clock)
        two = await open_engine(root, database=url, clock=clock)
        try:
            schedules = [
                TimerSchedule(engine, db.sql_engine(engine.store), rescan_seconds=3600)
                for engine in (one, two)
            ]
            address = f"timer-{tmp_path.name}"
            turn = await one.router.handle(m.Inbound("web", address, "hello"))
            for schedule in schedules:
                await schedule.rescan()
            clock.advance(16 * 60)
            for _ in range(3):  # every tick of both instances, at the same moments
                await asyncio.gather(*(schedule.fire_due() for schedule in schedules))
        finally:
            await one.close()
            await two.close()
    mine = [call for call in calls if call["conversation_id"] == turn.conversation_id]
    assert len(mine) == 1, f"the webhook was called {len(mine)} times"
    reopened = await open_engine(root, database=url, clock=clock)
    try:
        assert await nudges(reopened, turn.conversation_id) == 1
    finally:
        await reopened.close()
