"""Meta's platforms: WhatsApp Cloud API, Messenger and Instagram messaging.

All three subscribe with the ``hub.verify_token`` handshake and sign webhooks
with ``X-Hub-Signature-256`` (HMAC-SHA256 of the raw body with the app secret).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

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


def hub_signature(app_secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value for a body: ``sha256=<hex>``."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class _MetaChannel:
    app_secret: str
    verify_token: str
    access_token: str
    base_url: str = "https://graph.facebook.com"
    api_version: str = "v21.0"

    def handshake(self, request: RawRequest) -> Handshake:
        """Echo ``hub.challenge`` when the mode is subscribe and the token matches."""
        mode = request.query.get("hub.mode")
        token = request.query.get("hub.verify_token", "")
        challenge = request.query.get("hub.challenge")
        if mode != "subscribe" or challenge is None:
            raise ChannelError("bad_handshake", "expected hub.mode=subscribe and hub.challenge")
        if not hmac.compare_digest(token.encode(), self.verify_token.encode()):
            raise ChannelError("bad_verify_token", "hub.verify_token does not match", 403)
        return Handshake(challenge)

    def verify(self, request: RawRequest) -> None:
        """Check ``X-Hub-Signature-256`` over the raw body."""
        signature = request.headers.get("x-hub-signature-256")
        if not signature:
            raise SignatureRefused("the X-Hub-Signature-256 header is missing")
        if not hmac.compare_digest(hub_signature(self.app_secret, request.body), signature):
            raise SignatureRefused("the X-Hub-Signature-256 does not match the body")

    def acknowledge(self) -> tuple[str, str]:
        """Meta only needs a 200."""
        return "EVENT_RECEIVED", "text/plain"

    def _payload(self, request: RawRequest) -> dict[str, Any]:
        try:
            payload = json.loads(request.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ChannelError("bad_body", "the webhook body is not JSON") from exc
        if not isinstance(payload, dict):
            raise ChannelError("bad_body", "the webhook body is not a JSON object")
        return payload

    async def _post(
        self, client: httpx.AsyncClient, url: str, body: dict[str, Any], key: str
    ) -> dict[str, Any]:
        try:
            response = await client.post(
                url,
                json=body,
                headers={
                    "Authorization": f"Bearer {self.access_token}",
                    "X-Idempotency-Key": key,
                },
            )
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}", retry=True) from exc
        if response.status_code >= 300:
            raise refused_by_status(response)
        try:
            answer = response.json()
        except ValueError as exc:
            raise DeliveryFailed("the send API answered without JSON", retry=False) from exc
        if not isinstance(answer, dict):
            raise DeliveryFailed("the send API answered without a JSON object", retry=False)
        return answer


def _items(value: object) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _whatsapp_message(sender: str, mid: str, message: dict[str, Any]) -> Incoming:
    """A text message's body; a text message without one is empty text (the router
    rejects it as ``empty``), not an unsupported type; other types are unsupported."""
    kind = message.get("type")
    if kind != "text":
        return Incoming(sender, "", mid, "unsupported", str(kind))
    text = message.get("text")
    body = text.get("body") if isinstance(text, dict) else None
    return Incoming(sender, body if isinstance(body, str) else "", mid)


@dataclass
class WhatsAppChannel(_MetaChannel):
    """WhatsApp Cloud API: ``entry[].changes[].value.messages[]``; sends to /messages."""

    phone_number_id: str = ""
    name: str = "whatsapp"
    channel: str = "whatsapp"

    def parse(self, request: RawRequest) -> list[Incoming]:
        """Text messages; other types (image, audio, location…) as unsupported."""
        payload = self._payload(request)
        found: list[Incoming] = []
        for entry in _items(payload.get("entry")):
            for change in _items(entry.get("changes")):
                value = change.get("value")
                if not isinstance(value, dict):
                    continue
                for message in _items(value.get("messages")):
                    sender, mid = message.get("from"), message.get("id")
                    if not isinstance(sender, str) or not isinstance(mid, str):
                        continue
                    found.append(_whatsapp_message(sender, mid, message))
        return found

    async def send(self, client: httpx.AsyncClient, message: Outgoing) -> str:
        """POST a text message to ``/{version}/{phone_number_id}/messages``."""
        url = f"{self.base_url.rstrip('/')}/{self.api_version}/{self.phone_number_id}/messages"
        body = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": message.address,
            "type": "text",
            "text": {"preview_url": False, "body": message.text},
        }
        answer = await self._post(client, url, body, message.idempotency_key)
        messages = _items(answer.get("messages"))
        if not messages or "id" not in messages[0]:
            raise DeliveryFailed("WhatsApp answered without a message id", retry=False)
        return str(messages[0]["id"])


@dataclass
class MessengerChannel(_MetaChannel):
    """Messenger (``object: page``) and, with ``platform="instagram"``, Instagram."""

    platform: str = "page"
    name: str = "messenger"
    channel: str = "messenger"

    def parse(self, request: RawRequest) -> list[Incoming]:
        """``entry[].messaging[]`` events with a ``message``; echoes and reads skipped."""
        payload = self._payload(request)
        if payload.get("object") not in (self.platform, None):
            raise ChannelError(
                "wrong_object", f"expected object {self.platform!r}, got {payload.get('object')!r}"
            )
        found: list[Incoming] = []
        for entry in _items(payload.get("entry")):
            for event in _items(entry.get("messaging")):
                sender = event.get("sender")
                message = event.get("message")
                if not isinstance(sender, dict) or not isinstance(message, dict):
                    continue
                if message.get("is_echo"):
                    continue
                psid, mid = sender.get("id"), message.get("mid")
                if not isinstance(psid, str) or not isinstance(mid, str):
                    continue
                text = message.get("text")
                if isinstance(text, str):
                    found.append(Incoming(psid, text, mid))
                else:
                    kinds = [str(a.get("type")) for a in _items(message.get("attachments"))]
                    found.append(Incoming(psid, "", mid, "unsupported", ",".join(kinds) or "?"))
        return found

    async def send(self, client: httpx.AsyncClient, message: Outgoing) -> str:
        """POST to the Send API, ``/{version}/me/messages``."""
        url = f"{self.base_url.rstrip('/')}/{self.api_version}/me/messages"
        body = {
            "recipient": {"id": message.address},
            "messaging_type": "RESPONSE",
            "message": {"text": message.text},
        }
        answer = await self._post(client, url, body, message.idempotency_key)
        if "message_id" not in answer:
            raise DeliveryFailed("the Send API answered without a message_id", retry=False)
        return str(answer["message_id"])


def instagram_channel(
    app_secret: str, verify_token: str, access_token: str, base_url: str, api_version: str
) -> MessengerChannel:
    """Instagram messaging: Messenger's format with ``object: instagram``."""
    return MessengerChannel(
        app_secret,
        verify_token,
        access_token,
        base_url,
        api_version,
        platform="instagram",
        name="instagram",
        channel="instagram",
    )
