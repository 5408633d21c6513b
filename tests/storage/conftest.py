"""Fixtures: one store per test, on a SQLite file and on a scratch PostgreSQL database."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from baton.domain.ids import new_id
from baton.storage import SqlEventStore, default_sqlite_url

# Override to point the PostgreSQL tests at another server (trust auth expected).
POSTGRES_SERVER = os.environ.get("BATON_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(f"{POSTGRES_SERVER}/postgres", timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh database for this test session, dropped at the end."""
    name = f"baton_test_{secrets.token_hex(4)}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        reason = f"PostgreSQL at {POSTGRES_SERVER} is unreachable ({exc!r})"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI is set, so the PostgreSQL tests must run")
        pytest.skip(f"{reason}; start it, or set CI=1 to make this a failure")
    yield f"{POSTGRES_SERVER.replace('postgresql://', 'postgresql+asyncpg://', 1)}/{name}"
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def fresh_postgres_url(postgres_url: str) -> Iterator[str]:
    """An empty database of the test's own (no migration has run on it), dropped after."""
    name = f"baton_fresh_{secrets.token_hex(4)}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    yield f"{postgres_url.rsplit('/', 1)[0]}/{name}"
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty store on each backend."""
    if request.param == "sqlite":
        return default_sqlite_url(tmp_path / "data" / "baton.db")
    postgres: str = request.getfixturevalue("postgres_url")
    return postgres


@pytest.fixture
async def store(url: str) -> AsyncIterator[SqlEventStore]:
    """An open store, closed (and its connections released) after the test."""
    opened = SqlEventStore(url)
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def account() -> str:
    """A fresh account id, so tests sharing the PostgreSQL database don't see each other."""
    return new_id("acct")
