"""The composition root: settings → engine → channels → outbox worker → FastAPI app."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Query, Request, WebSocket
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from baton.api import db
from baton.api.context import ApiContext
from baton.api.errors import ApiError, ErrorBody, error_response, install_error_handlers
from baton.api.limits import RateLimiter
from baton.api.routes import router as api_router
from baton.channels.base import Channel, ChannelError, RawRequest
from baton.domain.ports import Clock
from baton.router.messages import Inbound, TurnResult
from baton.runtime.engine import Engine, open_engine
from baton.server.delivery import record_delivery
from baton.server.limits import BodyLimit
from baton.server.metrics import Metrics
from baton.server.outbox import OutboxWorker
from baton.server.settings import ServerSettings
from baton.server.webchat import WebChatHub, demo_page, reply_frames, serve_socket, widget_script

log = logging.getLogger(__name__)


@dataclass
class Baton:
    """The running server's parts (``app.state.baton``)."""

    engine: Engine
    settings: ServerSettings
    sql: AsyncEngine
    metrics: Metrics
    hub: WebChatHub
    worker: OutboxWorker
    contact_limiter: RateLimiter
    channels: Mapping[str, Channel] = field(default_factory=dict)

    async def turn(self, inbound: Inbound) -> TurnResult | None:
        """Run a contact's message (None if it is a provider retry already taken in)."""
        account = inbound.account_id
        if inbound.message_id is not None and await db.is_duplicate(
            self.sql, account, inbound.channel, inbound.message_id
        ):
            self.metrics.errors.labels("duplicate_message").inc()
            return None
        started = time.perf_counter()
        try:
            result = await self.engine.router.handle(inbound)
        except (IntegrityError, sqlite3.IntegrityError):
            # The receipt's unique key refused it: a retry that raced its original.
            self.metrics.errors.labels("duplicate_message").inc()
            return None
        self.metrics.turn(result, inbound.channel, time.perf_counter() - started)
        await self.after_turn(result, inbound.channel)
        return result

    async def after_turn(self, result: TurnResult, channel: str) -> None:
        """Push web chat replies; wake the outbox for provider channels."""
        if channel == "web":
            contact = await self.engine.store.get_contact(
                self.settings.account_id, result.contact_id
            )
            session = contact.identities.get("web") if contact else None
            if session is not None:
                frames = reply_frames(result.replies, result.events)
                await self.hub.push((self.settings.account_id, session), frames)
        elif channel in self.worker.by_channel:
            self.worker.notify()

    def limit_contact(self, channel: str, address: str) -> None:
        """429 when one contact sends too fast."""
        wait = self.contact_limiter.check(f"{channel}:{address}")
        if wait is not None:
            self.metrics.errors.labels("rate_limited").inc()
            raise ApiError(
                429,
                "rate_limited",
                f"too many messages from this contact; retry in {wait:.1f}s",
                {"Retry-After": str(max(1, round(wait + 0.5)))},
            )


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorBody, "description": "see the error code"} for code in codes}


TEXT_ANSWER: dict[str, Any] = {
    "description": "the provider's expected answer (plain text, or TwiML for Twilio)",
    "content": {
        "text/plain": {"schema": {"type": "string"}},
        "text/xml": {"schema": {"type": "string"}},
    },
}


class JavaScriptResponse(Response):
    """A script."""

    media_type = "application/javascript"


class RestMessage(BaseModel):
    """A message to the REST channel."""

    sender: str = Field(min_length=1, max_length=200, description="the contact's address")
    message: str = Field(max_length=100_000, description="the text")
    message_id: str | None = Field(None, min_length=1, max_length=200)


class RestReply(BaseModel):
    """A reply from the REST channel."""

    text: str
    bot_id: str | None
    sender: str


class RestAnswer(BaseModel):
    """The REST channel's answer: the turn's replies."""

    conversation_id: str | None
    contact_id: str | None
    replies: list[RestReply]
    duplicate: bool = False
    rejected: str | None = None


class RasaMessage(BaseModel):
    """Rasa's REST channel input."""

    sender: str = Field(min_length=1, max_length=200)
    message: str = Field(max_length=100_000)


class RasaReply(BaseModel):
    """Rasa's REST channel output item."""

    recipient_id: str
    text: str


class Health(BaseModel):
    """Liveness and readiness."""

    status: str
    checks: dict[str, str] = Field(default_factory=dict)


