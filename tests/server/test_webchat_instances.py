"""Web chat across two instances on one PostgreSQL: an operator's message sent through
one instance reaches the customer's tab open on the other (it reached only tabs of the
instance that ran the turn)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
import websockets

from baton.api.db import hash_secret
from baton.server.app import create_app
from baton.server.settings import ServerSettings
from tests.server.standin import ServerThread
from tests.server.test_webchat import frames_until
from tests.storage.conftest import postgres_url

__all__ = ["postgres_url"]


@pytest.fixture
def two(clinic_root: Path, postgres_url: str) -> Iterator[list[ServerThread]]:
    settings = ServerSettings(database_url=postgres_url)
    with (
        ServerThread(create_app(clinic_root, settings=settings)) as one,
        ServerThread(create_app(clinic_root, settings=settings)) as other,
    ):
        for server in (one, other):  # until each instance listens
            relay = server.server.config.app.state.baton.relay
            deadline = time.monotonic() + 10
            while not relay.listening.is_set() and time.monotonic() < deadline:
                time.sleep(0.02)
            assert relay.listening.is_set()
        yield [one, other]


async def _key(postgres_url: str, name: str) -> str:
    """An API key, inserted as `baton keys create` does (the servers' loops are theirs)."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from baton.api.db import api_keys

    secret = f"bk_{name}-secret"
    engine = create_async_engine(postgres_url)
    async with engine.begin() as conn:
        await conn.execute(
            api_keys.insert(),
            {
                "id": f"key_{name}",
                "account_id": "default",
                "name": name,
                "prefix": secret[:7],
                "secret_hash": hash_secret(secret),
                "created_at": datetime.now(UTC),
                "revoked_at": None,
            },
        )
    await engine.dispose()
    return secret


async def _contact_of(postgres_url: str, session: str) -> str:
    from sqlalchemy.ext.asyncio import create_async_engine

    from baton.storage.schema import contact_identities as ids

    engine = create_async_engine(postgres_url)
    async with engine.connect() as conn:
        found = await conn.execute(
            sa.select(ids.c.contact_id).where(ids.c.channel == "web", ids.c.address == session)
        )
        contact = str(found.scalar_one())
    await engine.dispose()
    return contact


@pytest.mark.postgres
async def test_an_operator_message_sent_through_another_instance_reaches_the_tab(
    two: list[ServerThread], postgres_url: str, tmp_path: Path
) -> None:
    one, other = two
    session = f"relay-{tmp_path.name[-20:]}".replace("_", "-")
    url = one.url.replace("http", "ws") + f"/channels/web/ws?session={session}"
    secret = await _key(postgres_url, tmp_path.name[-12:])
    async with websockets.connect(url) as socket:
        assert json.loads(await socket.recv())["type"] == "history"
        await socket.send(json.dumps({"text": "hi", "id": "r1"}))
        await frames_until(socket, "ack")
        auth = {"Authorization": f"Bearer {secret}"}
        async with httpx.AsyncClient(base_url=other.url, headers=auth) as client:
            contact = await _contact_of(postgres_url, session)
            listed = await client.get("/v1/conversations", params={"contact_id": contact})
            (item,) = listed.json()["items"]
            conversation = item["conversation_id"]
            sent = await client.post(
                f"/v1/conversations/{conversation}/messages",
                json={"text": "Sam here, from the other instance."},
            )
            assert sent.status_code == 200, sent.text
        pushed = await asyncio.wait_for(frames_until(socket, "reply"), 10)
        assert pushed[-1]["text"] == "Sam here, from the other instance."
        assert pushed[-1]["sender"] == "human" and pushed[-1]["seq"] > 0
