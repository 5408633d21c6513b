"""The ``webhook`` action: a JSON POST, HMAC-signed, with a timeout and retries.

Headers sent:

- ``X-Baton-Timestamp``: seconds since the epoch;
- ``X-Baton-Signature``: ``sha256=<hex>``, the HMAC-SHA256 of ``<timestamp>.<body>``
  with the workflow's secret (absent without a secret);
- ``Idempotency-Key``: the same on every attempt of one action run, so a
  receiver can drop the repeats that retries (or a retried turn) cause.

A 2xx answer succeeds; 408, 429 and 5xx answers and network errors are retried
(backoff 0.2 s, 0.4 s, …); other answers fail at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

RETRIED = {408, 425, 429}
BACKOFF_SECONDS = 0.2


@dataclass(frozen=True, slots=True)
class WebhookResult:
    """How a webhook call went."""

    ok: bool
    status: int | None
    attempts: int
    error: str = ""


class WebhookSender(Protocol):
    """Posts a signed body; never raises for HTTP or network failures."""

    async def __call__(
        self,
        url: str,
        body: dict[str, Any],
        *,
        secret: str | None,
        timeout: float,
        retries: int,
        key: str,
    ) -> WebhookResult:
        """Send ``body`` to ``url``."""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """Whether ``signature`` is the one :func:`sign` gives (constant time)."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


async def post_webhook(
    url: str,
    body: dict[str, Any],
    *,
    secret: str | None,
    timeout: float,
    retries: int,
    key: str,
) -> WebhookResult:
    """POST ``body`` as JSON; retry transient failures up to ``retries`` times."""
    data = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    error = ""
    status: int | None = None
    async with httpx.AsyncClient(timeout=timeout) as client:
        for attempt in range(1, retries + 2):
            stamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "baton-workflows",
                "X-Baton-Timestamp": stamp,
                "Idempotency-Key": key,
            }
            if secret:
                headers["X-Baton-Signature"] = sign(secret, stamp, data)
            try:
                response = await client.post(url, content=data, headers=headers)
            except httpx.HTTPError as failure:
                status, error = None, f"{type(failure).__name__}: {failure}".rstrip(": ")
            else:
                status = response.status_code
                if 200 <= status < 300:
                    return WebhookResult(True, status, attempt)
                error = f"HTTP {status}"
                if status < 500 and status not in RETRIED:
                    return WebhookResult(False, status, attempt, error)
            if attempt <= retries:
                await asyncio.sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
    return WebhookResult(False, status, retries + 1, error)
