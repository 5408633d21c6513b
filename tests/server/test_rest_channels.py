"""The REST and Rasa-compatible channels, health, readiness and metrics, in-process."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.server.conftest import Served


async def test_health_and_readiness(served: Served) -> None:
    assert (await served.client.get("/health")).json() == {"status": "ok", "checks": {}}
    ready = await served.client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"store": "ok", "outbox": "ok"}


async def test_rest_channel_answers_synchronously_and_transfers(served: Served) -> None:
    hello = await served.client.post(
        "/channels/rest/webhook", json={"sender": "alice", "message": "hi"}
    )
    assert hello.status_code == 200
    body = hello.json()
    assert body["replies"][0]["bot_id"] == "triage"
    assert "welcome to the clinic" in body["replies"][0]["text"]
    low = await served.client.post(
        "/channels/rest/webhook", json={"sender": "alice", "message": "I've been feeling low"}
    )
    bots = [r["bot_id"] for r in low.json()["replies"]]
    assert "assessment" in bots
    assert low.json()["conversation_id"] == body["conversation_id"]


async def test_rasa_compatible_webhook(served: Served) -> None:
    answer = await served.client.post(
        "/webhooks/rest/webhook", json={"sender": "rasa-user", "message": "hi"}
    )
    assert answer.status_code == 200
    replies = answer.json()
    assert replies and all(set(r) == {"recipient_id", "text"} for r in replies)
    assert replies[0]["recipient_id"] == "rasa-user"


async def test_rest_duplicate_message_id_runs_once_and_answers_again(served: Served) -> None:
    first = await served.client.post(
        "/channels/rest/webhook", json={"sender": "bob", "message": "hi", "message_id": "r-1"}
    )
    again = await served.client.post(
        "/channels/rest/webhook", json={"sender": "bob", "message": "hi", "message_id": "r-1"}
    )
    # run once; the retry gets what the first answer said (it may have been lost on the way)
    assert first.json()["replies"] and again.json() == {**first.json(), "duplicate": True}
    events = await served.baton.engine.store.read_events("default", first.json()["conversation_id"])
    assert [e.event.type for e in events].count("message_received") == 1
    # the caller picks REST ids: another sender's "r-1" is another message
    other = await served.client.post(
        "/channels/rest/webhook", json={"sender": "eve", "message": "hi", "message_id": "r-1"}
    )
    assert other.json()["duplicate"] is False and other.json()["replies"]
    # a sender whose address has a slash: "bob/r" with "1" is not "bob" with "r/1"
    for sender, message_id in (("bob", "r/1"), ("bob/r", "1")):
        body = {"sender": sender, "message": "hi", "message_id": message_id}
        answer = (await served.client.post("/channels/rest/webhook", json=body)).json()
        assert answer["duplicate"] is False, sender


async def test_a_retry_while_its_original_still_runs_waits_and_runs_nothing(
    served: Served,
) -> None:
    """The receipt was checked before the sender's lock: a client that gave up on a slow
    turn and sent the message again ran the whole turn again (an LLM call, a payment
    action), and only its append was refused."""
    router = served.baton.engine.router
    original = router._message
    runs: list[str] = []

    async def slow(ctx: Any, inbound: Any) -> str | None:
        runs.append(inbound.text)
        await asyncio.sleep(0.2)  # an action calling a slow service
        return await original(ctx, inbound)

    router._message = slow  # type: ignore[method-assign]
    body = {"sender": "patient", "message": "hi", "message_id": "slow-1"}
    first, again = await asyncio.gather(
        served.client.post("/channels/rest/webhook", json=body),
        served.client.post("/channels/rest/webhook", json=body),
    )
    assert runs == ["hi"]
    answers = sorted([first.json(), again.json()], key=lambda a: a["duplicate"])
    assert answers[0]["replies"] and answers[1] == {**answers[0], "duplicate": True}


async def test_bad_input_gets_json_errors_not_500(served: Served) -> None:
    cases = [
        served.client.post("/channels/rest/webhook", content=b"{not json"),
        served.client.post("/channels/rest/webhook", json={"sender": "", "message": "x"}),
        served.client.post("/channels/rest/webhook", json=["a"]),
        served.client.post("/webhooks/rest/webhook", json={"message": "x"}),
        served.client.get("/nowhere"),
        served.client.delete("/health"),
    ]
    for request in cases:
        answer = await request
        assert 400 <= answer.status_code < 500, answer.text
        assert set(answer.json()["error"]) == {"code", "message"}


async def test_a_body_that_is_no_json_or_no_utf8_is_told_where_it_went_wrong(
    served: Served,
) -> None:
    as_json = {"Content-Type": "application/json"}
    broken = await served.client.post(
        "/channels/rest/webhook", content=b'{"sender": "a",', headers=as_json
    )
    assert broken.status_code == 422
    assert broken.json()["error"] == {
        "code": "invalid_request",
        "message": "the body is not valid JSON: "
        "Expecting property name enclosed in double quotes at character 15",
    }
    form = {"Content-Type": "application/x-www-form-urlencoded"}  # what `curl -d` sends
    sent = await served.client.post(
        "/channels/rest/webhook", content=b'{"sender": "a", "message": "hi"}', headers=form
    )
    assert sent.status_code == 422
    assert sent.json()["error"]["message"] == (
        "send the JSON body with Content-Type: application/json "
        "(this request's: application/x-www-form-urlencoded)"
    )
    latin = '{"sender": "a", "message": "café"}'.encode("latin-1")
    for path in ("/channels/rest/webhook", "/v1/contacts"):
        answer = await served.client.post(path, content=latin, headers=as_json)
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"] == {
            "code": "invalid_encoding",
            "message": "the body is not UTF-8 (byte 0xe9 at position 31); "
            "send JSON encoded in UTF-8",
        }
    schema = (await served.client.get("/openapi.json")).json()
    assert "400" in schema["paths"]["/channels/rest/webhook"]["post"]["responses"]
    assert "400" in schema["paths"]["/v1/contacts"]["post"]["responses"]
    assert served.baton.engine.store is not None
    assert await served.baton.engine.store.list_conversations("default") == []


async def test_body_cap(served: Served) -> None:
    big = "x" * (served.baton.settings.max_body_bytes + 1)
    answer = await served.client.post(
        "/channels/rest/webhook", json={"sender": "carol", "message": big}
    )
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "body_too_large"


async def test_per_contact_rate_limit(served: Served) -> None:
    served.baton.contact_limiter.capacity = 3.0
    served.baton.contact_limiter.rate = 3.0 / 60
    codes = []
    for _ in range(4):
        answer = await served.client.post(
            "/channels/rest/webhook", json={"sender": "dave", "message": "hi"}
        )
        codes.append(answer.status_code)
    assert codes == [200, 200, 200, 429]
    assert int(answer.headers["Retry-After"]) >= 1
    assert answer.json()["error"]["code"] == "rate_limited"
    other = await served.client.post(
        "/channels/rest/webhook", json={"sender": "erin", "message": "hi"}
    )
    assert other.status_code == 200
    metrics = (await served.client.get("/metrics")).text
    assert 'baton_errors_total{kind="rate_limited"} 1.0' in metrics


async def test_metrics_count_turns_and_transfers(served: Served) -> None:
    for text in ("hi", "I've been feeling low"):
        await served.client.post("/channels/rest/webhook", json={"sender": "m", "message": text})
    text = (await served.client.get("/metrics")).text
    assert 'baton_turns_total{channel="rest"} 2.0' in text
    assert 'baton_transfers_total{reason="bot_step"} 1.0' in text
    assert "baton_turn_seconds_bucket" in text
    # an operator's assignment that moves the conversation, and a hand-back, count too
    answer = await served.client.post(
        "/channels/rest/webhook", json={"sender": "m2", "message": "hi"}
    )
    base = f"/v1/conversations/{answer.json()['conversation_id']}"
    auth = served.auth()
    moved = await served.client.post(f"{base}/assign", json={"bot_id": "appointment"}, headers=auth)
    assert "bot_assigned" in moved.json()["events"]
    transcript = (await served.client.get(f"{base}/transcript", headers=auth)).json()
    [assigned] = [e for e in transcript["events"] if e["type"] == "bot_assigned"]
    assert assigned["data"]["from_bot"] == "triage" and assigned["line"].endswith("from triage")
    await served.client.post(f"{base}/escalate", json={"reason": "x"}, headers=auth)
    await served.client.post(f"{base}/handback", json={"bot_id": "triage"}, headers=auth)
    text = (await served.client.get("/metrics")).text
    assert 'baton_transfers_total{reason="api"} 1.0' in text
    assert 'baton_transfers_total{reason="handback"} 1.0' in text


async def test_body_cap_on_a_streamed_body_without_length(served: Served) -> None:
    cap = served.baton.settings.max_body_bytes

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"sender": "s", "message": "'
        for _ in range(cap // 1000 + 2):
            yield b"x" * 1000
        yield b'"}'

    answer = await served.client.post("/channels/rest/webhook", content=chunks())
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "body_too_large"


async def test_not_ready_when_the_outbox_worker_stops(served: Served) -> None:
    await served.baton.worker.stop()
    answer = await served.client.get("/ready")
    assert answer.status_code == 503
    assert answer.json()["checks"]["outbox"] == "stopped"


def _normalised(answer: httpx.Response, sender: str) -> str:
    """The answer's exact text, with what differs between two contacts blanked."""
    raw = answer.text
    body = answer.json()
    if isinstance(body, dict):
        for key in ("conversation_id", "contact_id"):
            raw = raw.replace(body[key], f"<{key}>")
    return raw.replace(sender, "<sender>")


