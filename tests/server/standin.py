"""A local stand-in for Twilio's Messages API and Meta's send APIs, on loopback."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


@dataclass
class Provider:
    """What the stand-in received; ``fail_next`` answers that many sends with a 500."""

    received: list[dict[str, Any]] = field(default_factory=list)
    accepted: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail_next: int = 0
    refuse_next: int = 0
    #: answer that many sends with a 429 and ``Retry-After: retry_after``
    throttle_next: int = 0
    retry_after: int = 30
    delay: float = 0.0
    #: extra seconds before answering sends to these addresses (a slow provider path)
    slow: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def texts(self, address: str | None = None) -> list[str]:
        """Accepted texts, in order (one per idempotency key)."""
        with self.lock:
            return [
                m["text"] for m in self.accepted.values() if address is None or m["to"] == address
            ]

    def _take(self, kind: str, key: str, to: str, text: str, raw: Any) -> JSONResponse | str:
        with self.lock:
            self.received.append({"kind": kind, "key": key, "to": to, "text": text, "raw": raw})
            if self.fail_next > 0:
                self.fail_next -= 1
                return JSONResponse({"error": "try later"}, status_code=503)
            if self.throttle_next > 0:
                self.throttle_next -= 1
                headers = {"Retry-After": str(self.retry_after)}
                return JSONResponse({"error": "slow down"}, status_code=429, headers=headers)
            if self.refuse_next > 0:
                self.refuse_next -= 1
                return JSONResponse({"error": {"message": "invalid recipient"}}, status_code=400)
            if key not in self.accepted:  # a retry with the same key is not sent twice
                self.accepted[key] = {"kind": kind, "to": to, "text": text, "n": len(self.accepted)}
            return f"{kind}-{self.accepted[key]['n']}"


def standin_app(provider: Provider) -> FastAPI:
    app = FastAPI()

    @app.post("/2010-04-01/Accounts/{sid}/Messages.json")
    async def twilio(sid: str, request: Request) -> Any:
        await asyncio.sleep(provider.delay)
        form = await request.form()
        if request.headers.get("authorization", "").lower().startswith("basic ") is False:
            return JSONResponse({"code": 20003, "message": "Authenticate"}, status_code=401)
        key = request.headers.get("i-twilio-idempotency-token", "")
        taken = provider._take("twilio", key, str(form["To"]), str(form["Body"]), dict(form))
        if isinstance(taken, JSONResponse):
            return taken
        return JSONResponse(
            {
                "sid": "SM" + taken,
                "status": "queued",
                "to": form["To"],
                "from": form["From"],
                "body": form["Body"],
                "account_sid": sid,
            },
            status_code=201,
        )

    @app.post("/{version}/{phone}/messages")
    async def whatsapp(version: str, phone: str, request: Request) -> Any:
        await asyncio.sleep(provider.delay)
        body = await request.json()
        key = request.headers.get("x-idempotency-key", "")
        if phone == "me":
            taken = provider._take(
                "messenger", key, body["recipient"]["id"], body["message"]["text"], body
            )
            if isinstance(taken, JSONResponse):
                return taken
            return {"recipient_id": body["recipient"]["id"], "message_id": "m_" + taken}
        assert body["messaging_product"] == "whatsapp" and body["type"] == "text"
        await asyncio.sleep(provider.slow.get(body["to"], 0.0))
        taken = provider._take("whatsapp", key, body["to"], body["text"]["body"], body)
        if isinstance(taken, JSONResponse):
            return taken
        return {
            "messaging_product": "whatsapp",
            "contacts": [{"input": body["to"], "wa_id": body["to"]}],
            "messages": [{"id": "wamid." + taken}],
        }

    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ServerThread:
    """A uvicorn server on loopback, in a thread."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
