"""The /v1 management API: keys and tenants, contacts, conversations, operator actions."""

from __future__ import annotations

from typing import Any

import pytest

from baton.api.db import Keys
from tests.server.conftest import Served


async def talk(served: Served, sender: str, *texts: str) -> str:
    conversation = ""
    for text in texts:
        answer = await served.client.post(
            "/channels/rest/webhook", json={"sender": sender, "message": text}
        )
        conversation = answer.json()["conversation_id"]
    return conversation


async def test_no_bad_or_revoked_key_is_401(served: Served) -> None:
    keys = Keys(served.baton.sql)
    assert (await served.client.get("/v1/bots")).status_code == 401
    bad = await served.client.get("/v1/bots", headers=served.auth("bk_nope"))
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "invalid_api_key"
    record, secret = await keys.create("default", "short-lived")
    assert (await served.client.get("/v1/bots", headers=served.auth(secret))).status_code == 200
    assert (await served.client.get("/v1/bots", headers={"X-API-Key": secret})).status_code == 200
    assert await keys.revoke(record.key_id)
    gone = await served.client.get("/v1/bots", headers=served.auth(secret))
    assert gone.status_code == 401


async def test_keys_are_stored_hashed(served: Served) -> None:
    _record, secret = await Keys(served.baton.sql).create("default")
    async with served.baton.sql.connect() as conn:
        import sqlalchemy as sa

        stored = (await conn.execute(sa.text("SELECT secret_hash, prefix FROM api_keys"))).all()
    assert all(secret not in (h, p) for h, p in stored)


async def test_list_bots_paginated(served: Served) -> None:
    first = await served.client.get("/v1/bots", params={"limit": 2}, headers=served.auth())
    page = first.json()
    assert [b["bot_id"] for b in page["items"]] == ["appointment", "assessment"]
    second = await served.client.get(
        "/v1/bots", params={"limit": 2, "cursor": page["next_cursor"]}, headers=served.auth()
    )
    assert [b["bot_id"] for b in second.json()["items"]] == ["triage"]
    assert second.json()["next_cursor"] is None
    assert second.json()["items"][0]["primary"] is True


