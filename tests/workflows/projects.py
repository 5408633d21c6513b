"""Tiny projects written to a temporary folder for workflow tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from baton.project.loader import read_project
from baton.spec.project import Project


def write_project(
    root: Path,
    workflows: dict[str, dict[str, object]],
    *,
    settings: dict[str, object] | None = None,
    bots: dict[str, dict[str, object]] | None = None,
) -> Path:
    """A project with a primary bot ``desk`` (and ``bots``), and these workflows."""
    root.mkdir(parents=True, exist_ok=True)
    baton: dict[str, object] = {"name": "wf", "channels": ["web", "cli"]}
    baton.update(settings or {})
    (root / "baton.yml").write_text(yaml.safe_dump(baton))
    all_bots: dict[str, dict[str, object]] = {
        "desk": {
            "bot": {"name": "Desk", "primary": True, "fallback": "Desk here."},
        },
        "agent": {
            "bot": {"name": "Agent", "start_flow": "hello", "fallback": "Agent here."},
            "flows": {"flows": {"hello": {"steps": [{"say": "Agent speaking."}]}}},
        },
    }
    all_bots.update(bots or {})
    for bot_id, files in all_bots.items():
        folder = root / "bots" / bot_id
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in files.items():
            (folder / f"{name}.yml").write_text(yaml.safe_dump(content, sort_keys=False))
    (root / "workflows").mkdir(exist_ok=True)
    for name, spec in workflows.items():
        (root / "workflows" / f"{name}.yml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return root


def without_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let ``open_engine`` load projects that ``baton check`` refuses (a loop, a bad
    ``until``, actions after ``end``), to test what the runtime does with them anyway."""

    def load(root: Path) -> Project:
        reading = read_project(root)
        assert reading.project is not None and not reading.problems, reading.problems
        return reading.project

    monkeypatch.setattr("baton.runtime.engine.load_project", load)