def create_app(
    root: Path | None = None,
    *,
    settings: ServerSettings | None = None,
    engine: Engine | None = None,
    clock: Clock | None = None,
    environ: Mapping[str, str] | None = None,
) -> FastAPI:
    """The Baton app for a project folder (or an open engine, which the caller closes)."""
    if root is None and engine is None:
        raise ValueError("give a project folder or an engine")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = engine is None
        chosen = settings
        if engine is None:
            if root is None:
                raise ValueError("give a project folder or an engine")
            from baton.project import load_project

            chosen = chosen or ServerSettings.from_env(load_project(root), environ)
            opened = await open_engine(root, database=chosen.database_url, clock=clock)
        else:
            opened = engine
            chosen = chosen or ServerSettings.from_env(engine.project, environ)
        # The project, its models and the app live as long as the process: move them
        # out of the collector's sight, so full collections stay short (tail latency).
        if chosen.freeze_gc:
            gc.collect()
            gc.freeze()
        baton = _assemble(opened, chosen)
        app.state.baton = baton
        app.state.baton_api = ApiContext(
            opened,
            baton.sql,
            db.Keys(baton.sql),
            RateLimiter(chosen.key_rate_per_minute),
            baton.after_turn,
        )
        app.title = f"Baton · {opened.project.name}"
        baton.worker.start()
        timers = asyncio.create_task(_fire_timers(opened), name="baton-timers")
        try:
            yield
        finally:
            timers.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await timers
            await baton.worker.stop()
            if own:
                await opened.close()

    app = FastAPI(
        title="Baton",
        version="1",
        description="Many bots, one conversation: the management API, channels and web chat.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(api_router)
    _routes(app)
    app.add_middleware(BodyLimit, limit=lambda: _body_cap(app))
    return app


def _body_cap(app: FastAPI) -> int:
    baton: Baton | None = getattr(app.state, "baton", None)
    return baton.settings.max_body_bytes if baton else 64 * 1024


def _assemble(engine: Engine, settings: ServerSettings) -> Baton:
    sql = db.sql_engine(engine.store)
    metrics = Metrics()

    def observe(channel: str, outcome: str) -> None:
        metrics.deliveries.labels(channel, outcome).inc()

    async def record(row: Mapping[str, Any], status: str, provider_id: str, reason: str) -> None:
        await record_delivery(engine.router, row, status, provider_id, reason)

    worker = OutboxWorker(
        sql,
        settings.channels,
        poll_seconds=settings.outbox_poll_seconds,
        max_attempts=settings.outbox_max_attempts,
        backoff_seconds=settings.outbox_backoff_seconds,
        backoff_cap_seconds=settings.outbox_backoff_cap_seconds,
        timeout_seconds=settings.send_timeout_seconds,
        observe=observe,
        record=record,
    )
    return Baton(
        engine,
        settings,
        sql,
        metrics,
        WebChatHub(),
        worker,
        RateLimiter(settings.contact_rate_per_minute),
        settings.channels,
    )


def _baton(request: Request) -> Baton:
    baton: Baton = request.app.state.baton
    return baton


def _raw(request: Request, body: bytes) -> RawRequest:
    return RawRequest(
        method=request.method,
        url=str(request.url),
        headers={k.lower(): v for k, v in request.headers.items()},
        query=dict(request.query_params),
        body=body,
    )


def _routes(app: FastAPI) -> None:
    @app.get("/health", response_model=Health, tags=["ops"])
    async def health() -> Health:
        """Liveness: the process answers."""
        return Health(status="ok")

    @app.get("/ready", response_model=Health, tags=["ops"], responses={503: {"model": Health}})
    async def ready(request: Request) -> Any:
        """Readiness: the store answers and the outbox worker runs."""
        baton = _baton(request)
        checks: dict[str, str] = {}
        try:
            async with baton.sql.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
            checks["store"] = "ok"
        except Exception as exc:  # any failure means not ready
            checks["store"] = f"failing: {type(exc).__name__}"
        checks["outbox"] = "ok" if baton.worker.alive else "stopped"
        good = all(v == "ok" for v in checks.values())
        body = Health(status="ready" if good else "not_ready", checks=checks)
        return JSONResponse(body.model_dump(), status_code=200 if good else 503)

    @app.get("/metrics", tags=["ops"], response_class=PlainTextResponse)
    async def metrics(request: Request) -> Response:
        """Prometheus metrics."""
        return Response(_baton(request).metrics.render(), media_type="text/plain; version=0.0.4")

    @app.get("/widget.js", tags=["web chat"], response_class=JavaScriptResponse)
    async def widget() -> Response:
        """The embeddable web chat widget: ``<script src="/widget.js"></script>``."""
        return JavaScriptResponse(widget_script())

    @app.get("/", tags=["web chat"], response_class=HTMLResponse)
    async def home(request: Request) -> HTMLResponse:
        """A page with the web chat widget."""
        return HTMLResponse(demo_page(_baton(request).engine.project.name))

    @app.websocket("/channels/web/ws")
    async def web_socket(socket: WebSocket, session: str = Query("", max_length=100)) -> None:
        baton: Baton = socket.app.state.baton
        account = baton.settings.account_id

        async def send(address: str, text: str, message_id: str | None) -> list[dict[str, object]]:
            wait = baton.contact_limiter.check(f"web:{address}")
            if wait is not None:
                return [
                    {
                        "type": "error",
                        "code": "rate_limited",
                        "message": f"too many messages; retry in {wait:.1f}s",
                        "retry_after": round(wait + 0.5),
                    }
                ]
            inbound = Inbound("web", address, text, account, message_id)
            await baton.turn(inbound)  # replies reach every tab of the session via the hub
            return []

        await serve_socket(socket, session, account, baton.hub, baton.engine.store, send)

    @app.post(
        "/webhooks/rest/webhook",
        response_model=list[RasaReply],
        tags=["channels"],
        responses=_errors(413, 429),
    )
    async def rasa(body: RasaMessage, request: Request) -> list[RasaReply]:
        """Rasa-compatible REST channel: ``{"sender", "message"}`` in, replies out."""
        baton = _baton(request)
        baton.limit_contact("rest", body.sender)
        result = await baton.turn(
            Inbound("rest", body.sender, body.message, baton.settings.account_id)
        )
        replies = result.sent if result else []
        return [RasaReply(recipient_id=body.sender, text=r.text) for r in replies]

    @app.post(
        "/channels/rest/webhook",
        response_model=RestAnswer,
        tags=["channels"],
        name="rest_channel",
        responses=_errors(413, 429),
    )
    async def rest(body: RestMessage, request: Request) -> RestAnswer:
        """The REST channel: post a message, get the turn's replies."""
        baton = _baton(request)
        baton.limit_contact("rest", body.sender)
        inbound = Inbound(
            "rest", body.sender, body.message, baton.settings.account_id, body.message_id
        )
        result = await baton.turn(inbound)
        if result is None:
            return RestAnswer(conversation_id=None, contact_id=None, replies=[], duplicate=True)
        return RestAnswer(
            conversation_id=result.conversation_id,
            contact_id=result.contact_id,
            replies=[RestReply(text=r.text, bot_id=r.bot_id, sender=r.sender) for r in result.sent],
            rejected=result.rejected,
        )

    @app.get(
        "/channels/{channel}/webhook",
        tags=["channels"],
        response_class=Response,
        responses={**_errors(400, 403, 404, 405), 200: TEXT_ANSWER},
    )
    async def handshake(channel: str, request: Request) -> Response:
        """A provider's subscription check (``hub.verify_token`` for Meta's platforms)."""
        adapter = _channel(request, channel)
        try:
            answer = adapter.handshake(_raw(request, b""))
        except ChannelError as exc:
            return error_response(exc.status, exc.code, exc.message)
        return PlainTextResponse(answer.body, status_code=answer.status, headers=answer.headers)

    @app.post(
        "/channels/{channel}/webhook",
        tags=["channels"],
        response_class=Response,
        responses={**_errors(400, 403, 404, 413, 429), 200: TEXT_ANSWER},
    )
    async def webhook(channel: str, request: Request) -> Response:
        """A provider's webhook: signature checked, messages parsed and run."""
        baton = _baton(request)
        adapter = _channel(request, channel)
        raw = _raw(request, await request.body())
        try:
            adapter.verify(raw)
            incoming = adapter.parse(raw)
        except ChannelError as exc:
            baton.metrics.errors.labels(exc.code).inc()
            return error_response(exc.status, exc.code, exc.message)
        for item in incoming:
            baton.limit_contact(adapter.channel, item.address)
        for item in incoming:
            unsupported = (item.detail or "non-text") if item.kind == "unsupported" else None
            await baton.turn(
                Inbound(
                    adapter.channel,
                    item.address,
                    item.text,
                    baton.settings.account_id,
                    item.message_id,
                    unsupported,
                )
            )
        body, media_type = adapter.acknowledge()
        return Response(body, media_type=media_type)


def _channel(request: Request, name: str) -> Channel:
    adapter = _baton(request).channels.get(name)
    if adapter is None:
        raise ApiError(404, "unknown_channel", f"no channel {name!r} is configured on this server")
    return adapter


__all__ = ["Baton", "create_app"]


def app_from_env() -> FastAPI:
    """An app for ``uvicorn --factory baton.server.app:app_from_env`` (``BATON_PROJECT``)."""
    import os

    from baton.project import load_project

    root = Path(os.environ.get("BATON_PROJECT", "."))
    settings = ServerSettings.from_env(load_project(root))
    settings.freeze_gc = True
    return create_app(root, settings=settings)


async def _fire_timers(engine: Engine) -> None:
    """Fire workflow waits and no-reply watches while the server runs."""
    from baton.runtime.workflows import run_timers_forever

    while True:
        try:
            await run_timers_forever(engine)
        except asyncio.CancelledError:
            raise
        except Exception:  # a broken timer must not stop the others; retry later
            log.exception("firing timers failed; retrying in 5 s")
            await asyncio.sleep(5)
