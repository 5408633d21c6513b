"""Lists page on keys (no repeats when items arrive), and filters test what items show."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.server.conftest import Served


async def _all_pages(served: Served, path: str, **params: Any) -> list[list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = []
    cursor = None
    while True:
        query = dict(params, **({"cursor": cursor} if cursor else {}))
        answer = await served.client.get(path, params=query, headers=served.auth())
        assert answer.status_code == 200, answer.text
        pages.append(answer.json()["items"])
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            return pages


async def _talk(served: Served, sender: str, text: str = "hello") -> str:
    answer = await served.client.post(
        "/channels/rest/webhook", json={"sender": sender, "message": text}
    )
    conversation: str = answer.json()["conversation_id"]
    return conversation


async def test_contacts_created_between_pages_are_not_shown_twice(served: Served) -> None:
    auth = served.auth()
    for i in range(5):
        await served.client.post("/v1/contacts", json={"contact_id": f"k-{i}"}, headers=auth)
    first = (await served.client.get("/v1/contacts", params={"limit": 2}, headers=auth)).json()
    assert [c["contact_id"] for c in first["items"]] == ["k-4", "k-3"]
    await served.client.post("/v1/contacts", json={"contact_id": "k-new"}, headers=auth)
    seen = [c["contact_id"] for c in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = await served.client.get(
            "/v1/contacts", params={"limit": 2, "cursor": cursor}, headers=auth
        )
        seen += [c["contact_id"] for c in page.json()["items"]]
        cursor = page.json()["next_cursor"]
    assert seen == ["k-4", "k-3", "k-2", "k-1", "k-0"]  # k-new is on the next listing


async def test_a_conversation_with_a_turn_between_pages_shifts_no_page(served: Served) -> None:
    auth = served.auth()
    for i in range(5):
        await _talk(served, f"pager-{i}")
    first = (await served.client.get("/v1/conversations", params={"limit": 2}, headers=auth)).json()
    await _talk(served, "pager-0", "me again")  # the oldest becomes the most recent
    await _talk(served, "pager-new")  # and a new one opens
    seen = [c["conversation_id"] for c in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = await served.client.get(
            "/v1/conversations", params={"limit": 2, "cursor": cursor}, headers=auth
        )
        seen += [c["conversation_id"] for c in page.json()["items"]]
        cursor = page.json()["next_cursor"]
    assert len(seen) == len(set(seen)) == 4  # pager-0 moved to the front: seen next time


async def test_a_malformed_cursor_is_422(served: Served) -> None:
    for path in ("/v1/contacts", "/v1/conversations"):
        for cursor in ("abc", "3", "bm90IGEgY3Vyc29y", "12.abc", "-1.6b"):
            answer = await served.client.get(path, params={"cursor": cursor}, headers=served.auth())
            assert answer.status_code == 422, (path, cursor, answer.text)
            assert answer.json()["error"]["code"] == "invalid_request"
        far = await served.client.get(
            path, params={"cursor": "99999999999999999.ff"}, headers=served.auth()
        )
        assert far.status_code == 200  # well-formed: every item comes before it


async def test_status_and_mode_filters_match_what_items_show(served: Served) -> None:
    """No bot assigned: the items show the primary's status and mode; filters agree."""
    auth = served.auth()
    paused = await _talk(served, "filter-paused")
    suggest = await _talk(served, "filter-suggest")
    plain = await _talk(served, "filter-plain")
    for conversation, action, body in [
        (paused, "status", {"status": "paused"}),
        (suggest, "mode", {"mode": "suggest"}),
    ]:
        answer = await served.client.post(
            f"/v1/conversations/{conversation}/{action}", json=body, headers=auth
        )
        assert answer.status_code == 200, answer.text

    async def ids(**params: Any) -> set[str]:
        pages = await _all_pages(served, "/v1/conversations", limit=1, **params)
        return {c["conversation_id"] for page in pages for c in page}

    shown = {
        c["conversation_id"]: (c["owner"], c["bot_status"], c["mode"])
        for page in await _all_pages(served, "/v1/conversations")
        for c in page
    }
    assert shown[paused] == (None, "paused", "auto")
    assert shown[suggest] == (None, "active", "suggest")
    assert await ids(status="paused") == {paused}
    assert paused not in await ids(status="active")
    assert await ids(mode="suggest") == {suggest}
    assert await ids(status="active", mode="suggest") == {suggest}
    assert plain in await ids(status="active", mode="auto")


async def test_a_timed_pause_that_ran_out_shows_active(served: Served) -> None:
    conversation = await _talk(served, "brief-pause")
    until = datetime.now(UTC) + timedelta(seconds=1)
    answer = await served.client.post(
        f"/v1/conversations/{conversation}/status",
        json={"status": "paused", "until": until.isoformat()},
        headers=served.auth(),
    )
    assert answer.json()["conversation"]["bot_status"] == "paused"
    await asyncio.sleep(1.1)
    shown = await served.client.get(f"/v1/conversations/{conversation}", headers=served.auth())
    assert shown.json()["bot_status"] == "active"
    listed = await served.client.get(
        "/v1/conversations", params={"status": "paused"}, headers=served.auth()
    )
    assert conversation not in [c["conversation_id"] for c in listed.json()["items"]]
