"""When the SQLite file under a running server is deleted or damaged, /ready says so and
turns are refused with 503: every message posted after a deletion was acknowledged, and
lost at the next start (a new, empty file), without a word."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.exc import DatabaseError, OperationalError

from baton.api.errors import failure_response, store_trouble
from baton.domain.errors import StoreUnavailable
from tests.server.conftest import Served


async def test_a_database_file_deleted_while_serving_stops_turns_and_readiness(
    served: Served, tmp_path: Path
) -> None:
    hello = {"sender": "ana", "message": "hi"}
    assert (await served.client.post("/channels/rest/webhook", json=hello)).status_code == 200
    assert (await served.client.get("/ready")).status_code == 200
    for name in ("baton.db", "baton.db-wal", "baton.db-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    for _ in range(40):  # the checkpointer's thread watches the file four times a second
        await asyncio.sleep(0.05)
        if served.baton.engine.store._writer.checkpointer.lost:  # type: ignore[attr-defined]
            break
    refused = await served.client.post("/channels/rest/webhook", json=hello)
    assert refused.status_code == 503 and refused.headers["retry-after"] == "5"
    assert refused.json()["error"]["code"] == "store_unavailable"
    ready = await served.client.get("/ready")
    assert ready.status_code == 503
    assert "was deleted while in use" in ready.json()["checks"]["store"]


@pytest.mark.parametrize(
    "failure",
    [
        StoreUnavailable("can't open"),
        sqlite3.OperationalError("database or disk is full"),
        sqlite3.DatabaseError("file is not a database"),
        OperationalError("SELECT 1", {}, ConnectionRefusedError("refused")),
        ConnectionRefusedError(111, "Connect call failed"),
    ],
)
def test_store_failures_are_503_with_retry_after_not_internal_errors(failure: Exception) -> None:
    assert store_trouble(failure) is not None
    answer = failure_response(failure, "POST /x")
    assert answer.status_code == 503 and answer.headers["retry-after"] == "5"


@pytest.mark.parametrize(
    "bug",
    [
        sqlite3.IntegrityError("UNIQUE constraint failed"),
        sqlite3.OperationalError('near "SELEC": syntax error'),
        sqlite3.OperationalError("no such table: events"),
        OperationalError("SELECT x", {}, sqlite3.OperationalError("no such column: x")),
        KeyError("x"),
    ],
)
def test_a_bug_is_still_a_500_not_an_outage_to_retry(bug: Exception) -> None:
    assert store_trouble(bug) is None
    assert failure_response(bug, "POST /x").status_code == 500


def test_a_file_that_is_no_database_read_through_sqlalchemy_is_an_outage() -> None:
    wrapped = DatabaseError("SELECT 1", {}, sqlite3.DatabaseError("file is not a database"))
    assert store_trouble(wrapped) == "file is not a database"
