"""The channel adapters on their own: signatures against the providers' own schemes."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import httpx
import pytest
from twilio.request_validator import RequestValidator

from baton.channels.base import ChannelError, DeliveryFailed, Outgoing, RawRequest, SignatureRefused
from baton.channels.meta import MessengerChannel, WhatsAppChannel, hub_signature
from baton.channels.twilio import TwilioChannel, twilio_signature

URL = "https://baton.example.com/channels/twilio/webhook"


def raw(body: bytes, headers: dict[str, str], url: str = URL, **query: str) -> RawRequest:
    return RawRequest("POST", url, headers, query, body)


def test_twilio_signature_matches_the_official_library() -> None:
    params = {"From": "+15551234567", "Body": "héllo & bye", "MessageSid": "SM1"}
    assert twilio_signature("token", URL, params) == RequestValidator("token").compute_signature(
        URL, params
    )


def test_twilio_accepts_signatures_with_or_without_the_default_port() -> None:
    channel = TwilioChannel("AC1", "token", "+1555")
    params = {"From": "+1", "Body": "hi", "MessageSid": "SM1", "AccountSid": "AC1"}
    body = urlencode(params).encode()
    signed_with_port = RequestValidator("token").compute_signature(
        "https://baton.example.com:443/channels/twilio/webhook", params
    )
    channel.verify(raw(body, {"x-twilio-signature": signed_with_port}))
    other_account = {**params, "AccountSid": "AC2"}
    body2 = urlencode(other_account).encode()
    signature = RequestValidator("token").compute_signature(URL, other_account)
    with pytest.raises(SignatureRefused):
        channel.verify(raw(body2, {"x-twilio-signature": signature}))


def test_twilio_behind_a_proxy_signs_the_public_url_with_the_query_it_called() -> None:
    """Twilio signs the URL it called, query included; behind a proxy that is the public
    address plus the query the request arrived with (the query was dropped: 403)."""
    channel = TwilioChannel("AC1", "token", "+1555", public_url=URL)
    params = {"From": "+1", "Body": "hi", "MessageSid": "SM1", "AccountSid": "AC1"}
    body = urlencode(params).encode()
    inside = "http://10.0.0.5:8000/channels/twilio/webhook?tenant=acme"
    signed = RequestValidator("token").compute_signature(URL + "?tenant=acme", params)
    channel.verify(raw(body, {"x-twilio-signature": signed}, inside, tenant="acme"))
    without_query = RequestValidator("token").compute_signature(URL, params)
    with pytest.raises(SignatureRefused):
        channel.verify(raw(body, {"x-twilio-signature": without_query}, inside, tenant="acme"))


def test_twilio_status_callbacks_carry_no_message() -> None:
    channel = TwilioChannel("AC1", "token", "+1555")
    assert channel.parse(raw(b"MessageStatus=delivered&SmsStatus=delivered", {})) == []
    # as Twilio sends them: From (our number) and MessageSid too, but no Body
    callback = urlencode(
        {
            "AccountSid": "AC1",
            "MessageSid": "SM" + "1" * 32,
            "SmsSid": "SM" + "1" * 32,
            "MessageStatus": "delivered",
            "SmsStatus": "delivered",
            "From": "+1555",
            "To": "+15551230001",
            "ApiVersion": "2010-04-01",
        }
    ).encode()
    assert channel.parse(raw(callback, {})) == []


def test_twilio_forged_body_that_is_not_utf8_is_refused_as_forged() -> None:
    channel = TwilioChannel("AC1", "token", "+1555")
    body = b"From=%2B1555&Body=caf\xe9&MessageSid=SM1"
    with pytest.raises(SignatureRefused):
        channel.verify(raw(body, {"x-twilio-signature": "forged"}))
    with pytest.raises(ChannelError) as error:
        channel.parse(raw(body, {}))
    assert error.value.code == "invalid_encoding"
    assert "0xe9" in error.value.message


def test_meta_signature_and_handshake() -> None:
    channel = MessengerChannel("secret", "verify", "token")
    body = b'{"object":"page","entry":[]}'
    channel.verify(raw(body, {"x-hub-signature-256": hub_signature("secret", body)}))
    with pytest.raises(SignatureRefused):
        channel.verify(raw(body, {"x-hub-signature-256": "sha256=00"}))
    get = RawRequest(
        "GET",
        URL,
        {},
        {"hub.mode": "subscribe", "hub.verify_token": "verify", "hub.challenge": "42"},
        b"",
    )
    assert channel.handshake(get).body == "42"
    with pytest.raises(ChannelError):
        channel.handshake(RawRequest("GET", URL, {}, {"hub.mode": "subscribe"}, b""))
    # no verify token configured: an empty token in the request used to pass
    unset = MessengerChannel("secret", "", "token")
    empty = {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "attacker"}
    with pytest.raises(ChannelError) as refused:
        unset.handshake(RawRequest("GET", URL, {}, empty, b""))
    assert refused.value.status == 403 and "META_VERIFY_TOKEN" in refused.value.message
    # a body nested too deeply is not JSON, not a crash
    with pytest.raises(ChannelError):
        channel.parse(raw(b"[" * 100_000 + b"]" * 100_000, {}))


@pytest.mark.parametrize(
    "body", [b"not json", b"[1, 2]", b'{"entry": "x"}', b'{"entry": [{"changes": [1]}]}']
)
def test_malformed_meta_payloads_never_crash(body: bytes) -> None:
    channel = WhatsAppChannel("s", "v", "t", phone_number_id="1")
    try:
        assert channel.parse(raw(body, {})) == []
    except ChannelError as refused:
        assert refused.code == "bad_body"


async def test_send_maps_provider_errors_to_retry_or_not() -> None:
    answers = iter([httpx.Response(503, text="busy"), httpx.Response(400, json={"e": 1})])
    transport = httpx.MockTransport(lambda request: next(answers))
    channel = WhatsAppChannel("s", "v", "t", "http://graph.test", phone_number_id="1")
    message = Outgoing("15550001", "hi", "conv:3")
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(DeliveryFailed) as busy:
            await channel.send(client, message)
        assert busy.value.retry
        with pytest.raises(DeliveryFailed) as bad:
            await channel.send(client, message)
        assert not bad.value.retry


async def test_whatsapp_send_wire_format() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"messages": [{"id": "wamid.1"}]})

    channel = WhatsAppChannel("s", "v", "tok", "http://graph.test", "v21.0", phone_number_id="99")
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        assert await channel.send(client, Outgoing("1555", "hello", "k1")) == "wamid.1"
    (request,) = seen
    assert str(request.url) == "http://graph.test/v21.0/99/messages"
    assert request.headers["authorization"] == "Bearer tok"
    assert json.loads(request.content) == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "1555",
        "type": "text",
        "text": {"preview_url": False, "body": "hello"},
    }


def test_a_whatsapp_text_without_a_body_is_empty_text_not_an_unsupported_type() -> None:
    channel = WhatsAppChannel("secret", "token", "access")
    messages = [
        {"from": "1", "id": "a", "type": "text", "text": {}},
        {"from": "1", "id": "b", "type": "text"},
        {"from": "1", "id": "c", "type": "text", "text": {"body": 5}},
        {"from": "1", "id": "d", "type": "text", "text": {"body": "hi"}},
        {"from": "1", "id": "e", "type": "image", "image": {}},
    ]
    payload = {"entry": [{"changes": [{"value": {"messages": messages}}]}]}
    request = RawRequest("POST", "https://x/", {}, {}, json.dumps(payload).encode())
    found = [(m.message_id, m.kind, m.text) for m in channel.parse(request)]
    assert found == [
        ("a", "text", ""),
        ("b", "text", ""),
        ("c", "text", ""),
        ("d", "text", "hi"),
        ("e", "unsupported", ""),
    ]
