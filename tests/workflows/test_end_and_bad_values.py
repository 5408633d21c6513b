"""An `end` stops the turn's workflows; values that can't work fail the action, not the turn."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from baton.domain import events as ev
from baton.runtime.engine import Engine, open_engine
from baton.runtime.workflows import change_tag, submit_form
from baton.storage import default_sqlite_url
from baton.testing import TestClock
from tests.workflows.projects import without_check, write_project

SETTINGS = {"workflows": {"tags": ["close", "hold", "later"]}}


async def _engine(root: Path, tmp_path: Path) -> Engine:
    url = default_sqlite_url(tmp_path / "t.db")
    return await open_engine(root, database=url, clock=TestClock())


async def test_nothing_runs_after_a_workflow_ended_the_conversation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    without_check(monkeypatch)  # `baton check` refuses this project
    workflows = {
        "a_close": {
            "trigger": {"tag_added": "close"},
            "actions": [{"end": "closed"}, {"send": "said after the end"}],
        },
        "b_also": {"trigger": {"tag_added": "close"}, "actions": [{"send": "another run"}]},
    }
    root = write_project(tmp_path / "p", workflows, settings=SETTINGS)
    engine = await _engine(root, tmp_path)
    try:
        contact = await submit_form(engine, "x", {}, address="c1")
        result = await change_tag(engine, contact.contact_id, "close")
        stored = await engine.store.read_events("default", result.conversation_id)
    finally:
        await engine.close()
    types = [r.event.type for r in stored]
    ended = types.index("conversation_ended")
    assert "message_sent" not in types[ended:]
    assert result.replies == []
    [skipped] = [e for e in result.events if isinstance(e, ev.WorkflowActionSkipped)]
    assert (skipped.workflow, skipped.index, skipped.reason) == (
        "a_close",
        1,
        "the conversation ended",
    )
    [other] = [e for e in result.events if isinstance(e, ev.WorkflowSkipped)]
    assert (other.workflow, other.reason) == ("b_also", "ended")
    [done] = [e for e in result.events if isinstance(e, ev.WorkflowCompleted)]
    assert (done.workflow, done.outcome, done.ran) == ("a_close", "completed", 1)


async def test_a_pause_until_a_non_iso_time_fails_the_action(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    without_check(monkeypatch)  # `baton check` refuses this project
    workflows = {
        "hold": {
            "trigger": {"tag_added": "hold"},
            "actions": [
                {"set_status": {"status": "paused", "until": "tomorrow"}},
                {"send": "not reached"},
            ],
        }
    }
    root = write_project(tmp_path / "p", workflows, settings=SETTINGS)
    engine = await _engine(root, tmp_path)
    try:
        contact = await submit_form(engine, "x", {}, address="c1")
        result = await change_tag(engine, contact.contact_id, "hold")
        state = await engine.store.load_state("default", result.conversation_id)
    finally:
        await engine.close()
    [failed] = [e for e in result.events if isinstance(e, ev.WorkflowActionFailed)]
    assert "'tomorrow' is not an ISO time" in failed.error
    assert not any(isinstance(e, ev.BotStatusChanged) for e in result.events)
    assert state.status_of("desk").status == "active"  # not paused for ever


async def test_a_wait_past_the_calendar_fails_the_action_not_the_turn(tmp_path: Path) -> None:
    workflows = {
        "later": {
            "trigger": {"tag_added": "later"},
            "actions": [{"wait": {"days": 3000}}, {"send": "much later"}],
        },
    }
    root = write_project(tmp_path / "p", workflows, settings=SETTINGS)
    # baton check bounds a wait at ten years, so only a date near the calendar's end
    # can take it past: the action fails, not the turn
    url = default_sqlite_url(tmp_path / "t.db")
    late = TestClock(datetime(9995, 1, 1, tzinfo=UTC))
    engine = await open_engine(root, database=url, clock=late)
    try:
        contact = await submit_form(engine, "x", {}, address="c1")
        result = await change_tag(engine, contact.contact_id, "later")
        tags = (await engine.store.get_contact("default", contact.contact_id)).tags  # type: ignore[union-attr]
    finally:
        await engine.close()
    [failed] = [e for e in result.events if isinstance(e, ev.WorkflowActionFailed)]
    assert "past the year 9999" in failed.error
    assert "later" in tags  # the change that triggered it was kept
