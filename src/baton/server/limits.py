"""The request body cap and deadline, as plain ASGI middleware (cheap on every request)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def _refusal(limit: int) -> bytes:
    message = f"the request body is over the {limit}-byte limit"
    return json.dumps({"error": {"code": "body_too_large", "message": message}}).encode()


def late_body(seconds: float) -> bytes:
    message = f"the request body did not arrive within {seconds:g} s"
    return json.dumps({"error": {"code": "request_timeout", "message": message}}).encode()


class BodyLimit:
    """413 for a declared or streamed body over ``limit(scope)`` bytes (the cap may
    depend on the route: providers' webhooks carry batches), and 408 for a body that has
    not arrived ``body_seconds`` after the request began (a client trickling a byte at a
    time held its connection, and a file descriptor, for as long as it liked)."""

    def __init__(
        self, app: ASGIApp, limit: Callable[[Scope], int], body_seconds: Callable[[], float]
    ) -> None:
        self.app = app
        self.limit = limit
        self.body_seconds = body_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.limit(scope)
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = cap + 1
                if declared > cap:
                    await send_413(send, cap)
                    return
        seen = 0
        started = False
        refused = False
        seconds = self.body_seconds()
        deadline = asyncio.get_running_loop().time() + seconds

        whole = False  # the body has arrived: later receives wait for a disconnect

        async def limited_receive() -> Message:
            nonlocal seen, started, refused, whole
            if whole:
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                if not started:
                    started = refused = True
                    await send_error(send, 408, late_body(seconds))
                return {"type": "http.disconnect"}
            if message["type"] == "http.request":
                whole = not message.get("more_body", False)
                seen += len(message.get("body", b""))
                if seen > cap:
                    # Answer now: frameworks turn a failing receive() into their own 400.
                    if not started:
                        started = refused = True
                        await send_413(send, cap)
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 went out; whatever the app says after is dropped
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except Exception:
            if not refused:
                raise


async def send_413(send: Send, cap: int) -> None:
    await send_error(send, 413, _refusal(cap))


async def send_error(send: Send, status: int, body: bytes) -> None:
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
