"""Web chat over a real uvicorn on loopback: WebSocket, history on reconnect, the widget."""

from __future__ import annotations

import asyncio
import json
import re
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
from tests.browser import CHROMIUM, launch, watched_page
from tests.server.standin import ServerThread


@pytest.fixture
def live(clinic_root: Path, tmp_path: Path) -> Iterator[ServerThread]:
    settings = ServerSettings(database_url=default_sqlite_url(tmp_path / "web.db"))
    with ServerThread(create_app(clinic_root, settings=settings)) as server:
        yield server


async def frames_until(
    socket: Any, kind: str, limit: int = 20, users: bool = False
) -> list[dict[str, Any]]:
    """Frames up to the first of ``kind``; the ``user`` frames that echo the session's own
    messages (for its other tabs) only with ``users``."""
    seen = []
    for _ in range(limit):
        frame = json.loads(await asyncio.wait_for(socket.recv(), 10))
        if frame["type"] == "user" and not users and kind != "user":
            continue
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


async def test_a_message_typed_in_one_tab_shows_in_the_sessions_other_tabs(
    live: ServerThread,
) -> None:
    url = live.url.replace("http", "ws") + "/channels/web/ws?session=two-tabs-0001"
    async with websockets.connect(url) as first, websockets.connect(url) as second:
        for tab in (first, second):
            assert json.loads(await tab.recv())["type"] == "history"
        await first.send(json.dumps({"text": "hi", "id": "t1"}))
        echoed = await frames_until(second, "reply", users=True)
        assert echoed[0] == {"type": "user", "text": "hi", "id": "t1", "seq": 2}  # t1: known
        assert "welcome to the clinic" in echoed[1]["text"]
        await first.send(json.dumps({"text": "   ", "id": "t2"}))
        refused = await frames_until(second, "error")
        assert (refused[-1]["code"], refused[-1]["id"], refused[-1]["pushed"]) == (
            "blank",
            "t2",
            True,
        )


def test_widget_shows_a_message_typed_in_another_tab_once(live: ServerThread) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            context = browser.new_context()  # one localStorage: both tabs are one session
            tabs = [context.new_page(), context.new_page()]
            for tab in tabs:
                tab.goto(live.url + "/")
                tab.wait_for_selector('#baton-chat[data-connected="true"]', timeout=15_000)
            box = tabs[0].locator('[data-baton="input"]')
            box.fill("hello from tab one")
            box.press("Enter")
            for tab in tabs:
                tab.wait_for_selector('[data-role="bot"][data-bot="triage"]', timeout=15_000)
                typed = tab.locator('[data-role="user"]').filter(has_text="hello from tab one")
                assert typed.count() == 1
        finally:
            browser.close()


async def test_bad_session_is_refused_with_a_reason(live: ServerThread) -> None:
    url = live.url.replace("http", "ws") + "/channels/web/ws?session=x"
    with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
        async with websockets.connect(url) as socket:
            await socket.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400
    assert "8 to 100 letters, digits" in closed.value.rcvd.reason


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
            # Typed while offline: shown at once, sent after the reconnect's history.
            box.fill("1")
            box.press("Enter")
            typed = page.locator('[data-role="user"] span:last-child').filter(has_text="1")
            assert typed.count() == 1
            server = ServerThread(create_app(clinic_root, settings=settings), port).__enter__()
            page.wait_for_selector(connected, timeout=30_000)
            page.wait_for_function(
                "document.querySelector('[data-baton=\"log\"]').innerText.includes("
                "'feeling down, depressed or hopeless')",
                timeout=15_000,
            )
            assert typed.count() == 1  # still shown after the history redrew the log
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


