"""Meta's platforms: WhatsApp Cloud API, Messenger and Instagram messaging.

All three subscribe with the ``hub.verify_token`` handshake and sign webhooks
with ``X-Hub-Signature-256`` (HMAC-SHA256 of the raw body with the app secret).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any, ClassVar

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
    batched: ClassVar[bool] = True
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
        if not self.verify_token:  # unset: any handshake would pass with an empty token
            detail = "no verify token is configured (META_VERIFY_TOKEN): subscribing is refused"
            raise ChannelError("bad_verify_token", detail, 403)
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
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # nested too deep
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
            raise _refused(response)
        try:
            answer = response.json()
        except ValueError as exc:
            raise DeliveryFailed("the send API answered without JSON", retry=False) from exc
        if not isinstance(answer, dict):
            raise DeliveryFailed("the send API answered without a JSON object", retry=False)
        return answer


def _items(value: object) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


# Graph API error codes worth retrying: unknown (1), temporary service (2), API rate
# limits (4, 17, 32, 613), WhatsApp rate limit (80007), throughput reached (130429),
# something went wrong (131000), service unavailable (131016), pair rate limit
# (131056), server temporarily unavailable (133004). Any other code is permanent
# (e.g. 100 invalid parameter, 190 token expired, 131026 undeliverable, 131047
# re-engagement window) unless the error says ``"is_transient": true``.
_TRANSIENT_CODES = frozenset({1, 2, 4, 17, 32, 613, 80007, 130429, 131000, 131016, 131056, 133004})


def _graph_error(response: httpx.Response) -> dict[str, Any] | None:
    """The ``error`` object of a Graph API error answer, if it has one."""
    try:
        answer = response.json()
    except ValueError:
        return None
    error = answer.get("error") if isinstance(answer, dict) else None
    return error if isinstance(error, dict) else None


def _refused(response: httpx.Response) -> DeliveryFailed:
    """A DeliveryFailed for a Graph API error answer.

    Meta answers ``{"error": {"message", "type", "code", "error_subcode",
    "is_transient", "error_data": {"details"}, "fbtrace_id"}}``, often with HTTP 400
    even when throttling, so the error's ``code`` and ``is_transient`` decide as well
    as the status: retry when either says so (429 and 5xx, with their Retry-After, as
    for any provider). The reason names the code, subcode, message and details.
    """
    by_status = refused_by_status(response)
    error = _graph_error(response)
    if error is None:
        return by_status
    code = error.get("code")
    known = isinstance(code, int) and not isinstance(code, bool)
    transient = error.get("is_transient") is True or (known and code in _TRANSIENT_CODES)
    message = str(error.get("message") or "").strip()
    if known and not message.startswith(f"(#{code})"):
        message = f"(#{code}) {message}".rstrip()
    subcode = error.get("error_subcode")
    if isinstance(subcode, int) and not isinstance(subcode, bool):
        message += f" [subcode {subcode}]"
    data = error.get("error_data")
    details = data.get("details") if isinstance(data, dict) else None
    if isinstance(details, str) and details:
        message += f": {details}"
    if isinstance(error.get("fbtrace_id"), str):
        message += f" (fbtrace_id {error['fbtrace_id']})"
    return DeliveryFailed(
        f"HTTP {response.status_code}: {message[:300]}",
        retry=by_status.retry or transient,
        retry_after=by_status.retry_after,
    )


def _whatsapp_text(message: dict[str, Any]) -> str | None:
    """The text a WhatsApp message carries, or None for a type with none to take.

    ``text``: ``text.body`` (a text without one is empty text, which the router
    rejects as ``empty``, not an unsupported type). ``interactive``: the tapped
    ``button_reply.title`` or ``list_reply.title``. ``button`` (a template's
    quick-reply button): ``button.text``. ``image``, ``video``, ``document``: the
    ``caption``, if any; the attachment itself can't be carried, only its caption.
    Anything else (audio, sticker, location, contacts, reaction, a flow's
    ``nfm_reply``, media without a caption...) has no text.
    """
    kind = message.get("type")
    part = message.get(kind) if isinstance(kind, str) else None
    if not isinstance(part, dict):
        part = {}
    if kind == "text":
        body = part.get("body")
        return body if isinstance(body, str) else ""
    value: object = None
    if kind == "interactive":
        for reply in ("button_reply", "list_reply"):
            choice = part.get(reply)
            if isinstance(choice, dict):
                value = choice.get("title")
                break
    elif kind == "button":
        value = part.get("text")
    elif kind in ("image", "video", "document"):
        value = part.get("caption")
    return value if isinstance(value, str) and value else None


def _whatsapp_message(sender: str, mid: str, message: dict[str, Any]) -> Incoming:
    """A message's text (see ``_whatsapp_text``), or ``unsupported`` with its type.

    A reaction is a message in WhatsApp's webhook (``type: reaction``); it is kept
    as an unsupported ``reaction`` on purpose: recorded for the operator, not answered.
    """
    text = _whatsapp_text(message)
    if text is None:
        return Incoming(sender, "", mid, "unsupported", str(message.get("type")))
    return Incoming(sender, text, mid)


@dataclass
class WhatsAppChannel(_MetaChannel):
    """WhatsApp Cloud API: ``entry[].changes[].value.messages[]``; sends to /messages."""

    phone_number_id: str = ""
    name: str = "whatsapp"
    channel: str = "whatsapp"

    def parse(self, request: RawRequest) -> list[Incoming]:
        """Text, button and list replies, captions; other types as unsupported."""
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


def _postback(psid: str, event: dict[str, Any], postback: dict[str, Any]) -> Incoming:
    """A tapped postback button, Get Started or persistent-menu item, as text: the
    ``title`` the user saw (else the ``payload``). Its id is the postback's ``mid``,
    else one derived from sender, timestamp, payload and title, so a redelivery dedupes."""
    title, payload = postback.get("title"), postback.get("payload")
    text = title if isinstance(title, str) and title else payload
    mid = postback.get("mid")
    if not isinstance(mid, str) or not mid:
        seed = json.dumps([psid, event.get("timestamp"), payload, title])
        mid = "postback:" + hashlib.sha256(seed.encode()).hexdigest()[:32]
    return Incoming(psid, text if isinstance(text, str) else "", mid)


def _messenger_event(event: dict[str, Any]) -> Incoming | None:
    """One ``messaging[]`` event from Messenger or Instagram (same format).

    A ``message`` with ``text`` (a quick reply's tap included: its ``text`` is the
    option's title) is text; one with only attachments is unsupported, with their
    types. A ``postback`` is the user's choice, taken as text (see ``_postback``).
    Skipped: echoes of the page's own messages (``is_echo``), Instagram unsends
    (``is_deleted``), and events that are not messages: ``reaction``, ``read``,
    ``delivery``, ``referral``, ``optin``, edits, or a sender with no ``id``.
    """
    sender = event.get("sender")
    psid = sender.get("id") if isinstance(sender, dict) else None
    if not isinstance(psid, str):
        return None
    postback = event.get("postback")
    if isinstance(postback, dict):
        return _postback(psid, event, postback)
    message = event.get("message")
    if not isinstance(message, dict) or message.get("is_echo") or message.get("is_deleted"):
        return None
    mid = message.get("mid")
    if not isinstance(mid, str):
        return None
    text = message.get("text")
    if isinstance(text, str):
        return Incoming(psid, text, mid)
    kinds = [str(a.get("type")) for a in _items(message.get("attachments"))]
    return Incoming(psid, "", mid, "unsupported", ",".join(kinds) or "?")


@dataclass
class MessengerChannel(_MetaChannel):
    """Messenger (``object: page``) and, with ``platform="instagram"``, Instagram."""

    platform: str = "page"
    name: str = "messenger"
    channel: str = "messenger"

    def parse(self, request: RawRequest) -> list[Incoming]:
        """``entry[].messaging[]`` events: messages and postbacks (see ``_messenger_event``)."""
        payload = self._payload(request)
        if payload.get("object") not in (self.platform, None):
            raise ChannelError(
                "wrong_object", f"expected object {self.platform!r}, got {payload.get('object')!r}"
            )
        found: list[Incoming] = []
        for entry in _items(payload.get("entry")):
            for event in _items(entry.get("messaging")):
                incoming = _messenger_event(event)
                if incoming is not None:
                    found.append(incoming)
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