async def test_contacts_create_update_and_page(served: Served) -> None:
    auth = served.auth()
    created = await served.client.post(
        "/v1/contacts",
        json={
            "contact_id": "c-1",
            "tags": ["vip"],
            "fields": {"plan": "gold"},
            "language": "en",
            "identities": {"sms": "+15550003333"},
        },
        headers=auth,
    )
    assert created.status_code == 201
    again = await served.client.post("/v1/contacts", json={"contact_id": "c-1"}, headers=auth)
    assert again.status_code == 409 and again.json()["error"]["code"] == "contact_exists"
    same_phone = {"contact_id": "c-2", "identities": {"sms": "+15550003333"}}
    taken = await served.client.post("/v1/contacts", json=same_phone, headers=auth)
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "identity_taken"
    assert "belongs to contact 'c-1'" in taken.json()["error"]["message"]
    assert (await served.client.get("/v1/contacts/c-2", headers=auth)).status_code == 404
    kept = await served.client.get("/v1/contacts/c-1", headers=auth)
    assert kept.json()["identities"] == {"sms": "+15550003333"}
    patched = await served.client.patch(
        "/v1/contacts/c-1",
        json={
            "add_tags": ["new"],
            "remove_tags": ["vip"],
            "fields": {"plan": None, "age": 41},
            "language": "fr",
        },
        headers=auth,
    )
    assert patched.json() == {
        "contact_id": "c-1",
        "identities": {"sms": "+15550003333"},
        "tags": ["new"],
        "fields": {"age": 41},
        "language": "fr",
    }
    for i in range(3):
        await served.client.post("/v1/contacts", json={"contact_id": f"p-{i}"}, headers=auth)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await served.client.get("/v1/contacts", params=params, headers=auth)).json()
        seen += [c["contact_id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == ["c-1", "p-0", "p-1", "p-2"]


async def test_other_accounts_objects_are_404(served: Served) -> None:
    conversation = await talk(served, "tenant-a", "hi")
    contact = (
        await served.client.get(f"/v1/conversations/{conversation}", headers=served.auth())
    ).json()["contact_id"]
    _record, other = await Keys(served.baton.sql).create("acme", "other tenant")
    auth = served.auth(other)
    for path in (
        f"/v1/conversations/{conversation}",
        f"/v1/conversations/{conversation}/transcript",
        f"/v1/contacts/{contact}",
    ):
        answer = await served.client.get(path, headers=auth)
        assert answer.status_code == 404, path
    action = await served.client.post(
        f"/v1/conversations/{conversation}/escalate", json={}, headers=auth
    )
    assert action.status_code == 404
    listed = await served.client.get("/v1/conversations", headers=auth)
    assert listed.json()["items"] == []
    assert (await served.client.get("/v1/contacts", headers=auth)).json()["items"] == []


async def test_conversation_filters_and_transcript_spans(served: Served) -> None:
    auth = served.auth()
    low = await talk(served, "f-1", "hi", "I've been feeling low")
    plain = await talk(served, "f-2", "hi")
    by_bot = await served.client.get(
        "/v1/conversations", params={"bot": "assessment"}, headers=auth
    )
    assert [c["conversation_id"] for c in by_bot.json()["items"]] == [low]
    await served.client.post(
        f"/v1/conversations/{plain}/escalate", json={"reason": "asked"}, headers=auth
    )
    human = await served.client.get("/v1/conversations", params={"human": True}, headers=auth)
    assert [c["conversation_id"] for c in human.json()["items"]] == [plain]
    rest = await served.client.get("/v1/conversations", params={"channel": "rest"}, headers=auth)
    assert {low, plain} <= {c["conversation_id"] for c in rest.json()["items"]}
    transcript = (
        await served.client.get(f"/v1/conversations/{low}/transcript", headers=auth)
    ).json()
    assert transcript["events"][0]["type"] == "conversation_started"
    owners = [s["owner"] for s in transcript["spans"]]
    assert owners[-2:] == ["triage", "assessment"]
    paged = (
        await served.client.get(
            f"/v1/conversations/{low}/transcript", params={"limit": 3}, headers=auth
        )
    ).json()
    assert len(paged["events"]) == 3 and paged["next_cursor"]
    rest_page = (
        await served.client.get(
            f"/v1/conversations/{low}/transcript",
            params={"cursor": paged["next_cursor"]},
            headers=auth,
        )
    ).json()
    assert rest_page["events"][0]["seq"] == 4
    # the spans (of the whole log) come with the first page only: each page used to read,
    # and send, the whole log again
    assert paged["spans"] == transcript["spans"] and rest_page["spans"] == []
    assert rest_page["next_cursor"] is None
    assert rest_page["events"][-1]["seq"] == transcript["events"][-1]["seq"]


async def test_operator_actions(served: Served) -> None:
    auth = served.auth()
    conversation = await talk(served, "op-1", "hi")
    base = f"/v1/conversations/{conversation}"
    assigned = await served.client.post(
        f"{base}/assign", json={"bot_id": "appointment", "mode": "suggest"}, headers=auth
    )
    assert assigned.status_code == 200
    assert assigned.json()["conversation"]["owner"] == "appointment"
    assert assigned.json()["conversation"]["mode"] == "suggest"
    # In suggestive mode the bot's reply is a suggestion for a human.
    await talk(served, "op-1", "tomorrow")
    state = (await served.client.get(base, headers=auth)).json()
    assert state["suggestions"], state
    suggestion_id = next(iter(state["suggestions"]))
    edited = await served.client.post(
        f"{base}/suggestions/{suggestion_id}/edit", json={"text": "Edited reply"}, headers=auth
    )
    assert edited.status_code == 200
    assert edited.json()["replies"][0]["text"] == "Edited reply"
    # a colleague resolved it already: said so (it was a 404, as if the id were wrong)
    gone = await served.client.post(f"{base}/suggestions/{suggestion_id}/approve", headers=auth)
    assert gone.status_code == 409 and gone.json()["error"]["code"] == "suggestion_resolved"
    assert "was edited already (by operator)" in gone.json()["error"]["message"]
    wrong = await served.client.post(f"{base}/suggestions/sug_nope/approve", headers=auth)
    assert wrong.status_code == 404 and wrong.json()["error"]["code"] == "suggestion_not_found"
    blank = await served.client.post(f"{base}/messages", json={"text": " \u200b "}, headers=auth)
    assert blank.status_code == 422
    assert blank.json()["error"]["message"] == (
        "body.text: the text is blank, shows only invisible characters, or holds a control "
        "character other than a tab or a line break"
    )
    for action in ("escalate", "handback"):  # every field optional: no body is fine
        bare = await served.client.post(f"{base}/{action}", headers=auth)
        assert bare.status_code == 200, (action, bare.text)
    mode = await served.client.post(f"{base}/mode", json={"mode": "auto"}, headers=auth)
    assert mode.json()["conversation"]["mode"] == "auto"
    paused = await served.client.post(
        f"{base}/status",
        json={"status": "paused", "until": "2030-01-01T00:00:00Z"},
        headers=auth,
    )
    assert paused.json()["conversation"]["bot_status"] == "paused"
    # the assigned bot is paused: the primary takes the next message, and the view says so
    assert paused.json()["conversation"]["answering"] == "triage"
    why = paused.json()["conversation"]["answering_why"]
    assert why == "assigned bot appointment is paused; primary takes over"
    past = {"status": "paused", "until": "2020-01-01T00:00:00Z"}
    refused = await served.client.post(f"{base}/status", json=past, headers=auth)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_request"
    assert "future" in refused.json()["error"]["message"]
    idle_handback = await served.client.post(f"{base}/handback", json={}, headers=auth)
    assert idle_handback.status_code == 409
    assert idle_handback.json()["error"]["code"] == "not_held_by_human"
    escalated = await served.client.post(f"{base}/escalate", json={"reason": "vip"}, headers=auth)
    assert escalated.json()["conversation"]["human"] is True
    assert escalated.json()["conversation"]["answering"] is None
    said = await served.client.post(
        f"{base}/messages", json={"text": "Hello, Sam here.", "agent": "sam"}, headers=auth
    )
    assert said.json()["replies"] == [
        {"text": "Hello, Sam here.", "bot_id": None, "sender": "human", "suggestion_id": None}
    ]
    back = await served.client.post(f"{base}/handback", json={"bot_id": "triage"}, headers=auth)
    assert back.json()["conversation"]["human"] is False
    unknown = await served.client.post(f"{base}/assign", json={"bot_id": "nobot"}, headers=auth)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "bot_not_found"
    invalid = await served.client.post(f"{base}/status", json={"status": "sleepy"}, headers=auth)
    assert invalid.status_code == 422 and invalid.json()["error"]["code"] == "invalid_request"


async def test_a_human_who_writes_owns_the_conversation_in_every_view(served: Served) -> None:
    auth = served.auth()
    conversation = await talk(served, "takeover-1", "hi")
    base = f"/v1/conversations/{conversation}"
    said = await served.client.post(
        f"{base}/messages", json={"text": "Hi, Ana here.", "agent": "ana"}, headers=auth
    )
    assert said.json()["conversation"]["human"] is True
    assert (await served.client.get(base, headers=auth)).json()["human"] is True
    listed = await served.client.get("/v1/conversations", params={"human": "true"}, headers=auth)
    assert conversation in [c["conversation_id"] for c in listed.json()["items"]]
    transcript = (await served.client.get(f"{base}/transcript", headers=auth)).json()
    assert [(s["owner"], s["human"]) for s in transcript["spans"]][-1] == (None, True)
    view = (await served.client.get(base, headers=auth)).json()
    assert view["answering_why"] == "human agent ana took over the conversation"
    other = await talk(served, "takeover-2", "hi")
    unnamed = await served.client.post(
        f"/v1/conversations/{other}/messages", json={"text": "Hello."}, headers=auth
    )  # the API's default agent name is "agent": not "human agent agent took over"
    assert unnamed.json()["conversation"]["answering_why"] == (
        "a human agent took over the conversation"
    )


async def test_per_key_rate_limit(served: Served) -> None:
    limiter = served.app.state.baton_api.key_limiter
    limiter.capacity, limiter.rate = 2.0, 2.0 / 60
    codes = [
        (await served.client.get("/v1/bots", headers=served.auth())).status_code for _ in range(3)
    ]
    assert codes == [200, 200, 429]
    metrics = (await served.client.get("/metrics")).text
    assert 'baton_errors_total{kind="rate_limited"} 1.0' in metrics


async def test_bad_cursor_and_missing_objects(served: Served) -> None:
    auth = served.auth()
    bad = await served.client.get("/v1/contacts", params={"cursor": "!!"}, headers=auth)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"
    missing = await served.client.get("/v1/conversations/conv_nope", headers=auth)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "conversation_not_found"


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
async def test_a_field_value_that_is_no_json_number_is_refused(
    served: Served, literal: str
) -> None:
    """Python's JSON reader takes NaN and Infinity, which no JSON writer may write back: the
    contact was stored with the value turned into null."""
    body = '{"identities": {"rest": "nan-' + literal + '"}, "fields": {"score": ' + literal + "}}"
    headers = {**served.auth(), "Content-Type": "application/json"}
    answer = await served.client.post("/v1/contacts", content=body, headers=headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "invalid_request"
    listed = await served.client.get("/v1/contacts", headers=served.auth())
    assert listed.status_code == 200
    assert not any("nan-" in str(c["identities"]) for c in listed.json()["items"])


async def test_names_that_show_nothing_or_look_alike_are_refused_or_made_one(
    served: Served,
) -> None:
    auth = served.auth()
    created = await served.client.post(
        "/v1/contacts", json={"identities": {"rest": "tagger"}}, headers=auth
    )
    contact = created.json()["contact_id"]
    invisible = await served.client.patch(
        f"/v1/contacts/{contact}", json={"add_tags": ["\u200b"]}, headers=auth
    )
    assert invisible.status_code == 422
    composed = await served.client.patch(
        f"/v1/contacts/{contact}", json={"add_tags": ["caf\u00e9", "cafe\u0301"]}, headers=auth
    )
    assert composed.json()["tags"] == ["caf\u00e9"]
    blank = await served.client.post(
        "/channels/rest/webhook", json={"sender": " ", "message": "hi"}, headers=auth
    )
    assert blank.status_code == 422
    conversation = await talk(served, "agent-name", "hi")
    said = await served.client.post(
        f"/v1/conversations/{conversation}/messages",
        json={"text": "hello", "agent": "ana\u0000"},
        headers=auth,
    )
    assert said.status_code == 422
    wrong_method = await served.client.get("/channels/rest/webhook")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"


async def test_the_schema_lists_every_error_answer_as_an_error_body(served: Served) -> None:
    schema = (await served.client.get("/openapi.json")).json()
    for path in ("/channels/rest/webhook", "/webhooks/rest/webhook", "/v1/contacts"):
        responses = schema["paths"][path]["post"]["responses"]
        assert {"400", "413", "422", "429"} <= set(responses), (path, sorted(responses))
        body = responses["422"]["content"]["application/json"]["schema"]
        assert body == {"$ref": "#/components/schemas/ErrorBody"}, (path, body)


async def test_a_filter_few_conversations_match_pages_short_instead_of_reading_them_all(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`?human=true` over 42,000 open conversations read every snapshot in one request
    (20 s, with turns waiting); a page now reads a bounded number and hands a cursor on."""
    from baton.api import db

    auth = served.auth()
    held = await talk(served, "first-of-many", "hi")
    await served.client.post(f"/v1/conversations/{held}/escalate", headers=auth)
    for n in range(60):
        await talk(served, f"later-{n}", "hi")
    monkeypatch.setattr(db, "MAX_SCANNED", 50)
    params: dict[str, Any] = {"human": True, "limit": 1}
    first = (await served.client.get("/v1/conversations", params=params, headers=auth)).json()
    assert first["items"] == [] and first["next_cursor"]  # 50 read, none held: go on
    params["cursor"] = first["next_cursor"]
    second = (await served.client.get("/v1/conversations", params=params, headers=auth)).json()
    assert [c["conversation_id"] for c in second["items"]] == [held]
    assert second["next_cursor"] is None
