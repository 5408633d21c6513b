"""Workflow timers while serving: noted from turns, found by a rescan, fired once when due."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from baton.domain.ids import DEFAULT_ACCOUNT
from baton.router import messages as m
from baton.runtime.engine import Engine, open_engine
from baton.server.app import Baton, create_app
from baton.server.settings import ServerSettings
from baton.storage import default_sqlite_url
from baton.testing import TestClock
from tests.workflows.projects import write_project

NUDGE = {"nudge": {"trigger": {"no_reply": {"minutes": 15}}, "actions": [{"send": "Still there?"}]}}


async def nudges(engine: Engine, conversation_id: str) -> int:
    events = await engine.store.read_events(DEFAULT_ACCOUNT, conversation_id)
    return sum(1 for e in events if getattr(e.event, "text", None) == "Still there?")


async def wait_for_nudge(engine: Engine, conversation_id: str) -> None:
    for _ in range(100):  # the loop ticks every second
        if await nudges(engine, conversation_id):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the timer never fired")


async def test_timers_from_turns_and_from_elsewhere_fire_once(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", NUDGE, settings={"channels": ["web", "rest", "cli"]})
    clock = TestClock()
    url = default_sqlite_url(tmp_path / "t.db")
    engine = await open_engine(root, database=url, clock=clock)
    settings = ServerSettings(database_url=url, timer_rescan_seconds=3600)
    app = create_app(engine=engine, settings=settings)
    try:
        async with app.router.lifespan_context(app):
            baton: Baton = app.state.baton
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                answer = await client.post(
                    "/channels/rest/webhook", json={"sender": "ann", "message": "hello"}
                )
            served = answer.json()["conversation_id"]
            assert len(baton.timers) == 1  # noted from the turn's events, no scan
            # A turn the server did not run (another process, say): found by a rescan.
            await asyncio.wait_for(baton.timers.scanned.wait(), 10)  # the start's is done
            other = await engine.router.handle(m.Inbound("web", "bob", "hello"))
            assert len(baton.timers) == 1
            await baton.timers.rescan()
            assert len(baton.timers) == 2
            await baton.timers.rescan()  # nothing twice
            assert len(baton.timers) == 2
            clock.advance(10)
            assert await baton.timers.fire_due() == 0
            clock.advance(6)
            await wait_for_nudge(engine, served)
            await wait_for_nudge(engine, other.conversation_id)
            clock.advance(60)
            await baton.timers.rescan()
            assert await baton.timers.fire_due() == 0
            assert await nudges(engine, served) == 1
            assert await nudges(engine, other.conversation_id) == 1
    finally:
        await engine.close()


async def test_the_rescan_reads_only_conversations_with_a_pending_timer(tmp_path: Path) -> None:
    # "nudge" sets a timer when the contact is answered; a project without it sets none.
    timed = write_project(tmp_path / "timed", NUDGE, settings={"channels": ["web"]})
    plain = write_project(tmp_path / "plain", {}, settings={"channels": ["web"]})
    url = default_sqlite_url(tmp_path / "t.db")
    clock = TestClock()
    engine = await open_engine(plain, database=url, clock=clock)
    try:
        for name in ("ann", "bob", "cy"):
            await engine.router.handle(m.Inbound("web", name, "hello"))
    finally:
        await engine.close()
    engine = await open_engine(timed, database=url, clock=clock)
    try:
        with_timer = await engine.router.handle(m.Inbound("web", "dee", "hello"))
        settings = ServerSettings(database_url=url, timer_rescan_seconds=3600)
        app = create_app(engine=engine, settings=settings)
        async with app.router.lifespan_context(app):
            baton: Baton = app.state.baton
            loaded: list[str] = []
            load_state = engine.store.load_state

            async def counting(account_id: str, conversation_id: str, **how: bool) -> object:
                loaded.append(conversation_id)
                assert how == {"keep": False}  # a sweep does not fill the cache
                return await load_state(account_id, conversation_id, **how)

            engine.store.load_state = counting  # type: ignore[method-assign]
            await baton.timers.rescan()
            assert loaded == [with_timer.conversation_id]
            assert len(baton.timers) == 1
    finally:
        await engine.close()


async def test_a_timers_message_reaches_an_open_web_chat_and_the_metrics(tmp_path: Path) -> None:
    import json

    import websockets

    from tests.server.standin import ServerThread
    from tests.server.test_webchat import frames_until

    root = write_project(tmp_path / "p", NUDGE, settings={"channels": ["web", "rest", "cli"]})
    clock = TestClock()
    settings = ServerSettings(database_url=default_sqlite_url(tmp_path / "t.db"))
    with ServerThread(create_app(root, settings=settings, clock=clock)) as server:
        url = server.url.replace("http", "ws") + "/channels/web/ws?session=nudged-0001"
        async with websockets.connect(url) as socket:
            assert json.loads(await socket.recv())["type"] == "history"
            await socket.send(json.dumps({"text": "hello", "id": "n1"}))
            await frames_until(socket, "ack")
            clock.advance(16)  # past the 15 minutes without a reply; the loop ticks each second
            nudge = await frames_until(socket, "reply")
            assert nudge[-1]["text"] == "Still there?"
        async with httpx.AsyncClient(base_url=server.url) as client:
            metrics = (await client.get("/metrics")).text
    # The timer's turn is no message's turn, but what it did is counted.
    assert 'baton_turns_total{channel="web"} 1.0' in metrics
