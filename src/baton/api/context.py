"""What the API's routes share: the engine, the keys, the limits and a hook after turns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager as AsyncContextManager
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncEngine

from baton.api.db import ApiKey, Keys
from baton.api.errors import ApiError
from baton.api.limits import RateLimiter
from baton.router.locks import KeyedLocks
from baton.router.messages import TurnResult
from baton.runtime.engine import Engine

AfterTurn = Callable[[TurnResult, str], Awaitable[None]]


async def _nothing(_result: TurnResult, _channel: str) -> None:
    return None


@dataclass
class ApiContext:
    """Set on ``app.state.baton_api`` by the server's composition root."""

    engine: Engine
    sql: AsyncEngine
    keys: Keys
    key_limiter: RateLimiter
    after_turn: AfterTurn = _nothing
    #: one API change per contact at a time (see ``contact_lock``)
    contact_locks: KeyedLocks = field(default_factory=KeyedLocks)

    def contact_lock(self, account_id: str, contact_id: str) -> AsyncContextManager[None]:
        """Held around an API request's read of a contact and the turns it runs.

        Each turn reads the contact under the router's lock, so turns never drop each
        other's changes; this lock keeps one request's parts together (its commands, the
        language it writes outside a turn, and the contact it answers with), so two
        concurrent requests for one contact (in this process) don't interleave.
        """
        return self.contact_locks.hold(f"{account_id}/{contact_id}")


def api_context(request: Request) -> ApiContext:
    """The context the server installed."""
    context: ApiContext = request.app.state.baton_api
    return context


_bearer = HTTPBearer(auto_error=False, description="an API key from `baton keys create`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="the same key")


async def current_key(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header: Annotated[str | None, Depends(_header)],
) -> ApiKey:
    """The caller's live API key (401 otherwise), rate-limited per key (429)."""
    context = api_context(request)
    secret = bearer.credentials if bearer is not None else header
    unauthorized = {"WWW-Authenticate": "Bearer"}
    if not secret:
        raise ApiError(
            401, "missing_api_key", "send an API key as `Authorization: Bearer <key>`", unauthorized
        )
    key = await context.keys.authenticate(secret)
    if key is None:
        raise ApiError(401, "invalid_api_key", "the API key is unknown or revoked", unauthorized)
    wait = context.key_limiter.check(key.key_id)
    if wait is not None:
        raise ApiError(
            429,
            "rate_limited",
            f"too many requests for this key; retry in {wait:.1f}s",
            {"Retry-After": str(max(1, round(wait + 0.5)))},
        )
    return key
