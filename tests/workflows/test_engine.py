"""The workflow engine through the router: bounds, order, takeover, commands."""

from __future__ import annotations

from pathlib import Path

import pytest

from baton.domain import events as ev
from baton.domain.ids import DEFAULT_ACCOUNT
from baton.router import messages as m
from baton.runtime.engine import Engine, open_engine
from baton.runtime.workflows import change_tag, run_due_timers, submit_form, update_field
from baton.storage import default_sqlite_url
from baton.testing import TestClock
from tests.conftest import EngineOpener
from tests.workflows.projects import without_check, write_project

PING_PONG = {
    "ping": {"trigger": {"tag_added": "a"}, "actions": [{"remove_tag": "a"}]},
    "pong": {"trigger": {"tag_removed": "a"}, "actions": [{"add_tag": "a"}]},
}


async def _engine(root: Path, tmp_path: Path, clock: TestClock | None = None) -> Engine:
    url = default_sqlite_url(tmp_path / "t.db")
    return await open_engine(root, database=url, clock=clock or TestClock())


async def test_workflows_that_retrigger_each_other_stop_at_the_depth_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    without_check(monkeypatch)  # `baton check` refuses this project
    root = write_project(tmp_path / "p", PING_PONG, settings={"workflows": {"max_depth": 4}})
    engine = await _engine(root, tmp_path)
    try:
        contact = await submit_form(engine, "x", {}, address="c1")  # creates the contact
        result = await change_tag(engine, contact.contact_id, "a")
    finally:
        await engine.close()
    runs = [e.workflow for e in result.events if isinstance(e, ev.WorkflowTriggered)]
    assert runs == ["ping", "pong", "ping", "pong"]
    [bound] = [e for e in result.events if isinstance(e, ev.WorkflowBoundReached)]
    assert (bound.workflow, bound.bound, bound.limit) == ("ping", "depth", 4)


async def test_the_per_conversation_rate_bound_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    without_check(monkeypatch)  # `baton check` refuses this project
    settings = {"workflows": {"max_runs": 3, "window_minutes": 60}}
    root = write_project(tmp_path / "p", PING_PONG, settings=settings)
    clock = TestClock()
    engine = await _engine(root, tmp_path, clock)
    try:
        contact = await submit_form(engine, "x", {}, address="c1")
        first = await change_tag(engine, contact.contact_id, "a")
        second = await change_tag(engine, contact.contact_id, "b")
        bounds = [e for e in first.events if isinstance(e, ev.WorkflowBoundReached)]
        assert [(b.bound, b.limit) for b in bounds] == [("rate", 3)]
        clock.advance(61)
        third = await change_tag(engine, contact.contact_id, "a")
    finally:
        await engine.close()
    assert not [e for e in second.events if isinstance(e, ev.WorkflowTriggered)]
    assert [e.workflow for e in third.events if isinstance(e, ev.WorkflowTriggered)][:1] == ["ping"]


async def test_conditions_all_any_not_are_recorded(tmp_path: Path) -> None:
    workflows = {
        "vip": {
            "trigger": {"field_updated": {"field": "plan", "to": ["gold", "platinum"]}},
            "conditions": {
                "all": [
                    {"any": [{"tag": "lead"}, {"channel": "sms"}]},
                    {"not": {"bot": "agent"}},
                    {"field": {"name": "score", "gt": 50}},
                ]
            },
            "actions": [{"assign": {"bot": "agent", "mode": "suggest"}}],
        }
    }
    settings = {"workflows": {"tags": ["lead"], "fields": ["plan", "score"]}}
    settings["channels"] = ["web", "sms", "cli"]
    root = write_project(tmp_path / "p", workflows, settings=settings)
    engine = await _engine(root, tmp_path)
    try:
        contact = await submit_form(engine, "x", {"score": 10}, address="c1")
        cid = contact.contact_id
        await change_tag(engine, cid, "lead")
        skipped = await update_field(engine, cid, "plan", "gold")
        await update_field(engine, cid, "score", 80)
        await update_field(engine, cid, "plan", "silver")
        ran = await update_field(engine, cid, "plan", "platinum")
    finally:
        await engine.close()
    [skip] = [e for e in skipped.events if isinstance(e, ev.WorkflowSkipped)]
    assert skip.reason == "conditions" and skip.failed == ("field score",)
    [triggered] = [e for e in ran.events if isinstance(e, ev.WorkflowTriggered)]
    assert "tag lead" in triggered.conditions
    [assigned] = [e for e in ran.events if isinstance(e, ev.BotAssigned)]
    assert (assigned.bot_id, assigned.mode) == ("agent", "suggest")
    assert [r.suggestion_id is not None for r in ran.replies] == [True]


