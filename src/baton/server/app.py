"""The composition root: settings → engine → channels → outbox worker → FastAPI app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from baton.api import db
from baton.api.context import ApiContext
from baton.api.errors import install_error_handlers
from baton.api.limits import RateLimiter
from baton.api.routes import router as api_router
from baton.domain.ports import Clock
from baton.runtime.engine import Engine, open_engine
from baton.server import collector
from baton.server.access_log import hide_secret_queries
from baton.server.core import Baton
from baton.server.delivery import record_delivery
from baton.server.limits import BodyLimit
from baton.server.metrics import Metrics
from baton.server.outbox import OutboxWorker
from baton.server.relay import WebChatRelay
from baton.server.rest import FastChannels
from baton.server.routes import add_routes
from baton.server.settings import ServerSettings
from baton.server.timers import TimerSchedule
from baton.server.webchat import WebChatHub, bot_names

log = logging.getLogger(__name__)


class BatonApp(FastAPI):
    """FastAPI, with the REST channels' common case served before its middleware stack."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fast = FastChannels(super().__call__)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = self.fast.handler(scope)
        if handler is None:
            await super().__call__(scope, receive, send)
        else:
            await self.fast.serve(scope, receive, send, handler)


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
            collector.freeze()
        baton = _assemble(opened, chosen)
        app.state.baton = baton
        if isinstance(app, BatonApp):
            app.fast.baton = baton
        app.state.baton_api = ApiContext(
            opened,
            baton.sql,
            db.Keys(baton.sql),
            RateLimiter(chosen.key_rate_per_minute, refused=baton.rate_limited),
            baton.after_turn,
        )
        app.title = f"Baton · {opened.project.name}"
        baton.worker.start()
        tasks = [asyncio.create_task(baton.timers.run(), name="baton-timers")]
        if baton.relay is not None and baton.relay.enabled:
            tasks.append(asyncio.create_task(baton.relay.run(), name="baton-webchat-listen"))
        if chosen.freeze_gc and chosen.gc_freeze_seconds > 0:
            refreeze = collector.freeze_forever(chosen.gc_freeze_seconds, chosen.gc_thaw_minutes)
            tasks.append(asyncio.create_task(refreeze, name="baton-gc"))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await baton.worker.stop()
            if own:
                await opened.close()

    app = BatonApp(
        title="Baton",
        version="1",
        docs_url=None,  # routes.py serves /docs and /redoc with the title escaped
        redoc_url=None,
        description="Many bots, one conversation: the management API, channels and web chat.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    hide_secret_queries()
    app.include_router(api_router)
    add_routes(app)
    app.add_middleware(
        BodyLimit,
        limit=lambda scope: _body_cap(app, scope["path"]),
        body_seconds=lambda: _settings(app).body_seconds,
    )
    return app


#: a provider's webhook (``/channels/messenger/webhook``...), not Baton's own REST channel
_PROVIDER_WEBHOOK = re.compile(r"^/channels/(?!rest/)([^/]+)/webhook$")


def _settings(app: FastAPI) -> ServerSettings:
    baton: Baton | None = getattr(app.state, "baton", None)
    return baton.settings if baton else ServerSettings()


def _body_cap(app: FastAPI, path: str) -> int:
    """The body cap of a request: webhooks of providers that batch messages have their
    own, larger one (Meta's may be up to 3 MB); Twilio's carry one message, and an
    unsigned 3 MB form cost the event loop 0.6 s to refuse."""
    settings = _settings(app)
    webhook = _PROVIDER_WEBHOOK.match(path)
    channel = settings.channels.get(webhook[1]) if webhook else None
    if channel is not None and channel.batched:
        return settings.max_webhook_bytes
    return settings.max_body_bytes


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
    hub = WebChatHub(bot_names(engine.project))
    limiter = RateLimiter(
        settings.contact_rate_per_minute, refused=lambda: metrics.error("rate_limited")
    )
    baton = Baton(
        engine,
        settings,
        sql,
        metrics,
        hub,
        worker,
        limiter,
        TimerSchedule(engine, sql, rescan_seconds=settings.timer_rescan_seconds),
        settings.channels,
        WebChatRelay(sql, hub, engine.store),
    )
    baton.timers.after_fired = baton.after_turn  # a timer's replies reach open web chats
    engine.router.committed = baton.push_web  # web chat frames leave in the log's order
    return baton


__all__ = ["Baton", "BatonApp", "create_app"]


def app_from_env() -> FastAPI:
    """An app for ``uvicorn --factory baton.server.app:app_from_env`` (``BATON_PROJECT``)."""
    import os

    from baton.project import load_project

    root = Path(os.environ.get("BATON_PROJECT", "."))
    settings = ServerSettings.from_env(load_project(root))
    settings.freeze_gc = True
    return create_app(root, settings=settings)
