"""The channel protocol: verify a webhook, parse it to messages, send a reply.

Adapters see raw requests (method, URL, headers, query, body bytes), never a
web framework's objects, so they can be tested, and reused, without a server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import ClassVar, Literal, Protocol

import httpx


class ChannelError(Exception):
    """A webhook a channel refuses; ``code`` is stable, ``status`` the HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class SignatureRefused(ChannelError):
    """The request's signature is missing or does not match its body."""

    def __init__(self, message: str) -> None:
        super().__init__("bad_signature", message, 403)


class DeliveryFailed(Exception):
    """A send the provider refused; ``retry`` says whether trying again may help, and
    ``retry_after`` how many seconds the provider asked to wait first (``Retry-After``)."""

    def __init__(self, reason: str, *, retry: bool, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class RawRequest:
    """An HTTP request as received: header names lower-case."""

    method: str
    url: str
    headers: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class Incoming:
    """One message parsed from a webhook: text, or a type the channel can't take."""

    address: str
    text: str
    message_id: str | None = None
    kind: Literal["text", "unsupported"] = "text"
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A reply to deliver: to whom, what, and the key that makes a retry harmless."""

    address: str
    text: str
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class Handshake:
    """A verification challenge's answer (plain text) for a GET on the webhook."""

    body: str
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


class Channel(Protocol):
    """A provider channel: ``name`` in the URL, ``channel`` in the conversation."""

    name: str
    channel: str
    #: a webhook may carry many messages (Meta batches them): it gets the larger body cap
    #: (``BATON_MAX_WEBHOOK_BYTES``); a webhook of one message gets ``BATON_MAX_BODY_BYTES``
    batched: ClassVar[bool]

    def handshake(self, request: RawRequest) -> Handshake:
        """Answer a GET on the webhook (a subscription check), or raise ChannelError."""

    def verify(self, request: RawRequest) -> None:
        """Raise SignatureRefused unless the request is signed by the provider."""

    def parse(self, request: RawRequest) -> list[Incoming]:
        """The messages in a verified webhook (none for status callbacks)."""

    def acknowledge(self) -> tuple[str, str]:
        """The (body, content type) the provider expects as a 200 answer."""

    async def send(self, client: httpx.AsyncClient, message: Outgoing) -> str:
        """Deliver a reply; return the provider's message id or raise DeliveryFailed."""


def refused_by_status(response: httpx.Response) -> DeliveryFailed:
    """A DeliveryFailed for an error answer: 429 and 5xx are worth retrying, not before
    the ``Retry-After`` the provider gave."""
    retry = response.status_code == 429 or response.status_code >= 500
    text = response.text[:300]
    wait = retry_after(response) if retry else None
    return DeliveryFailed(f"HTTP {response.status_code}: {text}", retry=retry, retry_after=wait)


def retry_after(response: httpx.Response) -> float | None:
    """The seconds a ``Retry-After`` header asks to wait (a number or an HTTP date,
    RFC 9110), or None without a readable one."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = (moment - datetime.now(UTC)).total_seconds()
    if seconds != seconds or seconds == float("inf"):  # NaN, inf
        return None
    return max(0.0, seconds)
