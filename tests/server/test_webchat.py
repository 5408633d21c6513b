"""Web chat over a real uvicorn on loopback: WebSocket, history on reconnect, the widget."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from baton.api.db import Keys
from baton.server.app import create_app
from baton.server.settings import ServerSettings
from baton.storage import default_sqlite_url
from tests.server.standin import ServerThread

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def live(clinic_root: Path, tmp_path: Path) -> Iterator[ServerThread]:
    settings = ServerSettings(database_url=default_sqlite_url(tmp_path / "web.db"))
    with ServerThread(create_app(clinic_root, settings=settings)) as server:
        yield server


async def frames_until(socket: Any, kind: str, limit: int = 20) -> list[dict[str, Any]]:
    seen = []
    for _ in range(limit):
        frame = json.loads(await asyncio.wait_for(socket.recv(), 10))
        seen.append(frame)
        if frame["type"] == kind:
            return seen
    raise AssertionError(f"no {kind} frame in {seen}")


async def test_websocket_chat_transfer_history_and_operator_push(live: ServerThread) -> None:
    url = live.url.replace("http", "ws") + "/channels/web/ws?session=tab-session-0001"
    async with websockets.connect(url) as socket:
        history = json.loads(await socket.recv())
        assert history == {"type": "history", "messages": []}
        await socket.send(json.dumps({"text": "hi", "id": "w1"}))
        frames = await frames_until(socket, "ack")
        assert frames[-1] == {"type": "ack", "id": "w1"}
        assert "welcome to the clinic" in frames[0]["text"]
        assert frames[0]["name"] == "Front desk"  # the display name of bots/triage/bot.yml
        await socket.send(json.dumps({"text": "I've been feeling low", "id": "w2"}))
        frames = await frames_until(socket, "ack")
        live_order = [(f["type"], f.get("bot") or f.get("to")) for f in frames[:-1]]
        assert live_order[:2] == [("reply", "triage"), ("transfer", "assessment")]
        assert [f["bot"] for f in frames[2:-1]][-1] == "assessment"
        handed = frames[1]
        assert (handed["from_name"], handed["to_name"]) == ("Front desk", "Wellbeing check-in")
        assert {f["name"] for f in frames[2:-1]} == {"Wellbeing check-in"}
        await socket.send("not json")
        assert json.loads(await socket.recv())["code"] == "bad_frame"
    async with websockets.connect(url) as socket:
        history = json.loads(await socket.recv())
        texts = [m.get("text") for m in history["messages"]]
        assert texts[0] == "hi" and "I've been feeling low" in texts
        assert any(m["role"] == "transfer" and m["to"] == "assessment" for m in history["messages"])
        named = {m["bot"]: m["name"] for m in history["messages"] if m.get("bot")}
        assert named == {"triage": "Front desk", "assessment": "Wellbeing check-in"}
        # The reload shows the turn in the order it was shown live.
        reloaded = [
            ("transfer" if m["role"] == "transfer" else "reply", m.get("bot") or m.get("to"))
            for m in history["messages"][3:]  # after "hi", its answer and the user's line
        ]
        assert reloaded == live_order
        # An operator's message reaches the open tab.
        async with httpx.AsyncClient(base_url=live.url) as client:
            app = live.server.config.app
            _record, secret = await _key(app)
            auth = {"Authorization": f"Bearer {secret}"}
            listed = await client.get("/v1/conversations", params={"channel": "web"}, headers=auth)
            conversation = listed.json()["items"][0]["conversation_id"]
            await client.post(f"/v1/conversations/{conversation}/escalate", json={}, headers=auth)
            await client.post(
                f"/v1/conversations/{conversation}/messages",
                json={"text": "Hi, this is Sam from the clinic."},
                headers=auth,
            )
        pushed = await frames_until(socket, "reply")
        assert pushed[-1]["text"] == "Hi, this is Sam from the clinic."
        assert pushed[-1]["sender"] == "human" and "name" not in pushed[-1]


async def _key(app: Any) -> tuple[Any, str]:
    # The app runs on the server thread's loop; its engine is usable from ours for a
    # quick insert because the SQL engine opens a fresh connection per call.
    return await Keys(app.state.baton.sql).create("default", "web test")


async def test_bad_session_is_refused(live: ServerThread) -> None:
    url = live.url.replace("http", "ws") + "/channels/web/ws?session=x"
    with pytest.raises(websockets.exceptions.WebSocketException):
        async with websockets.connect(url) as socket:
            await socket.recv()


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")
def test_widget_in_headless_chromium(clinic_root: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    settings = ServerSettings(database_url=default_sqlite_url(tmp_path / "browser.db"))
    server = ServerThread(create_app(clinic_root, settings=settings)).__enter__()
    port = server.port
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            page = browser.new_page()
            page.goto(server.url + "/")
            connected = '#baton-chat[data-connected="true"]'
            page.wait_for_selector(connected, timeout=15_000)
            box = page.locator('[data-baton="input"]')
            box.fill("hi")
            box.press("Enter")
            page.wait_for_selector('[data-role="bot"][data-bot="triage"]', timeout=15_000)
            box.fill("I've been feeling low")
            box.press("Enter")
            page.wait_for_selector('[data-role="transfer"][data-bot="assessment"]', timeout=15_000)
            page.wait_for_selector('[data-role="bot"][data-bot="assessment"]', timeout=15_000)
            before = page.locator('[data-baton="log"] > div').count()
            # Reload: same session (localStorage), the history comes back.
            page.reload()
            page.wait_for_selector(connected, timeout=15_000)
            page.wait_for_selector('[data-role="bot"][data-bot="assessment"]', timeout=15_000)
            assert page.locator('[data-baton="log"] > div').count() == before
            assert "feeling low" in page.locator('[data-baton="log"]').inner_text()
            # The server restarts: the widget reconnects by itself and the chat goes on.
            server.__exit__(None, None, None)
            page.wait_for_selector('#baton-chat[data-connected="false"]', timeout=15_000)
            server = ServerThread(create_app(clinic_root, settings=settings), port).__enter__()
            page.wait_for_selector(connected, timeout=30_000)
            box.fill("1")
            box.press("Enter")
            page.wait_for_function(
                "document.querySelector('[data-baton=\"log\"]').innerText.includes("
                "'feeling down, depressed or hopeless')",
                timeout=15_000,
            )
        finally:
            browser.close()
            server.__exit__(None, None, None)


async def _web_events(live: ServerThread) -> list[dict[str, Any]]:
    """The events of the (only) web conversation, through the management API."""
    async with httpx.AsyncClient(base_url=live.url) as client:
        _record, secret = await _key(live.server.config.app)
        auth = {"Authorization": f"Bearer {secret}"}
        listed = await client.get("/v1/conversations", params={"channel": "web"}, headers=auth)
        conversation = listed.json()["items"][0]["conversation_id"]
        transcript = await client.get(
            f"/v1/conversations/{conversation}/transcript", params={"limit": 200}, headers=auth
        )
        events: list[dict[str, Any]] = transcript.json()["events"]
        return events


async def test_rejected_messages_get_an_error_frame_and_too_long_is_kept_only_to_the_limit(
    live: ServerThread,
) -> None:
    url = live.url.replace("http", "ws") + "/channels/web/ws?session=tab-rejected-01"
    async with websockets.connect(url) as socket:
        await socket.recv()  # history
        await socket.send(json.dumps({"text": " \u200b ", "id": "r1"}))
        frames = await frames_until(socket, "ack")
        assert frames[0]["type"] == "error" and frames[0]["code"] == "blank", frames
        assert frames[0]["id"] == "r1" and "whitespace" in frames[0]["message"]
        await socket.send(json.dumps({"text": "x" * 6000, "id": "r2"}))
        frames = await frames_until(socket, "ack")
        assert frames[0]["code"] == "too_long", frames
        assert "6000" in frames[0]["message"] and "4096" in frames[0]["message"]
    async with websockets.connect(url) as socket:  # a reload: each refusal after its message
        lines = json.loads(await socket.recv())["messages"]
        roles = [(m["role"], m.get("code")) for m in lines]
        assert roles == [("user", None), ("error", "blank"), ("user", None), ("error", "too_long")]
        assert "whitespace" in lines[1]["message"]
    events = await _web_events(live)
    received = [e["data"]["text"] for e in events if e["type"] == "message_received"]
    assert [len(text) for text in received] == [3, 4096]  # the prefix up to the limit
    rejected = [e["data"] for e in events if e["type"] == "message_rejected"]
    assert [(r["reason"], r["length"]) for r in rejected] == [("blank", 3), ("too_long", 6000)]


async def test_a_frame_over_the_body_cap_is_refused_unread(
    clinic_root: Path, tmp_path: Path
) -> None:
    settings = ServerSettings(
        database_url=default_sqlite_url(tmp_path / "cap.db"), max_body_bytes=2048
    )
    with ServerThread(create_app(clinic_root, settings=settings)) as server:
        url = server.url.replace("http", "ws") + "/channels/web/ws?session=tab-capped-001"
        async with websockets.connect(url) as socket:
            await socket.recv()  # history
            await socket.send(json.dumps({"text": "é" * 1500, "id": "big"}))  # 3,000+ bytes
            frame = json.loads(await asyncio.wait_for(socket.recv(), 10))
            assert frame["type"] == "error" and frame["code"] == "body_too_large", frame
            assert "2048" in frame["message"]
            await socket.send(json.dumps({"text": "hi", "id": "small"}))  # the socket goes on
            frames = await frames_until(socket, "ack")
            assert frames[-1] == {"type": "ack", "id": "small"}
        events = await _web_events(server)
        received = [e["data"]["text"] for e in events if e["type"] == "message_received"]
        assert received == ["hi"]


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")
def test_widget_shows_why_a_message_was_refused(clinic_root: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    settings = ServerSettings(
        database_url=default_sqlite_url(tmp_path / "refused.db"), max_body_bytes=1024
    )
    with (
        ServerThread(create_app(clinic_root, settings=settings)) as server,
        sync_playwright() as pw,
    ):
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page()
            page.goto(server.url + "/")
            page.wait_for_selector('#baton-chat[data-connected="true"]', timeout=15_000)
            box = page.locator('[data-baton="input"]')
            box.fill("a" * 2000)
            box.press("Enter")
            error = page.wait_for_selector('[data-role="error"]', timeout=15_000)
            assert error is not None and "too long" in error.inner_text()
            assert error.get_attribute("role") == "alert"
        finally:
            browser.close()


async def test_widget_script_is_served_as_utf8_javascript(live: ServerThread) -> None:
    async with httpx.AsyncClient(base_url=live.url) as client:
        answer = await client.get("/widget.js")
    assert answer.headers["content-type"] == "application/javascript; charset=utf-8"
    assert "reconnecting…" in answer.text  # non-ASCII text arrives intact
