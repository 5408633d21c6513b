"""Fixtures: the clinic on every channel, served in-process, with a stand-in provider."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml
from fastapi import FastAPI

from baton.api.db import Keys
from baton.server.app import Baton, create_app
from baton.server.settings import ServerSettings, channels_from_env
from baton.storage import default_sqlite_url
from tests.server.standin import Provider, ServerThread, standin_app

CLINIC = Path(__file__).parents[2] / "examples" / "clinic"
TWILIO_SID = "AC" + "0" * 32
TWILIO_TOKEN = "twilio-secret-token"
APP_SECRET = "meta-app-secret"
VERIFY_TOKEN = "meta-verify-token"


def copy_clinic(target: Path) -> Path:
    """The clinic, serving every channel, in a fresh folder."""
    root = target / "clinic"
    shutil.copytree(CLINIC, root, ignore=shutil.ignore_patterns("*.db", "*.db-*"))
    config = yaml.safe_load((root / "baton.yml").read_text())
    config["channels"] = ["web", "rest", "sms", "whatsapp", "messenger", "instagram", "cli"]
    (root / "baton.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    return root


def provider_env(base_url: str) -> dict[str, str]:
    return {
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_FROM_NUMBER": "+15550000000",
        "TWILIO_BASE_URL": base_url,
        "META_APP_SECRET": APP_SECRET,
        "META_VERIFY_TOKEN": VERIFY_TOKEN,
        "META_GRAPH_URL": base_url,
        "WHATSAPP_ACCESS_TOKEN": "wa-token",
        "WHATSAPP_PHONE_NUMBER_ID": "1234567890",
        "MESSENGER_ACCESS_TOKEN": "page-token",
        "INSTAGRAM_ACCESS_TOKEN": "ig-token",
    }


@pytest.fixture(scope="session")
def clinic_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_clinic(tmp_path_factory.mktemp("served"))


@pytest.fixture
def provider() -> Iterator[tuple[Provider, str]]:
    state = Provider()
    with ServerThread(standin_app(state)) as server:
        yield state, server.url


def settings_for(tmp_path: Path, base_url: str, **overrides: object) -> ServerSettings:
    settings = ServerSettings(
        database_url=default_sqlite_url(tmp_path / "baton.db"),
        channels=channels_from_env(provider_env(base_url)),
        outbox_poll_seconds=0.05,
        outbox_backoff_seconds=0.05,
    )
    for name, value in overrides.items():
        setattr(settings, name, value)
    return settings


@dataclass
class Served:
    app: FastAPI
    client: httpx.AsyncClient
    baton: Baton
    key: str
    provider: Provider

    def auth(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.key}"}


@pytest.fixture
async def served(
    clinic_root: Path, tmp_path: Path, provider: tuple[Provider, str]
) -> AsyncIterator[Served]:
    state, url = provider
    app = create_app(clinic_root, settings=settings_for(tmp_path, url))
    async with app.router.lifespan_context(app):
        baton: Baton = app.state.baton
        _record, secret = await Keys(baton.sql).create("default", "tests")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Served(app, client, baton, secret, state)
