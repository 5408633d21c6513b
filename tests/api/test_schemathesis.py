"""Property-based tests of the whole OpenAPI schema: no server errors, no schema violations."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from baton.api.db import Keys
from baton.server.app import create_app
from baton.server.settings import ServerSettings, channels_from_env
from baton.storage import default_sqlite_url
from tests.server.conftest import copy_clinic, provider_env
from tests.server.standin import ServerThread

# CI runs a quick pass; BATON_SCHEMATHESIS_EXAMPLES=500 explores deeper on demand
EXAMPLES = int(os.environ.get("BATON_SCHEMATHESIS_EXAMPLES", "25"))


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    folder = tmp_path_factory.mktemp("schemathesis")
    root = copy_clinic(folder)
    config = ServerSettings(
        database_url=default_sqlite_url(folder / "api.db"),
        key_rate_per_minute=1_000_000,
        contact_rate_per_minute=1_000_000,
        channels=channels_from_env(provider_env("http://127.0.0.1:9")),
    )
    with ServerThread(create_app(root, settings=config)) as server:
        sql = server.server.config.app.state.baton.sql
        _record, secret = asyncio.run(Keys(sql).create("default", "schemathesis"))
        yield server.url, secret


def test_api_conforms_to_its_schema(live_api: tuple[str, str]) -> None:
    url, secret = live_api
    schema = schemathesis.openapi.from_url(url + "/openapi.json")
    headers = {"Authorization": f"Bearer {secret}"}
    tested = []
    for result in schema.get_all_operations():
        operation = result.ok()
        tested.append(operation.label)

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(case: Any) -> None:
            case.call_and_validate(headers=headers)

        check()
    assert len(tested) >= 20, tested
