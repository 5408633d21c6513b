"""Web chat: a WebSocket per browser tab, the widget script, and a demo page."""

from __future__ import annotations

import asyncio
import functools
import html
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

from fastapi import WebSocket, WebSocketDisconnect

from baton.api.errors import store_trouble
from baton.domain import events as ev
from baton.domain.ports import EventStore
from baton.router.messages import TurnResult
from baton.spec.project import Project

log = logging.getLogger(__name__)

SESSION = re.compile(r"^[A-Za-z0-9_-]{8,100}$")
BAD_SESSION = "bad session id: use 8 to 100 letters, digits, '_' or '-'"
MESSAGE_ID = re.compile(r"[^\x00-\x1f\x7f]{1,200}")
STATIC = Path(__file__).parent / "static"
HISTORY_LIMIT = 200

Send = Callable[[str, str, str | None], Awaitable[list[dict[str, object]]]]


def bot_names(project: Project) -> dict[str, str]:
    """Each bot's display name (``name`` in its bot.yml), by bot id."""
    return {bot_id: bot.settings.name for bot_id, bot in project.bots.items()}


def labelled(frame: dict[str, object], names: Mapping[str, str]) -> dict[str, object]:
    """A reply or transfer frame (or history line) with the display names of its bots:
    ``name`` beside ``bot``, ``from_name`` and ``to_name`` beside ``from`` and ``to``
    (a bot the project lacks is named by its id)."""
    out = dict(frame)
    for key, name_key in (("bot", "name"), ("from", "from_name"), ("to", "to_name")):
        bot = frame.get(key)
        if isinstance(bot, str):
            out[name_key] = names.get(bot, bot)
    return out


class WebChatHub:
    """Open sockets by (account, session), so operator messages reach the browser.

    Frames go out with the bots' display names (:func:`labelled`), given at creation.
    A socket is added before its history is read, so no turn committed meanwhile is
    missed; until :meth:`ready` the frames pushed to it wait, and those the history
    already holds (by their ``seq``) are dropped, so none shows twice.
    """

    def __init__(self, names: Mapping[str, str] | None = None) -> None:
        self._sockets: dict[tuple[str, str], set[WebSocket]] = {}
        self._waiting: dict[WebSocket, list[dict[str, object]]] = {}
        self.names: Mapping[str, str] = dict(names or {})

    def add(self, key: tuple[str, str], socket: WebSocket) -> None:
        """Register an open socket; what is pushed to it waits for :meth:`ready`."""
        self._sockets.setdefault(key, set()).add(socket)
        self._waiting[socket] = []

    async def ready(self, socket: WebSocket, shown: int) -> None:
        """The socket's history, up to the log's seq ``shown``, is sent: send what was
        pushed meanwhile and is not in it, then push as usual."""
        while waiting := self._waiting.get(socket):
            self._waiting[socket] = []
            for frame in waiting:
                seq = frame.get("seq")
                if isinstance(seq, int) and seq <= shown:
                    continue
                await socket.send_json(frame)
        self._waiting.pop(socket, None)

    def holds(self, key: tuple[str, str]) -> bool:
        """Whether a socket of the session is open here."""
        return key in self._sockets

    def remove(self, key: tuple[str, str], socket: WebSocket) -> None:
        """Forget a closed socket."""
        self._waiting.pop(socket, None)
        sockets = self._sockets.get(key)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self._sockets[key]

    async def push(self, key: tuple[str, str], frames: list[dict[str, object]]) -> None:
        """Send frames to every socket of the session (closed ones are skipped)."""
        sockets = list(self._sockets.get(key, ()))
        if sockets:
            frames = [labelled(frame, self.names) for frame in frames]
        for socket in sockets:
            waiting = self._waiting.get(socket)
            if waiting is not None:
                waiting.extend(frames)
                continue
            for frame in frames:
                try:
                    await socket.send_json(frame)
                except (RuntimeError, WebSocketDisconnect, OSError):
                    self.remove(key, socket)
                    break


def reply_frames(events: list[ev.Event], version: int = 0) -> list[dict[str, object]]:
    """What the browser shows for a turn: the user's message, transfers and sent messages,
    in the order the turn appended them (as :func:`history` shows them after a reload);
    suggestions are not shown. With the conversation's ``version`` after the turn, each
    frame has its event's ``seq`` in the log."""
    frames: list[dict[str, object]] = []
    sent: str | None = None
    first = version - len(events) + 1 if version else None
    for index, event in enumerate(events):
        before = len(frames)
        if isinstance(event, ev.MessageReceived):
            # for the session's other tabs; the tab that sent it knows the id (sent as
            # "<client id>", stored as "<session>/<client id>") and has drawn it already
            sent = (event.message_id or "").partition("/")[2] or None
            frames.append({"type": "user", "text": event.text, "id": sent})
        elif isinstance(event, ev.MessageRejected):  # the sending tab got it as its answer
            frames.append(
                {
                    "type": "error",
                    "code": event.reason,
                    "message": event.detail,
                    "id": sent,
                    "pushed": True,
                }
            )
        elif isinstance(event, ev.BotTransferred):
            frames.append({"type": "transfer", "from": event.from_bot, "to": event.to_bot})
        elif isinstance(event, ev.MessageSent):
            frames.append(
                {"type": "reply", "text": event.text, "bot": event.bot_id, "sender": event.sender}
            )
        if first is not None and len(frames) > before:
            frames[-1]["seq"] = first + index
    return frames


