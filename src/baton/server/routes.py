"""The server's routes: ops, web chat, channels (the REST ones live in ``rest``)."""

from __future__ import annotations

import html
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Query, Request, WebSocket
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field

from baton.api.errors import ApiError, error_response, error_responses
from baton.channels.base import Channel, ChannelError, RawRequest
from baton.router.messages import Inbound
from baton.server.core import Baton
from baton.server.rest import add_rest_routes
from baton.server.webchat import (
    demo_page,
    rejection_frames,
    serve_socket,
    widget_script,
)

TEXT_ANSWER: dict[str, Any] = {
    "description": "the provider's expected answer (plain text, or TwiML for Twilio)",
    "content": {
        "text/plain": {"schema": {"type": "string"}},
        "text/xml": {"schema": {"type": "string"}},
    },
}


class JavaScriptResponse(Response):
    """A script, in UTF-8 (the widget holds non-ASCII text; without the charset a browser
    decodes it in the embedding page's encoding)."""

    media_type = "application/javascript; charset=utf-8"


class Health(BaseModel):
    """Liveness and readiness."""

    status: str
    checks: dict[str, str] = Field(default_factory=dict)


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


def _channel(request: Request, name: str) -> Channel:
    adapter = _baton(request).channels.get(name)
    if adapter is None and name == "rest":  # its own route takes POST; a GET lands here
        raise ApiError(
            405, "method_not_allowed", "the REST channel takes POST /channels/rest/webhook"
        )
    if adapter is None:
        raise ApiError(404, "unknown_channel", f"no channel {name!r} is configured on this server")
    return adapter


def add_routes(app: FastAPI) -> None:
    """Ops, web chat, the REST channels and provider webhook routes."""
    _docs(app)
    _ops(app)
    _web_chat(app)
    add_rest_routes(app)  # before /channels/{channel}/webhook, which would take its path
    _providers(app)


def _docs(app: FastAPI) -> None:
    """FastAPI's /docs and /redoc pages, with the title (the project's name) escaped:
    FastAPI writes it into the page's ``<title>`` as it is."""

    @app.get("/docs", include_in_schema=False)
    async def swagger() -> HTMLResponse:
        title = html.escape(f"{app.title} - Swagger UI")
        return get_swagger_ui_html(openapi_url=app.openapi_url or "", title=title)

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        title = html.escape(f"{app.title} - ReDoc")
        return get_redoc_html(openapi_url=app.openapi_url or "", title=title)


def _ops(app: FastAPI) -> None:
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
            problem = await baton.engine.store.problem()  # a SQLite file answers SELECT 1
            checks["store"] = "ok" if problem is None else f"failing: {problem}"
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


def _web_chat(app: FastAPI) -> None:
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
            result = await baton.turn(inbound)  # replies reach every tab through the hub
            return rejection_frames(result, message_id)

        await serve_socket(
            socket,
            session,
            account,
            baton.hub,
            baton.engine.store,
            send,
            max_bytes=baton.settings.max_body_bytes,
        )


def _providers(app: FastAPI) -> None:
    @app.get(
        "/channels/{channel}/webhook",
        tags=["channels"],
        response_class=Response,
        responses={**error_responses(400, 403, 404, 405, 422), 200: TEXT_ANSWER},
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
        responses={**error_responses(400, 403, 404, 413, 422), 200: TEXT_ANSWER},
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
            baton.metrics.error(exc.code)
            return error_response(exc.status, exc.code, exc.message)
        for item in incoming:
            # a sender over its limit is refused per message, not the whole batch (other
            # senders' messages in it, which the provider would retry, or drop: Twilio
            # does not retry a 429): the message is kept as rejected, and not answered
            over = baton.contact_limiter.check(f"{adapter.channel}:{item.address}") is not None
            unsupported = (item.detail or "non-text") if item.kind == "unsupported" else None
            await baton.turn(
                Inbound(
                    adapter.channel,
                    item.address,
                    item.text,
                    baton.settings.account_id,
                    item.message_id,
                    unsupported,
                    rate_limited=over,
                )
            )
        body, media_type = adapter.acknowledge()
        return Response(body, media_type=media_type)
