"""Opening the store as users point it at a database: paths, wrong databases, newer
schemas, several instances starting at once. One clear line, never a traceback."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from baton.domain.errors import StoreUnavailable
from baton.storage import SqlEventStore, default_sqlite_url
from baton.storage.engine import upgrade_schema

OPEN_ONCE = """
import asyncio, sys
from baton.storage import SqlEventStore

async def main() -> None:
    async with SqlEventStore(sys.argv[1]):
        pass

asyncio.run(main())
"""


def _one_line(error: StoreUnavailable) -> str:
    text = str(error)
    assert "\n" not in text
    assert "sqlalche.me" not in text and "[SQL:" not in text
    return text


async def test_a_plain_path_is_a_sqlite_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    async with SqlEventStore("data/plain.db"):
        pass
    async with SqlEventStore(str(tmp_path / "absolute.db")):
        pass
    assert (tmp_path / "data" / "plain.db").is_file()
    assert (tmp_path / "absolute.db").is_file()


async def test_a_home_relative_sqlite_url_opens_under_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    async with SqlEventStore("sqlite:///~/baton/tilde.db"):
        pass
    async with SqlEventStore("~/baton/plain.db"):
        pass
    assert (tmp_path / "home" / "baton" / "tilde.db").is_file()
    assert (tmp_path / "home" / "baton" / "plain.db").is_file()
    assert not (tmp_path / "~").exists()


async def test_a_folder_or_a_file_that_is_no_database_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable) as folder:
        await SqlEventStore(default_sqlite_url(tmp_path)).open()
    assert "unable to open database file" in _one_line(folder.value)

    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(os.urandom(4096))
    with pytest.raises(StoreUnavailable) as not_a_database:
        await SqlEventStore(default_sqlite_url(garbage)).open()
    assert "file is not a database" in _one_line(not_a_database.value)


async def test_another_programs_sqlite_file_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "theirs.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE accounts (x)")
    with pytest.raises(StoreUnavailable) as caught:
        await SqlEventStore(default_sqlite_url(path)).open()
    text = _one_line(caught.value)
    assert "table accounts already exists" in text
    assert "a Baton database" in text


async def test_a_missing_postgres_database_is_one_clear_line(postgres_url: str) -> None:
    url = postgres_url.rsplit("/", 1)[0] + "/baton_no_such_database"
    with pytest.raises(StoreUnavailable) as caught:
        await SqlEventStore(url).open()
    text = _one_line(caught.value)
    assert 'database "baton_no_such_database" does not exist' in text
    assert "folder" not in text  # the hint is PostgreSQL's, not a file's


async def test_an_unsupported_database_is_named(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable, match="SQLite or PostgreSQL, not mysql") as caught:
        await SqlEventStore("mysql://user@localhost/baton").open()
    _one_line(caught.value)


async def test_a_schema_newer_than_this_baton_is_refused_not_downgraded(fresh_url: str) -> None:
    async with SqlEventStore(fresh_url) as store, store.engine.begin() as conn:
        await conn.execute(sa.text("UPDATE alembic_version SET version_num = '0999'"))
    with pytest.raises(StoreUnavailable) as caught:
        await SqlEventStore(fresh_url).open()
    text = _one_line(caught.value)
    assert "revision 0999, newer than this Baton knows (up to 0005)" in text
    assert "never downgrades" in text


def test_upgrading_a_store_made_at_the_first_revision_keeps_its_rows(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config

    from baton.storage.engine import MIGRATIONS

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        with engine.begin() as connection:
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = connection
            command.upgrade(config, "0001")
            connection.execute(
                sa.text(
                    "INSERT INTO accounts (id, name, created_at) "
                    "VALUES ('old', 'Old', '2024-01-01 00:00:00.000000')"
                )
            )
        with engine.begin() as connection:
            upgrade_schema(connection)
            version = connection.execute(sa.text("SELECT version_num FROM alembic_version"))
            assert version.scalar_one() == "0005"
            names = connection.execute(sa.text("SELECT id FROM accounts")).scalars().all()
            assert names == ["old"]
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database no migration has run on yet, on each backend."""
    if request.param == "sqlite":
        return default_sqlite_url(tmp_path / "fresh.db")
    url: str = request.getfixturevalue("fresh_postgres_url")
    return url


def test_instances_starting_at_once_on_a_new_database_all_open(fresh_url: str) -> None:
    for _round in range(2):  # the second round finds the schema up to date
        runs = [
            subprocess.Popen(
                [sys.executable, "-c", OPEN_ONCE, fresh_url],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(5)
        ]
        failures = []
        for run in runs:
            _out, err = run.communicate(timeout=60)
            if run.returncode:
                failures.append(err.strip().splitlines()[-1])
        assert failures == []


async def test_opens_in_one_process_at_once_all_succeed(fresh_url: str) -> None:
    stores = [SqlEventStore(fresh_url) for _ in range(4)]
    try:
        await asyncio.gather(*(store.open() for store in stores))
    finally:
        for store in stores:
            await store.close()


async def test_a_sync_driver_is_one_line_that_names_the_fix() -> None:
    """``postgresql+psycopg2://`` ended in a 167-line traceback (No module named psycopg2)."""
    for url in ("postgresql+psycopg2://u@localhost/b", "sqlite+pysqlite:///x.db"):
        with pytest.raises(StoreUnavailable, match="through its async driver") as caught:
            await SqlEventStore(url).open()
        _one_line(caught.value)


async def test_a_postgres_scheme_url_is_postgresql(postgres_url: str) -> None:
    """Hosting providers hand out ``postgres://``: it was refused as "not postgres"."""
    url = "postgres://" + postgres_url.split("://", 1)[1] + "?sslmode=disable"  # libpq's
    store = SqlEventStore(url)
    await store.open()
    try:
        await store.add_account("postgres-scheme", "Heroku-style URL")
    finally:
        await store.close()


async def test_a_dropped_pooled_connection_is_replaced_not_an_error(postgres_url: str) -> None:
    """The first request after the server closed the pool's connections answered 500."""
    store = SqlEventStore(postgres_url)
    await store.open()
    try:
        await store.add_account("dropped-pool", "Dropped")
        async with store.engine.connect() as conn:  # a connection for the pool
            pid = (await conn.execute(sa.text("SELECT pg_backend_pid()"))).scalar()
        other = SqlEventStore(postgres_url)
        await other.open()
        try:
            async with other.engine.connect() as conn:
                await conn.execute(sa.select(sa.func.pg_terminate_backend(pid)))
        finally:
            await other.close()
        async with store.engine.connect() as conn:  # the same pooled connection, dead
            assert (await conn.execute(sa.text("SELECT 1"))).scalar() == 1
    finally:
        await store.close()


async def test_a_url_parameter_the_driver_does_not_take_is_one_line(postgres_url: str) -> None:
    with pytest.raises(StoreUnavailable, match="can't open the event store") as caught:
        await SqlEventStore(postgres_url + "?no_such_option=1").open()
    _one_line(caught.value)
