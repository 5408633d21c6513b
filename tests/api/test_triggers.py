"""Contact changes through the API run workflows: tags, fields, forms, appointments."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from baton.api.db import Keys
from baton.server.app import Baton, create_app
from baton.testing import TestClock
from tests.server.conftest import settings_for
from tests.server.standin import Provider

EXAMPLES = Path(__file__).parents[2] / "examples"


async def serve(
    example: str, tmp_path: Path, url: str
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    root = tmp_path / example
    shutil.copytree(EXAMPLES / example, root, ignore=shutil.ignore_patterns("*.db", "*.db-*"))
    # a fixed clock: hub_and_spoke's office_hours workflow depends on the time of day
    app = create_app(root, settings=settings_for(tmp_path, url), clock=TestClock())
    async with app.router.lifespan_context(app):
        baton: Baton = app.state.baton
        _record, secret = await Keys(baton.sql).create("default", "tests")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client, {"Authorization": f"Bearer {secret}"}


@pytest.fixture
async def hub(
    tmp_path: Path, provider: tuple[Provider, str]
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    async for served in serve("hub_and_spoke", tmp_path, provider[1]):
        yield served


@pytest.fixture
async def campaigns(
    tmp_path: Path, provider: tuple[Provider, str]
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    async for served in serve("campaign_cascade", tmp_path, provider[1]):
        yield served


async def transcript_types(
    client: httpx.AsyncClient, auth: dict[str, str], contact: str
) -> list[str]:
    listed = (await client.get("/v1/conversations", params={"limit": 50}, headers=auth)).json()
    ids = [c["conversation_id"] for c in listed["items"] if c["contact_id"] == contact]
    assert len(ids) == 1
    page = await client.get(f"/v1/conversations/{ids[0]}/transcript", headers=auth)
    return [e["type"] for e in page.json()["events"]]


async def test_a_tag_added_through_the_api_runs_its_workflow(
    hub: tuple[httpx.AsyncClient, dict[str, str]],
) -> None:
    client, auth = hub
    await client.post("/v1/contacts", json={"contact_id": "ann"}, headers=auth)
    patched = await client.patch(
        "/v1/contacts/ann",
        json={"add_tags": ["needs_billing"], "fields": {"plan": "gold"}},
        headers=auth,
    )
    assert patched.status_code == 200
    # the workflow assigned billing and removed the tag again; the field is set; the
    # conversation it started ran office_hours too (the test clock says Monday 09:00 UTC)
    assert patched.json()["tags"] == ["office_hours"]
    assert patched.json()["fields"] == {"plan": "gold"}
    types = await transcript_types(client, auth, "ann")
    assert (
        types.index("tag_added") < types.index("workflow_triggered") < types.index("bot_assigned")
    )
    assert "tag_removed" in types and "field_updated" in types
    cleared = await client.patch("/v1/contacts/ann", json={"fields": {"plan": None}}, headers=auth)
    assert cleared.json()["fields"] == {}


async def test_tags_given_when_a_contact_is_created_run_their_workflows(
    hub: tuple[httpx.AsyncClient, dict[str, str]],
) -> None:
    """A CRM that creates a contact tagged vip gets the VIP escalation, as a PATCH adding
    the tag does (the tag was stored without a turn, so no workflow ran, and a later
    PATCH adding it again changed nothing)."""
    client, auth = hub
    created = await client.post(
        "/v1/contacts",
        json={"contact_id": "vic", "identities": {"sms": "+15550009999"}, "tags": ["vip"]},
        headers=auth,
    )
    assert created.status_code == 201 and "vip" in created.json()["tags"]
    types = await transcript_types(client, auth, "vic")
    assert types.index("tag_added") < types.index("workflow_triggered") < types.index("escalated")
    plain = await client.post("/v1/contacts", json={"contact_id": "pat"}, headers=auth)
    assert plain.status_code == 201
    listed = (await client.get("/v1/conversations", headers=auth)).json()["items"]
    assert "pat" not in [c["contact_id"] for c in listed]  # nothing to run, no conversation


async def test_a_form_submitted_through_the_api_assigns_the_campaign_bot(
    campaigns: tuple[httpx.AsyncClient, dict[str, str]],
) -> None:
    client, auth = campaigns
    await client.post("/v1/contacts", json={"contact_id": "bo"}, headers=auth)
    answer = await client.post(
        "/v1/contacts/bo/forms/spring_sale",
        json={"fields": {"email": "bo@example.com", "name": "Bo"}},
        headers=auth,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["contact"]["fields"] == {
        "email": "bo@example.com",
        "name": "Bo",
        "campaign": "spring",
    }
    assert body["contact"]["tags"] == ["spring_lead"]
    assert "form_submitted" in body["events"] and "bot_assigned" in body["events"]
    assert any(
        "Thanks for signing up for the spring sale, Bo" in r["text"] for r in body["replies"]
    )


async def test_form_and_appointment_errors_are_clear(
    campaigns: tuple[httpx.AsyncClient, dict[str, str]],
) -> None:
    client, auth = campaigns
    missing = await client.post("/v1/contacts/nobody/forms/spring_sale", json={}, headers=auth)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "contact_not_found"
    await client.post("/v1/contacts", json={"contact_id": "cy"}, headers=auth)
    bad_bot = await client.post(
        "/v1/contacts/cy/appointments", json={"bot_id": "ghost", "details": {}}, headers=auth
    )
    assert bad_bot.status_code == 404
    unknown = await client.post("/v1/contacts/cy/forms/sprng_sale", json={}, headers=auth)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "form_not_found"
    assert "spring_sale" in unknown.json()["error"]["message"]
    booked = await client.post(
        "/v1/contacts/cy/appointments", json={"details": {"at": "2026-12-01T10:00"}}, headers=auth
    )
    assert booked.status_code == 200 and "appointment_booked" in booked.json()["events"]
    no_key = await client.post("/v1/contacts/cy/forms/spring_sale", json={})
    assert no_key.status_code == 401
