"""The management API of one instance sees what another instance did to a conversation
(PostgreSQL): its cached state used to show an old version, and a suggestion made on
the other instance could not be approved (404 suggestion_not_found)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest

from baton.api.db import Keys
from baton.server.app import create_app
from tests.server.conftest import settings_for
from tests.storage.conftest import postgres_url

__all__ = ["postgres_url"]


@pytest.fixture
async def two(
    clinic_root: Path, tmp_path: Path, postgres_url: str
) -> AsyncIterator[list[httpx.AsyncClient]]:
    async with AsyncExitStack() as stack:
        clients = []
        for _ in range(2):
            settings = settings_for(tmp_path, "http://127.0.0.1:9", database_url=postgres_url)
            app = create_app(clinic_root, settings=settings)
            await stack.enter_async_context(app.router.lifespan_context(app))
            transport = httpx.ASGITransport(app=app)
            client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
            clients.append(await stack.enter_async_context(client))
        _record, secret = await Keys(app.state.baton.sql).create("default", "two instances")
        for client in clients:
            client.headers["Authorization"] = f"Bearer {secret}"
        yield clients


@pytest.mark.postgres
async def test_an_instance_acts_on_what_another_instance_did(
    two: list[httpx.AsyncClient], tmp_path: Path
) -> None:
    one, other = two
    sender = f"twin-{tmp_path.name}"

    async def say(client: httpx.AsyncClient, text: str) -> str:
        answer = await client.post(
            "/channels/rest/webhook", json={"sender": sender, "message": text}
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["conversation_id"])

    conversation = await say(one, "hi")
    base = f"/v1/conversations/{conversation}"
    assert (await other.get(base)).status_code == 200  # instance two caches the state now
    assigned = await one.post(f"{base}/assign", json={"bot_id": "appointment", "mode": "suggest"})
    assert assigned.status_code == 200
    await say(one, "tomorrow")
    seen = (await other.get(base)).json()
    assert seen["owner"] == "appointment" and seen["mode"] == "suggest"
    assert seen["suggestions"], seen
    suggestion = next(iter(seen["suggestions"]))
    approved = await other.post(f"{base}/suggestions/{suggestion}/approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["replies"]