async def test_a_contact_typing_too_fast_gets_a_rate_limited_frame_and_is_counted(
    clinic_root: Path, tmp_path: Path
) -> None:
    settings = ServerSettings(
        database_url=default_sqlite_url(tmp_path / "fast.db"), contact_rate_per_minute=2
    )
    with ServerThread(create_app(clinic_root, settings=settings)) as server:
        url = server.url.replace("http", "ws") + "/channels/web/ws?session=tab-hasty-00001"
        async with websockets.connect(url) as socket:
            await socket.recv()  # history
            for n in range(2):
                await socket.send(json.dumps({"text": "hello", "id": f"ok{n}"}))
                await frames_until(socket, "ack")
            await socket.send(json.dumps({"text": "hello?", "id": "fast"}))
            frames = await frames_until(socket, "error")
            assert frames[-1]["code"] == "rate_limited" and frames[-1]["retry_after"] >= 1
        async with httpx.AsyncClient(base_url=server.url) as client:
            metrics = (await client.get("/metrics")).text
        assert 'baton_errors_total{kind="rate_limited"} 1.0' in metrics


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
    from playwright.sync_api import expect, sync_playwright

    settings = ServerSettings(
        database_url=default_sqlite_url(tmp_path / "refused.db"), max_body_bytes=1024
    )
    served = ServerThread(create_app(clinic_root, settings=settings))
    served.server.config.ws_max_size = 4 * 1024  # as ``baton serve`` sets it: 4x the cap
    with served as server, sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = browser.new_page()
            page.goto(server.url + "/")
            page.wait_for_selector('#baton-chat[data-connected="true"]', timeout=15_000)
            box = page.locator('[data-baton="input"]')
            errors = page.locator('[data-role="error"]')
            # Over the cap: an error frame.
            box.fill("a" * 2000)
            box.press("Enter")
            too_long = re.compile(r"the message is too long: \d+ bytes as sent; the limit is 1024")
            expect(errors.last).to_contain_text(too_long)
            assert errors.last.get_attribute("role") == "alert"
            # Over 4x the cap: uvicorn closes the socket (1009); the widget says why, and
            # still does after it reconnected and the history redrew the log.
            box.fill("b" * 5000)
            box.press("Enter")
            expect(errors.last).to_contain_text("That message is too long to send.")
            box.fill("hi")
            box.press("Enter")  # sent after the reconnect's history
            expect(page.locator('[data-role="bot"]')).to_have_count(1, timeout=15_000)
            expect(errors.filter(has_text="too long to send")).to_have_count(1)
            # Refused by the router: the reason is in the history, so a reload shows it.
            box.fill("\u200b")
            box.press("Enter")
            expect(errors.last).to_contain_text("only whitespace or invisible characters")
            page.reload()
            page.wait_for_selector('#baton-chat[data-connected="true"]', timeout=15_000)
            blank = page.locator('[data-role="error"][data-code="blank"]')
            expect(blank).to_contain_text("only whitespace or invisible characters")
            assert blank.get_attribute("role") is None  # an old refusal is not alerted again
        finally:
            browser.close()


async def test_widget_script_is_served_as_utf8_javascript(live: ServerThread) -> None:
    async with httpx.AsyncClient(base_url=live.url) as client:
        answer = await client.get("/widget.js")
    assert answer.headers["content-type"] == "application/javascript; charset=utf-8"
    assert "reconnecting…" in answer.text  # non-ASCII text arrives intact


def luminance(css: str) -> float:
    """WCAG 2 relative luminance of an opaque ``rgb()`` / ``rgba()`` colour."""
    parts = [float(v) for v in re.findall(r"[\d.]+", css)]
    assert len(parts) == 3 or parts[3] == 1, f"{css} is not opaque"
    srgb = [c / 255 for c in parts[:3]]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in srgb]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    """The WCAG 2 contrast ratio of two colours (1 to 21)."""
    high, low = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


