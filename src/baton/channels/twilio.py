"""Twilio Programmable Messaging (SMS): signed form webhooks in, Messages API out."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import httpx

from baton.channels.base import (
    ChannelError,
    DeliveryFailed,
    Handshake,
    Incoming,
    Outgoing,
    RawRequest,
    SignatureRefused,
    refused_by_status,
)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def twilio_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """Twilio's signature: HMAC-SHA1 of the URL followed by the sorted params, base64."""
    data = url + "".join(f"{k}{params[k]}" for k in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _without_port(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def _with_port(url: str) -> str:
    parts = urlsplit(url)
    if parts.port is not None:
        return url
    port = 443 if parts.scheme == "https" else 80
    netloc = f"{parts.hostname}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _media_count(value: str) -> int:
    """``NumMedia`` as a number (missing or empty: 0); anything else is a bad body."""
    if not value:
        return 0
    try:
        return int(value)
    except ValueError as exc:
        raise ChannelError(
            "bad_body", f"NumMedia must be a whole number of attachments, not {value[:20]!r}"
        ) from exc


@dataclass
class TwilioChannel:
    """SMS through Twilio; ``base_url`` is ``https://api.twilio.com`` in production."""

    batched: ClassVar[bool] = False  # one message a webhook
    account_sid: str
    auth_token: str
    from_number: str
    base_url: str = "https://api.twilio.com"
    public_url: str | None = None
    name: str = "twilio"
    channel: str = "sms"

    def handshake(self, request: RawRequest) -> Handshake:
        """Twilio has no subscription check; a GET is not a webhook."""
        raise ChannelError("method_not_allowed", "Twilio webhooks are POSTed", 405)

    def _params(self, request: RawRequest, *, strict: bool = True) -> dict[str, str]:
        """The form's params; bytes that are not UTF-8 are ``invalid_encoding`` (when
        checking a signature, ``strict=False``: they can't match, since Twilio signs UTF-8,
        so a forged body is refused as forged)."""
        try:
            text = request.body.decode("utf-8", "strict" if strict else "replace")
        except UnicodeDecodeError as exc:
            message = (
                f"the form body is not UTF-8 (byte 0x{exc.object[exc.start]:02x} at position "
                f"{exc.start})"
            )
            raise ChannelError("invalid_encoding", message) from exc
        return dict(parse_qsl(text, keep_blank_values=True))

    def verify(self, request: RawRequest) -> None:
        """Check ``X-Twilio-Signature`` against the URL Twilio called and the form params."""
        signature = request.headers.get("x-twilio-signature")
        if not signature:
            raise SignatureRefused("the X-Twilio-Signature header is missing")
        url = request.url
        if self.public_url:  # behind a proxy: the public address, with the query Twilio sent
            query = urlsplit(request.url).query
            url = f"{self.public_url}?{query}" if query else self.public_url
        params = self._params(request, strict=False)
        # Twilio signs the URL as configured; accept it with or without the default port.
        for candidate in {url, _without_port(url), _with_port(url)}:
            expected = twilio_signature(self.auth_token, candidate, params)
            if hmac.compare_digest(expected, signature):
                if params.get("AccountSid", self.account_sid) != self.account_sid:
                    raise SignatureRefused("the request is for another Twilio account")
                return
        raise SignatureRefused("the X-Twilio-Signature does not match this request")

    def parse(self, request: RawRequest) -> list[Incoming]:
        """An inbound SMS: From, Body, MessageSid; media-only messages are unsupported.

        A status callback (an outbound message's ``MessageStatus``: queued, sent,
        delivered, failed...) carries ``From`` and ``MessageSid`` too, but no ``Body``:
        it is not a message (taken as one, each made an empty message from Baton's own
        number). An inbound message always has ``Body``, empty for media alone.
        """
        params = self._params(request)
        sender, sid = params.get("From"), params.get("MessageSid") or params.get("SmsSid")
        if not sender or not sid or "Body" not in params:
            return []
        media = _media_count(params.get("NumMedia", ""))
        body = params.get("Body", "")
        if media > 0 and not body.strip():
            return [Incoming(sender, "", sid, "unsupported", "media")]
        return [Incoming(sender, body, sid)]

    def acknowledge(self) -> tuple[str, str]:
        """Empty TwiML: replies go out through the outbox, not in the answer."""
        return EMPTY_TWIML, "text/xml"

    async def send(self, client: httpx.AsyncClient, message: Outgoing) -> str:
        """POST to the Messages resource, form-encoded, with an idempotency token."""
        url = f"{self.base_url.rstrip('/')}/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        try:
            response = await client.post(
                url,
                data={"To": message.address, "From": self.from_number, "Body": message.text},
                auth=(self.account_sid, self.auth_token),
                headers={"I-Twilio-Idempotency-Token": message.idempotency_key},
            )
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}", retry=True) from exc
        if response.status_code >= 300:
            raise refused_by_status(response)
        try:
            return str(response.json()["sid"])
        except (ValueError, KeyError, TypeError) as exc:
            raise DeliveryFailed("Twilio answered without a message sid", retry=False) from exc