def rejection_frames(result: TurnResult | None, message_id: str | None) -> list[dict[str, object]]:
    """An ``error`` frame for a message the router refused (empty, blank, too long), so the
    user sees why it got no answer; none for a message that was taken in."""
    if result is None or result.rejected is None:
        return []
    detail = next(
        (e.detail for e in result.events if isinstance(e, ev.MessageRejected)), result.rejected
    )
    return [{"type": "error", "code": result.rejected, "message": detail, "id": message_id}]


def oversized_frame(raw: str, max_bytes: int) -> dict[str, object] | None:
    """An ``error`` frame for a WebSocket frame over the byte cap (None when it fits)."""
    size = len(raw) if len(raw) > max_bytes else len(raw.encode())
    if size <= max_bytes:
        return None
    return {
        "type": "error",
        "code": "body_too_large",
        "message": f"the message is too long: {size} bytes as sent; the limit is {max_bytes}",
    }


async def history(
    store: EventStore, account_id: str, session: str
) -> tuple[list[dict[str, object]], int]:
    """The session's current conversation, as messages (for a reload), with the reason
    each refused message got no answer (``role`` error, as its ``error`` frame said);
    and the seq of the last event read (0 for none). A session that never wrote has no
    contact, and looking does not make one (every page view did)."""
    contact_id = await store.identity_owner(account_id, "web", session)
    latest = await store.latest_conversation(account_id, contact_id) if contact_id else None
    if latest is None:
        return [], 0
    lines: list[dict[str, object]] = []
    items = await store.read_events(account_id, latest.conversation_id)
    for item in items:
        event = item.event
        if isinstance(event, ev.MessageReceived):
            # the id the tab gave it ("<session>/<id>" as stored): a tab whose link died
            # before the ack sends again only what the history lacks
            sent = (event.message_id or "").partition("/")[2] or None
            lines.append({"role": "user", "text": event.text, "id": sent})
        elif isinstance(event, ev.MessageSent):
            lines.append({"role": event.sender, "text": event.text, "bot": event.bot_id})
        elif isinstance(event, ev.BotTransferred):
            lines.append({"role": "transfer", "from": event.from_bot, "to": event.to_bot})
        elif isinstance(event, ev.MessageRejected):
            lines.append({"role": "error", "code": event.reason, "message": event.detail})
    return lines[-HISTORY_LIMIT:], items[-1].seq if items else 0


async def serve_socket(
    socket: WebSocket,
    session: str,
    account_id: str,
    hub: WebChatHub,
    store: EventStore,
    send: Send,
    max_bytes: int = 64 * 1024,
) -> None:
    """One browser tab: history first, then messages in, replies out.

    A frame over ``max_bytes`` (``BATON_MAX_BODY_BYTES``) is answered with an ``error``
    frame and dropped, unread, as an HTTP body over the cap is answered 413.
    """
    await socket.accept()
    if not SESSION.match(session):  # closed after accepting: the client can read why
        await socket.close(code=4400, reason=BAD_SESSION)
        return
    key = (account_id, session)
    hub.add(key, socket)
    try:
        lines, shown = await history(store, *key)
        lines = [labelled(line, hub.names) for line in lines]
        await socket.send_json({"type": "history", "messages": lines})
        await hub.ready(socket, shown)
        while True:
            raw = await socket.receive_text()
            too_large = oversized_frame(raw, max_bytes)
            if too_large is not None:
                await socket.send_json(too_large)
                continue
            try:
                frame = json.loads(raw)
                text = frame["text"]
                if not isinstance(text, str):
                    raise TypeError("text")
                message_id = frame.get("id")
                if message_id is not None and (
                    not isinstance(message_id, str) or not MESSAGE_ID.fullmatch(message_id)
                ):
                    raise TypeError("id")
            except (ValueError, KeyError, TypeError, RecursionError):
                await socket.send_json(
                    {
                        "type": "error",
                        "code": "bad_frame",
                        "message": 'send {"text": "...", "id": "..."} (id optional, printable)',
                    }
                )
                continue
            try:
                frames = await send(session, text, message_id)
            except Exception as exc:  # the store failed (or a bug): no ack, so the widget
                await _close_on(socket, exc, session)  # sends it again when it reconnects
                return
            for out in frames:
                await socket.send_json(out)
            await socket.send_json({"type": "ack", "id": message_id})
    except WebSocketDisconnect:
        pass
    except asyncio.CancelledError:
        raise
    finally:
        hub.remove(key, socket)


async def _close_on(socket: WebSocket, exc: Exception, session: str) -> None:
    """Close with 1011 and a reason after a turn that failed; the log names the session."""
    trouble = store_trouble(exc)
    if trouble is None:
        log.error("web chat session %s: unexpected error", session, exc_info=exc)
        reason = "something went wrong on our side"
    else:
        log.error("web chat session %s: the event store could not serve: %s", session, trouble)
        reason = "the event store is unavailable; the message will be sent again"
    await socket.close(code=1011, reason=reason)


@functools.cache
def widget_script() -> str:
    """The embeddable widget (one script tag), read once: no file I/O on the event loop."""
    return (STATIC / "widget.js").read_text(encoding="utf-8")


def demo_page(title: str) -> str:
    """A page with the widget on it."""
    safe = html.escape(title)  # quotes too: the name goes into an attribute
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{safe} · Baton</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"></head>
<body style="font-family: system-ui, sans-serif; margin: 2rem">
<h1>{safe}</h1>
<p>Chat with the project in the widget. It reconnects by itself and keeps the
conversation across reloads.</p>
<script src="/widget.js" data-title="{safe}" data-open="true"></script>
</body></html>
"""
