"""Twilio SMS, WhatsApp Cloud, Messenger and Instagram: wire formats, signatures, outbox."""

from __future__ import annotations

import asyncio
import inspect
import json
from typing import Any
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from twilio.request_validator import RequestValidator

from baton.channels.meta import hub_signature
from baton.domain import events as ev
from baton.storage.schema import outbox
from tests.server.conftest import APP_SECRET, TWILIO_SID, TWILIO_TOKEN, VERIFY_TOKEN, Served

TWILIO_URL = "http://testserver/channels/twilio/webhook"


def sms_form(sender: str, body: str, sid: str) -> dict[str, str]:
    return {
        "ToCountry": "US",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "SmsSid": sid,
        "SmsStatus": "received",
        "Body": body,
        "To": "+15550000000",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": TWILIO_SID,
        "From": sender,
        "ApiVersion": "2010-04-01",
    }


def twilio_headers(form: dict[str, str], token: str = TWILIO_TOKEN) -> dict[str, str]:
    signature = RequestValidator(token).compute_signature(TWILIO_URL, form)
    return {
        "X-Twilio-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }


def whatsapp_payload(sender: str, message: dict[str, Any]) -> bytes:
    return json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "WABA_ID",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": "15550000000",
                                    "phone_number_id": "1234567890",
                                },
                                "contacts": [{"profile": {"name": "Kerry"}, "wa_id": sender}],
                                "messages": [
                                    {"from": sender, "timestamp": "1700000000", **message}
                                ],
                            },
                        }
                    ],
                }
            ],
        }
    ).encode()


def messenger_payload(platform: str, psid: str, message: dict[str, Any]) -> bytes:
    return json.dumps(
        {
            "object": platform,
            "entry": [
                {
                    "id": "PAGE_ID",
                    "time": 1700000000000,
                    "messaging": [
                        {
                            "sender": {"id": psid},
                            "recipient": {"id": "PAGE_ID"},
                            "timestamp": 1700000000000,
                            "message": message,
                        }
                    ],
                }
            ],
        }
    ).encode()


def meta_headers(body: bytes, secret: str = APP_SECRET) -> dict[str, str]:
    return {"X-Hub-Signature-256": hub_signature(secret, body), "Content-Type": "application/json"}


async def wait_for(condition: Any, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await _holds(condition):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.02)


async def _holds(condition: Any) -> bool:
    value = condition()
    if inspect.isawaitable(value):
        value = await value
    return bool(value)


async def counts(served: Served) -> tuple[int, int]:
    async with served.baton.sql.connect() as conn:
        # Delivery outcomes are appended by the worker in the background: not counted.
        events = (
            await conn.execute(
                sa.text(
                    "SELECT count(*) FROM events "
                    "WHERE type NOT IN ('message_delivered', 'delivery_failed')"
                )
            )
        ).scalar_one()
        rows = (await conn.execute(sa.select(sa.func.count()).select_from(outbox))).scalar_one()
    return int(events), int(rows)


