"""The webhook action against a real HTTP server on the loopback interface."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from baton.domain import events as ev
from baton.runtime.engine import open_engine
from baton.runtime.workflows import change_tag, submit_form
from baton.storage import default_sqlite_url
from baton.testing import TestClock
from baton.workflows.webhook import verify
from tests.workflows.projects import without_check, write_project

SECRET = "s3cret"


class Receiver:
    """Answers each POST with the next status of ``plan`` (then 200), recording requests."""

    def __init__(self) -> None:
        self.plan: list[int | str] = []
        self.requests: list[tuple[dict[str, str], bytes]] = []


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
            step = state.plan.pop(0) if state.plan else 200
            if step == "slow":
                time.sleep(1.5)
                step = 200
            try:
                self.send_response(int(step))
                self.end_headers()
                self.wfile.write(b"{}")
            except (BrokenPipeError, ConnectionResetError):
                return  # the client gave up (timeout test)

        def log_message(self, *_: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def _project(tmp_path: Path, url: str, timeout: float = 5, retries: int = 2) -> Path:
    hook = {
        "url": url,
        "secret": SECRET,
        "timeout": timeout,
        "retries": retries,
        "payload": {"campaign": "spring"},
    }
    return write_project(
        tmp_path / "p",
        {"notify": {"trigger": {"form_submitted": "lead"}, "actions": [{"webhook": hook}]}},
        settings={"workflows": {"forms": {"lead": {"fields": ["email"]}}}},
    )


async def _submit(root: Path, tmp_path: Path) -> list[ev.Event]:
    engine = await open_engine(
        root, database=default_sqlite_url(tmp_path / "t.db"), clock=TestClock()
    )
    try:
        result = await submit_form(engine, "lead", {"email": "a@b.c"}, address="c1")
    finally:
        await engine.close()
    return result.events


async def test_the_body_is_signed_and_transient_failures_are_retried(
    tmp_path: Path, receiver: tuple[Receiver, str]
) -> None:
    state, url = receiver
    state.plan = [500, 503]
    events = await _submit(_project(tmp_path, url), tmp_path)
    [ran] = [e for e in events if isinstance(e, ev.WorkflowActionRan)]
    assert ran.detail == {"url": url, "status": 200, "attempts": 3}
    assert len(state.requests) == 3
    keys = {headers["idempotency-key"] for headers, _ in state.requests}
    assert len(keys) == 1
    headers, body = state.requests[-1]
    assert verify(SECRET, headers["x-baton-timestamp"], body, headers["x-baton-signature"])
    assert not verify("wrong", headers["x-baton-timestamp"], body, headers["x-baton-signature"])
    data = json.loads(body)
    assert data["workflow"] == "notify"
    assert data["contact"]["fields"] == {"email": "a@b.c"}
    assert data["payload"] == {"campaign": "spring"}


async def test_a_client_error_fails_at_once_and_is_recorded(
    tmp_path: Path, receiver: tuple[Receiver, str]
) -> None:
    state, url = receiver
    state.plan = [404]
    events = await _submit(_project(tmp_path, url), tmp_path)
    [failed] = [e for e in events if isinstance(e, ev.WorkflowActionFailed)]
    assert "HTTP 404" in failed.error and "1 attempt" in failed.error
    assert [e.outcome for e in events if isinstance(e, ev.WorkflowCompleted)] == ["failed"]
    assert len(state.requests) == 1


async def test_a_timeout_is_retried_then_recorded(
    tmp_path: Path, receiver: tuple[Receiver, str]
) -> None:
    state, url = receiver
    state.plan = ["slow", "slow"]
    events = await _submit(_project(tmp_path, url, timeout=0.3, retries=1), tmp_path)
    [failed] = [e for e in events if isinstance(e, ev.WorkflowActionFailed)]
    assert "2 attempt" in failed.error and "Timeout" in failed.error


async def test_every_run_has_its_own_idempotency_key_even_after_many_runs(
    tmp_path: Path, receiver: tuple[Receiver, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key once counted the conversation's runs, a list capped at 200: from then on
    every run of a workflow sent the same key, and a receiver dropped them as repeats."""
    without_check(monkeypatch)  # `baton check` refuses this project
    state, url = receiver
    workflows = {
        "ping": {"trigger": {"tag_added": "a"}, "actions": [{"remove_tag": "a"}]},
        "pong": {"trigger": {"tag_removed": "a"}, "actions": [{"add_tag": "a"}]},
        "notify": {
            "trigger": {"form_submitted": "lead"},
            "actions": [{"webhook": {"url": url, "secret": SECRET}}],
        },
    }
    settings = {
        "workflows": {
            "forms": {"lead": {"fields": ["email"]}},
            "max_depth": 210,
            "max_runs": 1000,
        }
    }
    root = write_project(tmp_path / "p", workflows, settings=settings)
    engine = await open_engine(
        root, database=default_sqlite_url(tmp_path / "t.db"), clock=TestClock()
    )
    try:
        contact = await submit_form(engine, "lead", {"email": "a@b.c"}, address="c1")
        await change_tag(engine, contact.contact_id, "a")  # some 210 runs in one turn
        for _ in range(2):
            await submit_form(engine, "lead", {"email": "a@b.c"}, contact_id=contact.contact_id)
    finally:
        await engine.close()
    keys = [headers["idempotency-key"] for headers, _ in state.requests]
    assert len(keys) == 3 and len(set(keys)) == 3, keys
