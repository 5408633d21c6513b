"""Concurrent API changes of one contact: each one is kept."""

from __future__ import annotations

import asyncio

from tests.server.conftest import Served


async def test_concurrent_tag_field_and_form_changes_are_all_kept(served: Served) -> None:
    auth = served.auth()
    await served.client.post("/v1/contacts", json={"contact_id": "busy"}, headers=auth)
    calls = []
    for i in range(12):
        calls.append(
            served.client.patch("/v1/contacts/busy", json={"add_tags": [f"t{i}"]}, headers=auth)
        )
        calls.append(
            served.client.patch("/v1/contacts/busy", json={"fields": {f"f{i}": i}}, headers=auth)
        )
        calls.append(
            served.client.post(
                "/v1/contacts/busy/forms/intake", json={"fields": {f"g{i}": "x"}}, headers=auth
            )
        )
    answers = await asyncio.gather(*calls)
    assert {a.status_code for a in answers} == {200}
    contact = (await served.client.get("/v1/contacts/busy", headers=auth)).json()
    assert sorted(contact["tags"]) == sorted(f"t{i}" for i in range(12))
    assert {f"f{i}" for i in range(12)} | {f"g{i}" for i in range(12)} <= set(contact["fields"])