#: an element's text colour and the first opaque background behind it, as the page computes
#: them (``pseudo``: "::placeholder" for an input's placeholder)
COLOURS = r"""([selector, pseudo]) => {
  const el = document.querySelector(selector);
  let back = "rgb(255, 255, 255)";
  for (let node = el; node; node = node.parentElement) {
    const colour = getComputedStyle(node).backgroundColor;
    if (!/^rgba\(.*, 0\)$/.test(colour)) { back = colour; break; }
  }
  return [getComputedStyle(el, pseudo).color, back];
}"""


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")
def test_widget_names_the_bots_and_is_accessible(live: ServerThread) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            page, problems = watched_page(browser)
            page.goto(live.url + "/")
            page.wait_for_selector('#baton-chat[data-connected="true"]', timeout=15_000)
            # Names as assistive technology sees them (the accessibility tree).
            log = page.get_by_role("log", name="Messages")
            assert log.get_attribute("aria-live") == "polite"
            box = page.get_by_role("textbox", name="Message")
            send = page.get_by_role("button", name="Send message")
            header = page.get_by_role("button", name="clinic")
            body = page.locator("#" + str(header.get_attribute("aria-controls")))
            assert body.get_attribute("data-baton") == "body"
            # The header is the first stop of the keyboard; Enter and Space fold the chat.
            expect(header).to_have_attribute("aria-expanded", "true")
            page.keyboard.press("Tab")
            expect(header).to_be_focused()
            ring = header.evaluate(
                "e => [getComputedStyle(e).outlineStyle, "
                "getComputedStyle(e).outlineWidth, getComputedStyle(e).outlineColor, "
                "getComputedStyle(e).backgroundColor]"
            )
            assert ring[:2] == ["solid", "3px"], ring
            assert contrast(ring[2], ring[3]) >= 3, ring  # a ring seen against the header
            page.keyboard.press("Enter")
            expect(header).to_have_attribute("aria-expanded", "false")
            expect(body).to_be_hidden()
            page.keyboard.press("Space")
            expect(header).to_have_attribute("aria-expanded", "true")
            expect(body).to_be_visible()
            page.keyboard.press("Space")
            expect(header).to_have_attribute("aria-expanded", "false")
            page.keyboard.press("Enter")
            expect(header).to_have_attribute("aria-expanded", "true")
            # Tab on to the log (scrollable, so focusable), the input and the button.
            for target in (log, box, send):
                page.keyboard.press("Tab")
                expect(target).to_be_focused()
                style = target.evaluate("e => getComputedStyle(e).outlineStyle")
                assert style == "solid", f"no visible focus on {target}"
            box.fill("hi")
            box.press("Enter")
            first = page.locator('[data-role="bot"][data-bot="triage"]').first
            expect(first.locator('[data-baton="who"]')).to_have_text("Front desk")
            box.fill("I've been feeling low")
            box.press("Enter")
            note = page.locator('[data-role="transfer"]')
            expect(note).to_have_text("Transferred from Front desk to Wellbeing check-in")
            then = page.locator('[data-role="bot"][data-bot="assessment"]').first
            expect(then.locator('[data-baton="who"]')).to_have_text("Wellbeing check-in")
            # A transfer note does not look like a reply: centred, italic, no bubble.
            looks = """e => { const s = getComputedStyle(e);
                return [s.textAlign, s.fontStyle, s.backgroundColor]; }"""
            assert note.evaluate(looks) == ["center", "italic", "rgba(0, 0, 0, 0)"]
            assert first.evaluate(looks)[:2] == ["start", "normal"]
            assert first.evaluate(looks)[2] != "rgba(0, 0, 0, 0)"
            # An invisible character only: the server refuses it, the widget says why.
            box.fill("\u200b")
            box.press("Enter")
            refusal = page.locator('[data-role="error"]')
            expect(refusal).to_contain_text("only whitespace or invisible characters")
            assert refusal.get_attribute("role") == "alert"
            # Every text against its background: WCAG AA, 4.5:1.
            looked_at = {
                "title": ('[data-baton="title"]', None),
                "status": ('[data-baton="state"]', None),
                "your message": ('[data-role="user"] span:last-child', None),
                "bot name": ('[data-role="bot"] [data-baton="who"]', None),
                "reply": ('[data-role="bot"] span:last-child', None),
                "transfer note": ('[data-role="transfer"] span', None),
                "error": ('[data-role="error"] span:last-child', None),
                "input": ('[data-baton="input"]', None),
                "placeholder": ('[data-baton="input"]', "::placeholder"),
                "send button": ('[data-baton="send"]', None),
            }
            ratios = {
                what: contrast(*page.evaluate(COLOURS, list(where)))
                for what, where in looked_at.items()
            }
            too_faint = {what: round(ratio, 2) for what, ratio in ratios.items() if ratio < 4.5}
            assert too_faint == {}, ratios
            assert problems == []
        finally:
            browser.close()


async def test_pushed_frames_follow_the_logs_order_under_concurrent_turns(
    live: ServerThread,
) -> None:
    """Frames were pushed after the contact's lock was let go, so a turn's frames could
    overtake the one before: an agent's message came below the customer's later one, and
    a reload moved it (a QA run: 2 runs of 2 in disorder)."""
    url = live.url.replace("http", "ws") + "/channels/web/ws?session=ordered-0001"
    async with websockets.connect(url) as typing, websockets.connect(url) as watching:
        for tab in (typing, watching):
            assert json.loads(await tab.recv())["type"] == "history"
        await typing.send(json.dumps({"text": "hi", "id": "o0"}))
        await frames_until(typing, "ack")
        async with httpx.AsyncClient(base_url=live.url) as client:
            _record, secret = await _key(live.server.config.app)
            auth = {"Authorization": f"Bearer {secret}"}
            listed = await client.get("/v1/conversations", params={"channel": "web"}, headers=auth)
            conversation = listed.json()["items"][0]["conversation_id"]

            async def customer() -> None:
                for n in range(12):
                    await typing.send(json.dumps({"text": f"msg {n}", "id": f"o{n + 1}"}))
                    await asyncio.sleep(0.005)

            async def agent() -> None:
                for n in range(8):
                    await client.post(
                        f"/v1/conversations/{conversation}/messages",
                        json={"text": f"agent {n}"},
                        headers=auth,
                    )

            await asyncio.gather(customer(), agent())
        seqs: list[int] = []
        texts: set[str] = set()
        while not {f"agent {n}" for n in range(8)} | {f"msg {n}" for n in range(12)} <= texts:
            frame = json.loads(await asyncio.wait_for(watching.recv(), 10))
            if isinstance(frame.get("seq"), int):
                seqs.append(frame["seq"])
            texts.add(frame.get("text", ""))
    assert seqs == sorted(seqs)
