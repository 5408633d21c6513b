"""Operator actions name a conversation: an ended one is refused, never silently replaced."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from baton.api.db import Keys
from baton.server.app import Baton, create_app
from baton.testing import TestClock
from tests.server.conftest import settings_for
from tests.server.standin import Provider
from tests.workflows.projects import write_project

WORKFLOWS: dict[str, dict[str, object]] = {
    "close": {"trigger": {"tag_added": "close"}, "actions": [{"end": "closed"}]},
}


@dataclass
class Api:
    client: httpx.AsyncClient
    auth: dict[str, str]
    clock: TestClock


@pytest.fixture
async def api(tmp_path: Path, provider: tuple[Provider, str]) -> AsyncIterator[Api]:
    settings = {
        "channels": ["web", "rest", "cli"],
        "workflows": {"tags": ["close"]},
        "settings": {"idle_timeout_minutes": 30},
    }
    root = write_project(tmp_path / "p", WORKFLOWS, settings=settings)
    clock = TestClock()
    app = create_app(root, settings=settings_for(tmp_path, provider[1]), clock=clock)
    async with app.router.lifespan_context(app):
        baton: Baton = app.state.baton
        _record, secret = await Keys(baton.sql).create("default", "tests")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Api(client, {"Authorization": f"Bearer {secret}"}, clock)


async def _conversations(api: Api, contact: str) -> list[dict[str, object]]:
    answer = await api.client.get(
        "/v1/conversations", params={"contact_id": contact}, headers=api.auth
    )
    items: list[dict[str, object]] = answer.json()["items"]
    return items


async def test_an_action_on_an_ended_conversation_is_409_and_opens_nothing(api: Api) -> None:
    await api.client.post("/v1/contacts", json={"contact_id": "ann"}, headers=api.auth)
    await api.client.patch("/v1/contacts/ann", json={"add_tags": ["close"]}, headers=api.auth)
    [ended] = await _conversations(api, "ann")
    assert ended["ended"] is True
    path = f"/v1/conversations/{ended['conversation_id']}"
    for action, body in [
        ("escalate", {"reason": "x"}),
        ("messages", {"text": "hello?"}),
        ("assign", {"bot_id": "agent"}),
        ("status", {"status": "stopped"}),
        ("mode", {"mode": "suggest"}),
        ("handback", {}),
    ]:
        answer = await api.client.post(f"{path}/{action}", json=body, headers=api.auth)
        assert answer.status_code == 409, (action, answer.text)
        assert answer.json()["error"]["code"] == "conversation_ended"
    assert len(await _conversations(api, "ann")) == 1  # no new conversation was opened


async def test_a_suggestion_of_an_idle_conversation_is_409_without_ending_it(api: Api) -> None:
    first = await api.client.post("/channels/rest/webhook", json={"sender": "bo", "message": "hi"})
    conversation = first.json()["conversation_id"]
    path = f"/v1/conversations/{conversation}"
    assert (
        await api.client.post(f"{path}/mode", json={"mode": "suggest"}, headers=api.auth)
    ).status_code == 200
    await api.client.post("/channels/rest/webhook", json={"sender": "bo", "message": "again"})
    suggestions = (await api.client.get(path, headers=api.auth)).json()["suggestions"]
    [sid] = list(suggestions)
    api.clock.advance(31)
    late = await api.client.post(f"{path}/suggestions/{sid}/approve", headers=api.auth)
    assert late.status_code == 409 and late.json()["error"]["code"] == "conversation_ended"
    after = (await api.client.get(path, headers=api.auth)).json()
    assert after["ended"] is False and after["idle"] is True  # untouched, but lapsed:
    assert after["suggestions"] == {} and after["answering"] is None  # nothing to offer
    assert "new conversation" in after["answering_why"]