async def test_a_human_message_pauses_the_bot_and_assignments_are_skipped(tmp_path: Path) -> None:
    workflows = {
        "route": {"trigger": {"tag_added": "route"}, "actions": [{"assign": "agent"}]},
    }
    settings = {"workflows": {"tags": ["route"], "human_takeover": {"release_minutes": 10}}}
    root = write_project(tmp_path / "p", workflows, settings=settings)
    clock = TestClock()
    engine = await _engine(root, tmp_path, clock)
    try:
        await engine.router.handle(m.Inbound("web", "c1", "hello"))
        contact = await engine.store.contact_for_identity(DEFAULT_ACCOUNT, "web", "c1")
        cid = contact.contact_id
        took = await engine.router.command(DEFAULT_ACCOUNT, cid, m.HumanMessage("Ana here", "ana"))
        held = await engine.router.handle(m.Inbound("web", "c1", "hi Ana"))
        skipped = await change_tag(engine, cid, "route")
        clock.advance(11)
        back = await engine.router.handle(m.Inbound("web", "c1", "anyone?"))
    finally:
        await engine.close()
    assert any(isinstance(e, ev.HumanTookOver) and e.agent == "ana" for e in took.events)
    assert not held.replies and any(isinstance(e, ev.MessageHeld) for e in held.events)
    assert [e.reason for e in skipped.events if isinstance(e, ev.WorkflowActionSkipped)] == [
        "a human agent owns the conversation"
    ]
    assert [r.bot_id for r in back.replies] == ["desk"]


async def test_no_reply_fires_once_per_silence(tmp_path: Path) -> None:
    workflows = {
        "nudge": {"trigger": {"no_reply": {"minutes": 15}}, "actions": [{"send": "Still there?"}]}
    }
    root = write_project(tmp_path / "p", workflows)
    clock = TestClock()
    engine = await _engine(root, tmp_path, clock)
    try:
        await engine.router.handle(m.Inbound("web", "c1", "hello"))
        clock.advance(10)
        assert await run_due_timers(engine) == []
        await engine.router.handle(m.Inbound("web", "c1", "hello again"))  # resets the watch
        clock.advance(10)
        assert await run_due_timers(engine) == []
        clock.advance(6)
        [fired] = await run_due_timers(engine)
        clock.advance(60)
        assert await run_due_timers(engine) == []
    finally:
        await engine.close()
    assert [r.text for r in fired.replies] == ["Still there?"]


async def test_a_timer_runner_fires_nothing_while_another_holds_the_timers_lock(
    tmp_path: Path,
) -> None:
    """`baton timers run` in two processes (or beside `baton serve`) ran each due timer's
    actions twice, a webhook included, though only one append won."""
    from baton.api.db import sql_engine
    from baton.storage.cycles import exclusive_cycle

    workflows = {
        "nudge": {"trigger": {"no_reply": {"minutes": 15}}, "actions": [{"send": "Still there?"}]}
    }
    root = write_project(tmp_path / "p", workflows)
    clock = TestClock()
    engine = await _engine(root, tmp_path, clock)
    try:
        await engine.router.handle(m.Inbound("web", "c1", "hello"))
        clock.advance(16)
        told: list[str] = []
        async with exclusive_cycle(sql_engine(engine.store), "timers") as other_runner:
            assert other_runner
            held = lambda: told.append("held")  # noqa: E731
            assert await run_due_timers(engine, held_elsewhere=held) == []
        assert told == ["held"]  # `baton timers run` says why nothing fired
        [fired] = await run_due_timers(engine, held_elsewhere=held)
        assert told == ["held"]
    finally:
        await engine.close()
    assert [r.text for r in fired.replies] == ["Still there?"]


async def test_bot_none_holds_while_no_bot_is_assigned(tmp_path: Path) -> None:
    """The primary answering by default is not an assigned bot (`bot: none` never held
    on a channel with a primary)."""
    workflows = {
        "route": {
            "trigger": {"message_received": {"keyword": "hello"}},
            "conditions": {"bot": "none"},
            "actions": [{"assign": "agent"}],
        }
    }
    root = write_project(tmp_path / "p", workflows)
    engine = await _engine(root, tmp_path)
    try:
        first = await engine.router.handle(m.Inbound("web", "c1", "hello there"))
        again = await engine.router.handle(m.Inbound("web", "c1", "hello again"))
    finally:
        await engine.close()
    assert any(isinstance(e, ev.BotAssigned) and e.bot_id == "agent" for e in first.events)
    skipped = [e for e in again.events if isinstance(e, ev.WorkflowSkipped)]
    assert skipped and "bot none (assigned: agent)" in str(skipped[0])


