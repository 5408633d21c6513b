"""API keys on both backends: `baton keys create` failed on PostgreSQL ("inconsistent
types deduced for parameter"), so the /v1 API could not be used there."""

from __future__ import annotations

from baton.api import db
from baton.storage import SqlEventStore
from tests.storage.conftest import account, postgres_url, store, url

__all__ = ["account", "postgres_url", "store", "url"]


async def test_keys_are_created_found_and_revoked(store: SqlEventStore, account: str) -> None:
    keys = db.Keys(db.sql_engine(store))
    record, secret = await keys.create(account, "ops")
    again, _other = await keys.create(account)  # the account exists now: created once
    assert record.account_id == account and record.name == "ops"
    assert {k.key_id for k in await keys.list(account)} == {record.key_id, again.key_id}
    found = await keys.authenticate(secret)
    assert found is not None and found.key_id == record.key_id
    assert await keys.revoke(record.key_id)
    assert await keys.authenticate(secret) is None
