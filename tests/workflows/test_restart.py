"""A pending wait survives a killed process and fires exactly once after restart."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

from baton.domain import events as ev
from baton.domain.ids import DEFAULT_ACCOUNT
from baton.runtime.engine import open_engine
from baton.storage import default_sqlite_url
from tests.workflows.projects import write_project

SCRIPT = Path(__file__).with_name("timer_process.py")


def _project(tmp_path: Path) -> Path:
    return write_project(
        tmp_path / "project",
        {
            "signup": {
                "trigger": {"form_submitted": "signup"},
                "actions": [
                    {"assign": "agent"},
                    {"wait": {"minutes": 30}},
                    {"send": "Your trial starts now."},
                ],
            }
        },
        settings={"workflows": {"forms": {"signup": {"fields": ["email"]}}}},
    )


async def _spawn(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(SCRIPT),
        *args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=str(Path(__file__).parents[2]),
    )


async def test_a_pending_wait_fires_once_after_the_process_is_killed(tmp_path: Path) -> None:
    root = _project(tmp_path)
    url = default_sqlite_url(tmp_path / "baton.db")

    hanging = await _spawn(str(root), url, "0", "hang")
    assert hanging.stdout is not None
    line = await asyncio.wait_for(hanging.stdout.readline(), timeout=120)
    assert line.strip() == b"submitted"
    hanging.send_signal(signal.SIGKILL)
    await hanging.wait()

    early = await _spawn(str(root), url, "10", "fire")
    out, err = await early.communicate()
    assert out.strip() == b"fired 0", err.decode()

    # Two runners race for the due timer: exactly one fires it.
    racers = [await _spawn(str(root), url, "31", "fire") for _ in range(2)]
    outputs = [await r.communicate() for r in racers]
    counts = sorted(out.strip().decode() for out, _ in outputs)
    assert counts == ["fired 0", "fired 1"], [e.decode()[-2000:] for _, e in outputs]

    again = await _spawn(str(root), url, "90", "fire")
    out, err = await again.communicate()
    assert out.strip() == b"fired 0", err.decode()

    engine = await open_engine(root, database=url)
    try:
        [record] = await engine.store.list_conversations(DEFAULT_ACCOUNT)
        events = [
            r.event for r in await engine.store.read_events(DEFAULT_ACCOUNT, record.conversation_id)
        ]
    finally:
        await engine.close()
    assert sum(isinstance(e, ev.TimerFired) for e in events) == 1
    sent = [e.text for e in events if isinstance(e, ev.MessageSent)]
    assert sent == ["Agent speaking.", "Your trial starts now."]
