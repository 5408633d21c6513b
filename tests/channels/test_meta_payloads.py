"""Meta's webhook shapes beyond plain text, and its Graph API error answers.

Payloads follow Meta's documented webhook formats (WhatsApp Cloud API ``messages``,
Messenger/Instagram ``messaging[]`` events); error answers follow the Graph API's
``{"error": {...}}`` body.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from baton.channels.base import DeliveryFailed, Incoming, Outgoing, RawRequest
from baton.channels.meta import MessengerChannel, WhatsAppChannel, instagram_channel

WA_ID = "15551230000"
PSID = "PSID-1"


def request(payload: dict[str, Any]) -> RawRequest:
    return RawRequest("POST", "https://baton.test/", {}, {}, json.dumps(payload).encode())


def whatsapp(message: dict[str, Any]) -> list[Incoming]:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000000", "phone_number_id": "1"},
        "contacts": [{"profile": {"name": "Kerry"}, "wa_id": WA_ID}],
        "messages": [{"from": WA_ID, "id": "wamid.1", "timestamp": "1700000000", **message}],
    }
    payload = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": value}]}],
    }
    return WhatsAppChannel("s", "v", "t", phone_number_id="1").parse(request(payload))


def messaging(platform: str, *events: dict[str, Any]) -> list[Incoming]:
    """Parse ``events`` (each merged into sender, recipient and timestamp) on a channel."""
    full = [
        {"sender": {"id": PSID}, "recipient": {"id": "PAGE"}, "timestamp": 1700000000000, **e}
        for e in events
    ]
    obj = "page" if platform == "messenger" else "instagram"
    payload = {"object": obj, "entry": [{"id": "PAGE", "time": 1700000000000, "messaging": full}]}
    channel = (
        MessengerChannel("s", "v", "t")
        if platform == "messenger"
        else instagram_channel("s", "v", "t", "https://graph.facebook.com", "v21.0")
    )
    return channel.parse(request(payload))


# -- WhatsApp ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "text"),
    [
        (
            {
                "type": "interactive",
                "interactive": {
                    "type": "button_reply",
                    "button_reply": {"id": "yes-1", "title": "Yes, book it"},
                },
            },
            "Yes, book it",
        ),
        (
            {
                "type": "interactive",
                "interactive": {
                    "type": "list_reply",
                    "list_reply": {"id": "t2", "title": "Tuesday 10:00", "description": "Dr K"},
                },
            },
            "Tuesday 10:00",
        ),
        (
            {"type": "button", "button": {"payload": "STOP", "text": "Stop reminders"}},
            "Stop reminders",
        ),
        ({"type": "image", "image": {"id": "M1", "caption": "my rash"}}, "my rash"),
        ({"type": "video", "video": {"id": "M2", "caption": "see this"}}, "see this"),
        (
            {"type": "document", "document": {"id": "M3", "filename": "a.pdf", "caption": "form"}},
            "form",
        ),
    ],
)
def test_whatsapp_choices_and_captions_are_text(message: dict[str, Any], text: str) -> None:
    assert whatsapp(message) == [Incoming(WA_ID, text, "wamid.1")]


@pytest.mark.parametrize(
    ("message", "detail"),
    [
        ({"type": "image", "image": {"id": "M1", "mime_type": "image/jpeg"}}, "image"),
        ({"type": "image", "image": {"id": "M1", "caption": ""}}, "image"),
        ({"type": "document", "document": {"id": "M3", "filename": "a.pdf"}}, "document"),
        ({"type": "audio", "audio": {"id": "M4", "voice": True}}, "audio"),
        ({"type": "sticker", "sticker": {"id": "M5"}}, "sticker"),
        ({"type": "location", "location": {"latitude": 1.0, "longitude": 2.0}}, "location"),
        (
            {"type": "interactive", "interactive": {"type": "nfm_reply", "nfm_reply": {}}},
            "interactive",
        ),
        ({"type": "button", "button": {"payload": "X"}}, "button"),
        ({"type": "reaction", "reaction": {"message_id": "wamid.0", "emoji": "👍"}}, "reaction"),
        ({"type": "unsupported", "errors": [{"code": 131051}]}, "unsupported"),
    ],
)
def test_whatsapp_types_with_no_text_stay_unsupported(message: dict[str, Any], detail: str) -> None:
    """Reactions included: deliberately recorded as unsupported, never answered."""
    assert whatsapp(message) == [Incoming(WA_ID, "", "wamid.1", "unsupported", detail)]


# -- Messenger and Instagram ---------------------------------------------------------


@pytest.mark.parametrize("platform", ["messenger", "instagram"])
def test_a_postback_is_the_title_the_user_tapped(platform: str) -> None:
    found = messaging(
        platform,
        {"postback": {"mid": "m_4", "title": "Book", "payload": "BOOK"}},
        {"postback": {"mid": "m_5", "title": "Get Started", "payload": "GET_STARTED"}},
        {"postback": {"mid": "m_6", "payload": "MENU_HOURS"}},
    )
    assert found == [
        Incoming(PSID, "Book", "m_4"),
        Incoming(PSID, "Get Started", "m_5"),
        Incoming(PSID, "MENU_HOURS", "m_6"),
    ]


@pytest.mark.parametrize("platform", ["messenger", "instagram"])
def test_a_postback_without_mid_gets_a_stable_id(platform: str) -> None:
    tap = {"postback": {"title": "Book", "payload": "BOOK"}}
    first = messaging(platform, tap)
    again = messaging(platform, tap)  # the provider's retry of the same webhook
    later = messaging(platform, {**tap, "timestamp": 1700000009999})
    other = messaging(platform, {"postback": {"title": "Cancel", "payload": "CANCEL"}})
    assert [m.text for m in first] == ["Book"]
    assert first[0].message_id and first[0].message_id == again[0].message_id
    assert later[0].message_id != first[0].message_id
    assert other[0].message_id != first[0].message_id


@pytest.mark.parametrize("platform", ["messenger", "instagram"])
def test_a_quick_reply_keeps_its_text(platform: str) -> None:
    message = {"mid": "m_7", "text": "Red", "quick_reply": {"payload": "COLOR_RED"}}
    assert messaging(platform, {"message": message}) == [Incoming(PSID, "Red", "m_7")]


def test_an_instagram_unsend_is_skipped() -> None:
    found = messaging(
        "instagram",
        {"message": {"mid": "m_8", "is_deleted": True}},
        {"message": {"mid": "m_9", "text": "still here"}},
    )
    assert found == [Incoming(PSID, "still here", "m_9")]


@pytest.mark.parametrize("platform", ["messenger", "instagram"])
def test_events_that_are_not_messages_are_skipped(platform: str) -> None:
    found = messaging(
        platform,
        {"reaction": {"mid": "m_1", "action": "react", "emoji": "❤", "reaction": "love"}},
        {"read": {"watermark": 1700000000000}},
        {"delivery": {"mids": ["m_1"], "watermark": 1700000000000}},
        {"message": {"mid": "m_echo", "text": "from the page", "is_echo": True}},
        {"message_edit": {"mid": "m_1", "text": "edited", "num_edit": 1}},
    )
    assert found == []


@pytest.mark.parametrize("platform", ["messenger", "instagram"])
def test_attachments_alone_stay_unsupported(platform: str) -> None:
    message = {"mid": "m_2", "attachments": [{"type": "image", "payload": {"url": "u"}}]}
    assert messaging(platform, {"message": message}) == [
        Incoming(PSID, "", "m_2", "unsupported", "image")
    ]


# -- Graph API errors on send -------------------------------------------------------


def graph_error(code: int, message: str, **extra: Any) -> dict[str, Any]:
    return {
        "error": {
            "message": message,
            "type": "OAuthException",
            "code": code,
            "fbtrace_id": "Atrace",
            **extra,
        }
    }


async def refusal(response: httpx.Response, channel: str = "whatsapp") -> DeliveryFailed:
    transport = httpx.MockTransport(lambda _request: response)
    adapter: WhatsAppChannel | MessengerChannel = (
        WhatsAppChannel("s", "v", "t", "http://graph.test", phone_number_id="1")
        if channel == "whatsapp"
        else MessengerChannel("s", "v", "t", "http://graph.test")
    )
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(DeliveryFailed) as failed:
            await adapter.send(client, Outgoing("15550001", "hi", "conv:1"))
    return failed.value


@pytest.mark.parametrize(
    "code", [1, 2, 4, 17, 32, 613, 80007, 130429, 131000, 131016, 131056, 133004]
)
async def test_transient_graph_codes_are_retried_even_on_http_400(code: int) -> None:
    failed = await refusal(httpx.Response(400, json=graph_error(code, "Rate limit hit")))
    assert failed.retry
    assert failed.reason.startswith(f"HTTP 400: (#{code}) Rate limit hit")


@pytest.mark.parametrize("code", [100, 190, 131026, 131047])
async def test_other_graph_codes_are_permanent(code: int) -> None:
    failed = await refusal(httpx.Response(400, json=graph_error(code, "Nope")))
    assert not failed.retry
    assert f"(#{code}) Nope" in failed.reason


async def test_is_transient_makes_any_code_retryable() -> None:
    body = graph_error(100, "Temporary glitch", is_transient=True)
    assert (await refusal(httpx.Response(400, json=body), "messenger")).retry


async def test_the_reason_names_code_subcode_details_and_trace() -> None:
    body = graph_error(
        131047,
        "(#131047) Re-engagement message",
        error_subcode=2494010,
        error_data={"messaging_product": "whatsapp", "details": "24 hours have passed"},
    )
    failed = await refusal(httpx.Response(400, json=body))
    assert failed.reason == (
        "HTTP 400: (#131047) Re-engagement message [subcode 2494010]: "
        "24 hours have passed (fbtrace_id Atrace)"
    )


async def test_status_still_decides_without_a_graph_error() -> None:
    busy = await refusal(httpx.Response(503, json={"error": "try later"}))
    assert busy.retry and busy.reason.startswith("HTTP 503")
    plain = await refusal(httpx.Response(400, text="bad"), "messenger")
    assert not plain.retry and plain.reason == "HTTP 400: bad"
    no_code = await refusal(httpx.Response(400, json={"error": {"message": "invalid recipient"}}))
    assert not no_code.retry and no_code.reason == "HTTP 400: invalid recipient"


async def test_429_and_5xx_stay_retryable_with_their_retry_after() -> None:
    throttled = httpx.Response(
        429, headers={"Retry-After": "7"}, json=graph_error(100, "Invalid parameter")
    )
    failed = await refusal(throttled, "messenger")
    assert failed.retry and failed.retry_after == 7.0
    assert failed.reason.startswith("HTTP 429: (#100) Invalid parameter")
    assert (await refusal(httpx.Response(500, json=graph_error(190, "x")))).retry