async def test_a_nudge_that_asks_for_no_human_waits_while_an_agent_talks(
    tmp_path: Path,
) -> None:
    workflows = {
        "nudge": {
            "trigger": {"no_reply": {"minutes": 15}},
            "conditions": {"human": False},
            "actions": [{"send": "Still there?"}],
        }
    }
    root = write_project(tmp_path / "p", workflows)
    clock = TestClock()
    engine = await _engine(root, tmp_path, clock)
    try:
        await engine.router.handle(m.Inbound("web", "c2", "hello"))
        contact = await engine.store.contact_for_identity(DEFAULT_ACCOUNT, "web", "c2")
        human = m.HumanMessage("Ana here, one moment", "ana")
        await engine.router.command(DEFAULT_ACCOUNT, contact.contact_id, human)
        clock.advance(16)
        [quiet] = await run_due_timers(engine)
        await engine.router.command(DEFAULT_ACCOUNT, contact.contact_id, m.HandBack(None))
        await engine.router.handle(m.Inbound("web", "c2", "hello?"))  # the bot answers
        clock.advance(16)
        [nudged] = await run_due_timers(engine)
    finally:
        await engine.close()
    assert quiet.replies == []
    [skipped] = [e for e in quiet.events if isinstance(e, ev.WorkflowSkipped)]
    assert skipped.failed == ("human false (a human owns it)",)
    assert [r.text for r in nudged.replies] == ["Still there?"]


async def test_a_workflow_never_assigns_a_bot_that_does_not_serve_the_channel(
    open_project: EngineOpener,
) -> None:
    """language_router serves web, sms, whatsapp and cli: on REST nobody answers, and the
    Spanish workflow's assign is skipped rather than letting the Spanish bot speak there."""
    root = Path(__file__).parents[2] / "examples" / "language_router"
    engine = await open_project(root)
    spanish = "Hola, quisiera saber el horario de la tienda por favor"
    result = await engine.router.handle(m.Inbound("rest", "ramon", spanish))
    assert result.replies == []
    skipped = [e for e in result.events if isinstance(e, ev.WorkflowActionSkipped)]
    assert [e.reason for e in skipped] == ["bot spanish doesn't serve this conversation's channel"]
    assert any(isinstance(e, ev.MessageHeld) for e in result.events)


async def test_a_bot_assigned_by_a_workflow_or_an_operator_says_its_handoff_message(
    tmp_path: Path,
) -> None:
    workflows = {"route": {"trigger": {"tag_added": "route"}, "actions": [{"assign": "agent"}]}}
    agent = {
        "bot": {
            "name": "Agent",
            "start_flow": "hello",
            "fallback": "Agent here.",
            "handoff_message": "You're through to the agent.",
        },
        "flows": {"flows": {"hello": {"steps": [{"say": "Agent speaking."}]}}},
    }
    settings = {"workflows": {"tags": ["route"]}}
    root = write_project(tmp_path / "p", workflows, settings=settings, bots={"agent": agent})
    engine = await _engine(root, tmp_path)
    try:
        await engine.router.handle(m.Inbound("web", "h1", "hello"))
        contact = await engine.store.contact_for_identity(DEFAULT_ACCOUNT, "web", "h1")
        routed = await change_tag(engine, contact.contact_id, "route")
        again = await engine.router.command(DEFAULT_ACCOUNT, contact.contact_id, m.Assign("agent"))
        desk = await engine.router.command(DEFAULT_ACCOUNT, contact.contact_id, m.Assign("desk"))
        back = await engine.router.command(DEFAULT_ACCOUNT, contact.contact_id, m.Assign("agent"))
    finally:
        await engine.close()
    said = ["You're through to the agent.", "Agent speaking."]
    assert [(r.text, r.kind) for r in routed.replies] == [(said[0], "handoff"), (said[1], "reply")]
    assert [r.text for r in again.replies] == ["Agent speaking."]  # it had the conversation
    assert desk.replies == []  # desk has no handoff message and no start flow
    assert [r.text for r in back.replies] == said


