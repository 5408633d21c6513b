"""Helpers that write small projects into a temporary folder."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from baton.domain.errors import Problem, ProjectInvalid
from baton.project import load_project

BASE = {
    "baton.yml": "name: test\n",
    "bots/main/bot.yml": "name: Main\nprimary: true\nstart_flow: hello\n",
    "bots/main/flows.yml": "flows:\n  hello:\n    steps:\n      - say: Hi\n",
}

Files = dict[str, str | None]


def write_project(root: Path, files: Files) -> Path:
    """Write BASE with ``files`` laid over it (None removes a file); return the root."""
    merged: Files = {**BASE, **files}
    for name, text in merged.items():
        if text is None:
            continue
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


def problems_of(root: Path) -> list[Problem]:
    """The problems loading ``root`` reports (fails when it loads)."""
    with pytest.raises(ProjectInvalid) as caught:
        load_project(root)
    return caught.value.problems


@pytest.fixture
def problems(tmp_path: Path) -> Callable[[Files], list[Problem]]:
    """Write a project over BASE and return the problems loading it reports."""

    def run(files: Files) -> list[Problem]:
        return problems_of(write_project(tmp_path, files))

    return run