async def test_fast_path_answers_what_the_fastapi_route_answers(served: Served) -> None:
    # application/json takes the plain-ASGI fast path; another JSON type, FastAPI's route.
    for path in ("/channels/rest/webhook", "/webhooks/rest/webhook"):
        for text in ("hi", "I've been feeling low", 'élan ✓ "quoted"'):
            answers = []
            for sender, kind in (("fast" + path, "json"), ("slow" + path, "vnd.baton+json")):
                answer = await served.client.post(
                    path,
                    content=json.dumps({"sender": sender, "message": text}),
                    headers={"Content-Type": f"application/{kind}"},
                )
                assert answer.status_code == 200
                assert answer.headers["content-type"] == "application/json"
                answers.append(_normalised(answer, sender))
            assert answers[0] == answers[1]


async def test_fast_path_failures_are_json(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(_inbound: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(served.baton.engine.router, "handle", broken)
    answer = await served.client.post(
        "/channels/rest/webhook", json={"sender": "zed", "message": "hi"}
    )
    assert answer.status_code == 500
    assert answer.json() == {
        "error": {"code": "internal_error", "message": "something went wrong on our side"}
    }
    answer = await served.client.post(
        "/channels/rest/webhook",
        content=b'{"sender": "zed", "message": 1}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "invalid_request"


async def test_json_the_fast_parser_refuses_is_answered_by_fastapi(served: Served) -> None:
    # A UTF-8 byte-order mark: json.loads takes it, the one-step validator does not.
    body = b"\xef\xbb\xbf" + json.dumps({"sender": "bom", "message": "hi"}).encode()
    answer = await served.client.post(
        "/channels/rest/webhook", content=body, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 200
    assert answer.json()["replies"]


async def test_control_characters_in_an_address_or_message_id_are_refused(
    served: Served,
) -> None:
    for body in (
        {"sender": "s\u00002", "message": "hi"},
        {"sender": "s2", "message": "hi", "message_id": "m\u00001"},
        {"sender": "s\n2", "message": "hi"},
    ):
        answer = await served.client.post("/channels/rest/webhook", json=body)
        assert answer.status_code == 422, body
        assert answer.json()["error"]["code"] == "invalid_request"
    rasa = await served.client.post(
        "/webhooks/rest/webhook", json={"sender": "\u0000", "message": "x"}
    )
    assert rasa.status_code == 422


async def test_a_rest_client_polls_for_what_no_answer_carried(served: Served) -> None:
    """An operator's message to a REST contact has no request to ride on: the client asks
    for what was sent after the `seq` of its last answer."""
    first = await served.client.post(
        "/channels/rest/webhook", json={"sender": "poller", "message": "hi"}
    )
    answer = first.json()
    assert answer["seq"] > 0
    nothing = await served.client.get(
        "/channels/rest/messages", params={"sender": "poller", "after": answer["seq"]}
    )
    assert nothing.json() == {
        "conversation_id": answer["conversation_id"],
        "messages": [],
        "seq": answer["seq"],
    }
    base = f"/v1/conversations/{answer['conversation_id']}"
    await served.client.post(f"{base}/escalate", json={}, headers=served.auth())
    sent = await served.client.post(
        f"{base}/messages", json={"text": "Sam here."}, headers=served.auth()
    )
    assert sent.status_code == 200
    polled = await served.client.get(
        "/channels/rest/messages", params={"sender": "poller", "after": answer["seq"]}
    )
    body = polled.json()
    assert [(m["text"], m["sender"]) for m in body["messages"]] == [("Sam here.", "human")]
    assert body["seq"] > answer["seq"]
    # from the start: the bot's first reply too; an unknown sender has nothing
    everything = await served.client.get("/channels/rest/messages", params={"sender": "poller"})
    assert [m["text"] for m in everything.json()["messages"]][-1] == "Sam here."
    stranger = await served.client.get("/channels/rest/messages", params={"sender": "nobody"})
    assert stranger.json() == {"conversation_id": None, "messages": [], "seq": 0}


async def test_a_rest_secret_closes_the_rest_channels_to_callers_without_it(
    served: Served,
) -> None:
    served.baton.settings.rest_secret = "s3cret"
    body = {"sender": "locked", "message": "hi"}
    for headers in ({}, {"Authorization": "Bearer wrong"}, served.auth()):  # an API key is not it
        for path in ("/channels/rest/webhook", "/webhooks/rest/webhook"):
            refused = await served.client.post(path, json=body, headers=headers)
            assert refused.status_code == 401, (path, refused.text)
            assert refused.json()["error"]["code"] == "invalid_rest_secret"
        read = await served.client.get(
            "/channels/rest/messages", params={"sender": "locked"}, headers=headers
        )
        assert read.status_code == 401
    assert await served.baton.engine.store.list_conversations("default") == []
    allowed = {"Authorization": "Bearer s3cret"}
    sent = await served.client.post("/channels/rest/webhook", json=body, headers=allowed)
    assert sent.status_code == 200 and sent.json()["replies"]
    read = await served.client.get(
        "/channels/rest/messages", params={"sender": "locked"}, headers=allowed
    )
    assert read.status_code == 200


async def test_a_body_nested_too_deeply_is_invalid_json_not_a_bad_request(served: Served) -> None:
    body = "[" * 20_000 + "]" * 20_000
    for path in ("/channels/rest/webhook", "/webhooks/rest/webhook"):
        answer = await served.client.post(
            path, content=body, headers={"content-type": "application/json"}
        )
        assert answer.status_code == 422, answer.text
        error = answer.json()["error"]
        assert error["code"] == "invalid_request" and "nested too deeply" in error["message"]
