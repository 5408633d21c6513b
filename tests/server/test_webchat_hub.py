"""A tab that connects while turns are pushed sees each message once: what the hub got
for it before its history was sent waits, and what the history holds is dropped."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from fastapi import WebSocket

from baton.domain import events as ev
from baton.server.webchat import WebChatHub, reply_frames


class _Tab:
    """The receiving end of a socket: what the browser would draw, in order."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []

    async def send_json(self, frame: dict[str, Any]) -> None:
        await asyncio.sleep(0)  # a send yields to the loop, as a real one does
        self.frames.append(frame)


async def test_frames_pushed_while_the_history_is_read_are_shown_once() -> None:
    hub = WebChatHub()
    tab = _Tab()
    socket = cast(WebSocket, tab)
    key = ("acct", "session-1")
    hub.add(key, socket)
    # two turns commit while the history is read: versions 3 and 5 of the log
    first = reply_frames([ev.MessageReceived("hi", "web"), ev.MessageSent("Hello!", "bot")], 3)
    second = reply_frames([ev.MessageReceived("and?", "web"), ev.MessageSent("So.", "bot")], 5)
    await hub.push(key, first)
    await hub.push(key, second)
    assert tab.frames == []  # held until the history is out
    await tab.send_json({"type": "history", "shown": 3})  # the history read seq 1-3
    await hub.ready(socket, 3)
    assert [f.get("text") for f in tab.frames] == [None, "and?", "So."]
    assert [f.get("seq") for f in tab.frames[1:]] == [4, 5]
    await hub.push(key, reply_frames([ev.MessageSent("Later.", "human")], 6))
    assert tab.frames[-1]["text"] == "Later." and tab.frames[-1]["seq"] == 6


async def test_a_page_view_reads_no_history_and_makes_no_contact(tmp_path: Any) -> None:
    from baton.server.webchat import history
    from baton.storage import SqlEventStore, default_sqlite_url

    async with SqlEventStore(default_sqlite_url(tmp_path / "b.db")) as store:
        assert await history(store, "default", "visitor-0001") == ([], 0)
        assert await store.identity_owner("default", "web", "visitor-0001") is None