async def test_twilio_sms_in_and_out(served: Served) -> None:
    form = sms_form("+15551234567", "hi", "SM" + "a" * 32)
    answer = await served.client.post(
        "/channels/twilio/webhook", content=urlencode(form), headers=twilio_headers(form)
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/xml")
    assert "<Response></Response>" in answer.text
    await wait_for(lambda: served.provider.texts("+15551234567"))
    assert "welcome to the clinic" in served.provider.texts("+15551234567")[0]
    sent = served.provider.received[0]
    assert sent["raw"]["From"] == "+15550000000"
    assert sent["key"].endswith(":4") or ":" in sent["key"]

    # The delivery is recorded (the provider may answer before the status is committed).
    async def sent_row() -> Any:
        async with served.baton.sql.connect() as conn:
            row = (await conn.execute(sa.select(outbox))).mappings().one()
        return row if row["status"] == "sent" else None

    await wait_for(sent_row)
    row = await sent_row()
    assert row["provider_id"].startswith("SM")

    async def delivered() -> list[Any]:
        events = await served.baton.engine.store.read_events("default", row["conversation_id"])
        return [e.event for e in events if e.event.type == "message_delivered"]

    for _ in range(100):
        if await delivered():
            break
        await asyncio.sleep(0.02)
    (event,) = await delivered()
    assert event.seq == row["seq"] and event.provider_id == row["provider_id"]


@pytest.mark.parametrize("case", ["missing", "forged", "wrong_token", "tampered"])
async def test_twilio_bad_signatures_are_refused_and_nothing_stored(
    served: Served, case: str
) -> None:
    form = sms_form("+15557654321", "hi", "SM" + "b" * 32)
    headers = twilio_headers(form, "not-the-token" if case == "wrong_token" else TWILIO_TOKEN)
    if case == "missing":
        del headers["X-Twilio-Signature"]
    if case == "forged":
        headers["X-Twilio-Signature"] = "Zm9yZ2VkIHNpZ25hdHVyZQ=="
    body = urlencode({**form, "Body": "changed"} if case == "tampered" else form)
    before = await counts(served)
    answer = await served.client.post("/channels/twilio/webhook", content=body, headers=headers)
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "bad_signature"
    assert await counts(served) == before


async def test_twilio_replayed_request_is_not_stored_twice(served: Served) -> None:
    form = sms_form("+15550001111", "hi", "SM" + "c" * 32)
    headers = twilio_headers(form)
    first = await served.client.post(
        "/channels/twilio/webhook", content=urlencode(form), headers=headers
    )
    after_first = await counts(served)
    replay = await served.client.post(
        "/channels/twilio/webhook", content=urlencode(form), headers=headers
    )
    assert first.status_code == replay.status_code == 200
    assert await counts(served) == after_first
    await wait_for(lambda: served.provider.texts("+15550001111"))
    await asyncio.sleep(0.2)
    assert len(served.provider.texts("+15550001111")) == 1


async def test_twilio_status_callbacks_are_answered_and_store_nothing(served: Served) -> None:
    before = await counts(served)
    for status in ("queued", "sent", "delivered"):
        form = {
            "AccountSid": TWILIO_SID,
            "MessageSid": "SM" + "b" * 32,
            "SmsSid": "SM" + "b" * 32,
            "MessageStatus": status,
            "SmsStatus": status,
            "From": "+15550000000",
            "To": "+15551234567",
            "ApiVersion": "2010-04-01",
        }
        answer = await served.client.post(
            "/channels/twilio/webhook", content=urlencode(form), headers=twilio_headers(form)
        )
        assert answer.status_code == 200
    assert await counts(served) == before
    async with served.baton.sql.connect() as conn:
        contacts = await conn.execute(sa.text("SELECT count(*) FROM contact_identities"))
        assert contacts.scalar_one() == 0


async def test_twilio_media_message_is_an_unsupported_type(served: Served) -> None:
    form = {
        **sms_form("+15550002222", "", "SM" + "d" * 32),
        "NumMedia": "1",
        "MediaContentType0": "image/jpeg",
        "MediaUrl0": "https://example.com/a.jpg",
    }
    answer = await served.client.post(
        "/channels/twilio/webhook", content=urlencode(form), headers=twilio_headers(form)
    )
    assert answer.status_code == 200
    contact = await served.baton.engine.store.contact_for_identity("default", "sms", "+15550002222")
    latest = await served.baton.engine.store.latest_conversation("default", contact.contact_id)
    assert latest is not None
    events = [
        e.event
        for e in await served.baton.engine.store.read_events("default", latest.conversation_id)
    ]
    rejected = [e for e in events if e.type == "message_rejected"]
    assert rejected and rejected[0].reason == "unsupported_type"  # type: ignore[attr-defined]


async def test_meta_handshake(served: Served) -> None:
    for channel in ("whatsapp", "messenger", "instagram"):
        ok = await served.client.get(
            f"/channels/{channel}/webhook",
            params={
                "hub.mode": "subscribe",
                "hub.verify_token": VERIFY_TOKEN,
                "hub.challenge": "1158201444",
            },
        )
        assert ok.status_code == 200 and ok.text == "1158201444"
        bad = await served.client.get(
            f"/channels/{channel}/webhook",
            params={"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"},
        )
        assert bad.status_code == 403 and bad.json()["error"]["code"] == "bad_verify_token"


async def test_whatsapp_text_in_and_out(served: Served) -> None:
    body = whatsapp_payload(
        "15551230000", {"id": "wamid.HBgL1", "type": "text", "text": {"body": "hi"}}
    )
    answer = await served.client.post(
        "/channels/whatsapp/webhook", content=body, headers=meta_headers(body)
    )
    assert answer.status_code == 200
    await wait_for(lambda: served.provider.texts("15551230000"))
    sent = served.provider.received[0]["raw"]
    assert sent["messaging_product"] == "whatsapp" and sent["to"] == "15551230000"


async def test_whatsapp_unsupported_and_status_callbacks(served: Served) -> None:
    image = whatsapp_payload(
        "15551230001",
        {"id": "wamid.IMG", "type": "image", "image": {"id": "MEDIA", "mime_type": "image/jpeg"}},
    )
    answer = await served.client.post(
        "/channels/whatsapp/webhook", content=image, headers=meta_headers(image)
    )
    assert answer.status_code == 200
    store = served.baton.engine.store
    contact = await store.contact_for_identity("default", "whatsapp", "15551230001")
    latest = await store.latest_conversation("default", contact.contact_id)
    assert latest is not None
    types = [e.event for e in await store.read_events("default", latest.conversation_id)]
    rejected = [e for e in types if e.type == "message_rejected"]
    assert rejected[0].reason == "unsupported_type"  # type: ignore[attr-defined]
    assert rejected[0].detail.startswith("an image message;")  # type: ignore[attr-defined]
    status = json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "W",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "statuses": [
                                    {"id": "wamid.X", "status": "delivered", "recipient_id": "1"}
                                ],
                            },
                        }
                    ],
                }
            ],
        }
    ).encode()
    before = await counts(served)
    answer = await served.client.post(
        "/channels/whatsapp/webhook", content=status, headers=meta_headers(status)
    )
    assert answer.status_code == 200 and await counts(served) == before