async def test_an_assignment_that_reactivates_a_stopped_bot_says_so_in_the_log(
    tmp_path: Path,
) -> None:
    workflows = {"route": {"trigger": {"tag_added": "route"}, "actions": [{"assign": "agent"}]}}
    settings = {"workflows": {"tags": ["route"]}}
    root = write_project(tmp_path / "p", workflows, settings=settings)
    engine = await _engine(root, tmp_path)
    try:
        await engine.router.handle(m.Inbound("web", "s1", "hello"))
        contact = await engine.store.contact_for_identity(DEFAULT_ACCOUNT, "web", "s1")
        stop = m.SetStatus("stopped", "agent")
        await engine.router.command(DEFAULT_ACCOUNT, contact.contact_id, stop)
        routed = await change_tag(engine, contact.contact_id, "route")
        again = await engine.router.command(DEFAULT_ACCOUNT, contact.contact_id, m.Assign("agent"))
    finally:
        await engine.close()
    changed = [
        (e.bot_id, e.status, e.by) for e in routed.events if isinstance(e, ev.BotStatusChanged)
    ]
    assert changed == [("agent", "active", "workflow:route")]
    assert [r.text for r in routed.replies] == ["Agent speaking."]
    assert not any(isinstance(e, ev.BotStatusChanged) for e in again.events)  # already active


async def test_a_workflow_can_keep_quiet_for_a_bot_in_suggestive_mode(tmp_path: Path) -> None:
    workflows = {
        "greet": {
            "trigger": {"tag_added": "hello"},
            "conditions": {"mode": "auto"},
            "actions": [{"send": "Hello from the workflow."}],
        }
    }
    settings = {"workflows": {"tags": ["hello"]}}
    root = write_project(tmp_path / "p", workflows, settings=settings)
    engine = await _engine(root, tmp_path)
    try:
        await engine.router.handle(m.Inbound("web", "md", "hi"))
        contact = await engine.store.contact_for_identity(DEFAULT_ACCOUNT, "web", "md")
        await engine.router.command(DEFAULT_ACCOUNT, contact.contact_id, m.SetMode("suggest"))
        held = await change_tag(engine, contact.contact_id, "hello")
        await engine.router.command(DEFAULT_ACCOUNT, contact.contact_id, m.SetMode("auto"))
        await engine.router.command(DEFAULT_ACCOUNT, contact.contact_id, m.RemoveTag("hello"))
        sent = await change_tag(engine, contact.contact_id, "hello")
    finally:
        await engine.close()
    [skipped] = [e for e in held.events if isinstance(e, ev.WorkflowSkipped)]
    assert skipped.failed == ("mode auto (is suggest)",) and held.replies == []
    assert [r.text for r in sent.replies] == ["Hello from the workflow."]


def test_a_looping_timer_runner_outlives_a_failed_sweep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`baton timers run --loop` died with a traceback when its database connection was
    dropped once (a PostgreSQL restart): it now says so and sweeps again."""
    import typer
    from typer.testing import CliRunner

    from baton.cli.workflow_commands import register
    from baton.runtime import workflows

    sweeps: list[str] = []

    async def flaky(*_args: object, **_kwargs: object) -> list[object]:
        sweeps.append("sweep")
        if len(sweeps) == 1:
            raise ConnectionError("the underlying connection is closed\n[SQL: SELECT ...]")
        if len(sweeps) == 3:
            raise SystemExit(7)  # ends the loop, as a Ctrl-C would
        return []

    monkeypatch.setattr(workflows, "run_due_timers", flaky)
    app = typer.Typer()
    register(app)
    root = write_project(tmp_path / "p", {})
    result = CliRunner().invoke(app, ["timers", "run", str(root), "--loop", "--interval", "0.01"])
    assert result.exit_code == 7, result.output
    assert sweeps == ["sweep"] * 3
    said = " ".join(result.output.split())
    assert "firing timers failed (ConnectionError: the underlying connection is closed)" in said


def test_failure_texts_and_results_keep_no_token_of_a_url() -> None:
    """A webhook's URL with a token in its path or query, or an LLM endpoint's key in its
    query, was stored in the log for good and served by the transcript API."""
    from baton.domain.redact import redact_urls, redacted_url

    assert redacted_url("https://hooks.example.com/services/T0/B0/XSECRET") == (
        "https://hooks.example.com/services/…"
    )
    said = redact_urls(
        "Server error '500' for url 'http://user:pw@127.0.0.1:8199/v1/chat?api-key=sk-SECRET'"
    )
    assert "SECRET" not in said and "pw" not in said
    assert "http://127.0.0.1:8199/v1/…?…" in said
