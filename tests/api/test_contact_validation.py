"""Contact bodies refuse names and addresses no workflow or channel could use."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.conftest import Served

JUNK: list[dict[str, Any]] = [
    {"tags": [""]},
    {"tags": ["   "]},
    {"tags": ["bad\u0000tag"]},
    {"tags": ["line\nbreak"]},
    {"fields": {"": 1}},
    {"fields": {"\u0007bell": 1}},
    {"fields": {"\u0085": True}},  # a C1 control: Python's \s matched it, the schema's did not
    {"tags": ["c1\u009bcontrol"]},
    {"identities": {"carrier_pigeon": "coop-7"}},
    {"identities": {"sms": ""}},
    {"identities": {"sms": "+1555\u0000"}},
    {"language": "English (US)"},
    {"language": "e"},
]


@pytest.mark.parametrize("body", JUNK)
async def test_junk_in_a_new_contact_is_422_and_nothing_is_stored(
    served: Served, body: dict[str, Any]
) -> None:
    answer = await served.client.post(
        "/v1/contacts", json={"contact_id": "junk", **body}, headers=served.auth()
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "invalid_request"
    assert (await served.client.get("/v1/contacts/junk", headers=served.auth())).status_code == 404


async def test_junk_in_a_patch_or_form_is_422(served: Served) -> None:
    auth = served.auth()
    await served.client.post("/v1/contacts", json={"contact_id": "tidy"}, headers=auth)
    for body in ({"add_tags": [""]}, {"remove_tags": ["\u0000"]}, {"fields": {" ": 1}}):
        answer = await served.client.patch("/v1/contacts/tidy", json=body, headers=auth)
        assert answer.status_code == 422, (body, answer.text)
    form = await served.client.post(
        "/v1/contacts/tidy/forms/intake", json={"fields": {"": "x"}}, headers=auth
    )
    assert form.status_code == 422
    kept = (await served.client.get("/v1/contacts/tidy", headers=auth)).json()
    assert (kept["tags"], kept["fields"]) == ([], {})


async def test_real_names_addresses_and_languages_pass(served: Served) -> None:
    body = {
        "contact_id": "fine",
        "tags": ["vip", "año nuevo", "客户"],
        "fields": {"plan name": "gold", "città": None},
        "identities": {"whatsapp": "+34 600 000 000", "web": "session-1"},
        "language": "pt-BR",
    }
    answer = await served.client.post("/v1/contacts", json=body, headers=served.auth())
    assert answer.status_code == 201, answer.text
    assert answer.json()["tags"] == ["vip", "año nuevo", "客户"]


async def test_names_are_trimmed(served: Served) -> None:
    """A trailing newline passes the schema's pattern (Python's `$`); it is trimmed off."""
    body = {"contact_id": "trim\n", "tags": [" vip\n"], "fields": {"plan ": 1}, "language": "en\n"}
    answer = await served.client.post("/v1/contacts", json=body, headers=served.auth())
    assert answer.status_code == 201, answer.text
    got = answer.json()
    assert (got["contact_id"], got["tags"], got["fields"], got["language"]) == (
        "trim",
        ["vip"],
        {"plan": 1},
        "en",
    )


def test_the_apis_channels_are_the_projects() -> None:
    from typing import get_args

    from baton.api.models import Channel
    from baton.spec.settings import CHANNELS

    assert set(get_args(Channel)) == set(CHANNELS)


async def test_blank_or_invisible_operator_texts_are_refused(served: Served) -> None:
    auth = served.auth()
    answer = await served.client.post(
        "/channels/rest/webhook", json={"sender": "blank-op", "message": "hi"}
    )
    base = f"/v1/conversations/{answer.json()['conversation_id']}"
    for text in ("   ", "\u200b\u200b", "\x00", "\n\t"):
        refused = await served.client.post(f"{base}/messages", json={"text": text}, headers=auth)
        assert refused.status_code == 422, (text, refused.text)
    sent = await served.client.post(
        f"{base}/messages", json={"text": "Line one\nline two"}, headers=auth
    )
    assert sent.status_code == 200


def test_the_schema_patterns_mean_the_same_to_python_and_ecmascript() -> None:
    """The body validates with Python's regexes, schemathesis and clients with ECMAScript's:
    a class they read differently (``\\s`` and U+0085) made a schema-valid body a 422."""
    from baton.api.models import MESSAGE, VISIBLE

    for pattern in (VISIBLE, MESSAGE):
        assert "\\s" not in pattern and "\\S" not in pattern