@pytest.mark.parametrize("platform", ["messenger", "instagram"])
async def test_messenger_and_instagram_in_and_out(served: Served, platform: str) -> None:
    obj = "page" if platform == "messenger" else "instagram"
    psid = f"{platform}-psid-1"
    body = messenger_payload(obj, psid, {"mid": f"m_{platform}_1", "text": "hi"})
    answer = await served.client.post(
        f"/channels/{platform}/webhook", content=body, headers=meta_headers(body)
    )
    assert answer.status_code == 200 and answer.text == "EVENT_RECEIVED"
    await wait_for(lambda: served.provider.texts(psid))
    sent = next(r for r in served.provider.received if r["to"] == psid)["raw"]
    assert sent["recipient"] == {"id": psid} and sent["messaging_type"] == "RESPONSE"
    echo = messenger_payload(obj, psid, {"mid": "m_echo", "text": "x", "is_echo": True})
    before = await counts(served)
    await served.client.post(
        f"/channels/{platform}/webhook", content=echo, headers=meta_headers(echo)
    )
    assert await counts(served) == before


@pytest.mark.parametrize("channel", ["whatsapp", "messenger", "instagram"])
@pytest.mark.parametrize("case", ["missing", "forged", "tampered", "replayed"])
async def test_meta_bad_or_replayed_signatures_store_nothing(
    served: Served, channel: str, case: str
) -> None:
    if channel == "whatsapp":
        body = whatsapp_payload(
            "15559990000", {"id": f"wamid.{case}", "type": "text", "text": {"body": "hi"}}
        )
    else:
        obj = "page" if channel == "messenger" else "instagram"
        body = messenger_payload(obj, f"psid-{case}", {"mid": f"m_{case}", "text": "hi"})
    headers = meta_headers(body)
    if case == "replayed":
        first = await served.client.post(
            f"/channels/{channel}/webhook", content=body, headers=headers
        )
        assert first.status_code == 200
    if case == "missing":
        del headers["X-Hub-Signature-256"]
    if case == "forged":
        headers["X-Hub-Signature-256"] = hub_signature("guessed-secret", body)
    sent_body = body.replace(b'"hi"', b'"ho"') if case == "tampered" else body
    before = await counts(served)
    answer = await served.client.post(
        f"/channels/{channel}/webhook", content=sent_body, headers=headers
    )
    assert await counts(served) == before
    if case == "replayed":
        assert answer.status_code == 200
    else:
        assert answer.status_code == 403
        assert answer.json()["error"]["code"] == "bad_signature"


async def test_outbox_retries_with_backoff_then_delivers_once(served: Served) -> None:
    served.provider.fail_next = 2
    body = messenger_payload("page", "psid-retry", {"mid": "m_retry", "text": "hi"})
    await served.client.post(
        "/channels/messenger/webhook", content=body, headers=meta_headers(body)
    )
    await wait_for(lambda: served.provider.texts("psid-retry"))
    attempts = [r for r in served.provider.received if r["to"] == "psid-retry"]
    assert len(attempts) == 3 and len({a["key"] for a in attempts}) == 1
    metrics = (await served.client.get("/metrics")).text
    assert 'baton_deliveries_total{channel="messenger",outcome="retry"} 2.0' in metrics


async def test_refused_delivery_is_recorded_as_failed(served: Served) -> None:
    served.provider.refuse_next = 1
    body = messenger_payload("page", "psid-bad", {"mid": "m_bad", "text": "hi"})
    await served.client.post(
        "/channels/messenger/webhook", content=body, headers=meta_headers(body)
    )

    async def failed() -> list[Any]:
        async with served.baton.sql.connect() as conn:
            rows = (
                (await conn.execute(sa.select(outbox).where(outbox.c.address == "psid-bad")))
                .mappings()
                .all()
            )
        return [r for r in rows if r["status"] == "failed"]

    for _ in range(200):
        if await failed():
            break
        await asyncio.sleep(0.02)
    (row,) = await failed()
    assert "HTTP 400" in row["last_error"]
    await asyncio.sleep(0.1)
    events = await served.baton.engine.store.read_events("default", row["conversation_id"])
    failures = [e.event for e in events if e.event.type == "delivery_failed"]
    assert failures and "HTTP 400" in failures[0].reason  # type: ignore[attr-defined]


async def test_unknown_channel_is_404(served: Served) -> None:
    answer = await served.client.post("/channels/telegram/webhook", content=b"{}")
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "unknown_channel"


async def test_operator_message_goes_out_over_sms(served: Served) -> None:
    form = sms_form("+15550004444", "hi", "SM" + "e" * 32)
    await served.client.post(
        "/channels/twilio/webhook", content=urlencode(form), headers=twilio_headers(form)
    )
    await wait_for(lambda: served.provider.texts("+15550004444"))
    listed = await served.client.get(
        "/v1/conversations", params={"channel": "sms"}, headers=served.auth()
    )
    contact = await served.baton.engine.store.contact_for_identity("default", "sms", "+15550004444")
    conversation = next(
        c["conversation_id"]
        for c in listed.json()["items"]
        if c["contact_id"] == contact.contact_id
    )
    base = f"/v1/conversations/{conversation}"
    await served.client.post(f"{base}/escalate", json={}, headers=served.auth())
    sent = await served.client.post(
        f"{base}/messages", json={"text": "A nurse will call you."}, headers=served.auth()
    )
    assert sent.status_code == 200
    await wait_for(lambda: "A nurse will call you." in served.provider.texts("+15550004444"))


async def test_twilio_non_numeric_num_media_is_a_bad_body_and_nothing_stored(
    served: Served,
) -> None:
    form = {**sms_form("+15550003333", "hi", "SM" + "e" * 32), "NumMedia": "x"}
    before = await counts(served)
    answer = await served.client.post(
        "/channels/twilio/webhook", content=urlencode(form), headers=twilio_headers(form)
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "bad_body"
    assert "NumMedia" in answer.json()["error"]["message"]
    assert await counts(served) == before


def whatsapp_batch(messages: list[tuple[str, str, str]]) -> bytes:
    """One webhook with several senders' text messages: (sender, text, wamid)."""
    value = json.loads(whatsapp_payload("0", {}))
    change = value["entry"][0]["changes"][0]["value"]
    change["messages"] = [
        {"from": sender, "id": mid, "timestamp": "1700000000", "type": "text", "text": {"body": t}}
        for sender, t, mid in messages
    ]
    return json.dumps(value).encode()


async def test_a_sender_over_its_limit_does_not_refuse_the_others_in_a_batch(
    served: Served,
) -> None:
    served.baton.contact_limiter.capacity = 2.0  # a burst of two, then refused
    flood = [("15550100060", f"spam {n}", f"wamid.S{n}") for n in range(3)]
    body = whatsapp_batch([*flood, ("15550100061", "hello", "wamid.LEGIT")])
    answer = await served.client.post(
        "/channels/whatsapp/webhook", content=body, headers=meta_headers(body)
    )
    assert answer.status_code == 200
    await wait_for(lambda: served.provider.texts("15550100061"))
    store = served.baton.engine.store
    spammer = await store.contact_for_identity("default", "whatsapp", "15550100060")
    latest = await store.latest_conversation("default", spammer.contact_id)
    assert latest is not None
    events = [e.event for e in await store.read_events("default", latest.conversation_id)]
    received = [e for e in events if isinstance(e, ev.MessageReceived)]
    rejected = [e for e in events if isinstance(e, ev.MessageRejected)]
    assert [e.text for e in received] == ["spam 0", "spam 1", "spam 2"]  # nothing lost
    assert [e.reason for e in rejected] == ["rate_limited"]


async def test_a_provider_webhook_may_be_bigger_than_the_api_body_cap(served: Served) -> None:
    cap = served.baton.settings.max_body_bytes
    long_text = "x" * 3000
    batch = [(f"1555020{n:04d}", long_text, f"wamid.BIG{n}") for n in range(cap // 3000 + 2)]
    body = whatsapp_batch(batch)
    assert len(body) > cap
    answer = await served.client.post(
        "/channels/whatsapp/webhook", content=body, headers=meta_headers(body)
    )
    assert answer.status_code == 200, answer.text
    rest = await served.client.post(
        "/channels/rest/webhook", json={"sender": "big", "message": "x" * (cap + 1)}
    )
    assert rest.status_code == 413
    # Twilio's webhooks carry one message: the API's cap, not Meta's 3 MB (an unsigned
    # 3 MB form was parsed and hashed before its 403)
    form = b"Body=" + b"x" * (cap + 1)
    twilio = await served.client.post(
        "/channels/twilio/webhook",
        content=form,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert twilio.status_code == 413
