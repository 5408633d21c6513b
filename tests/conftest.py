"""Shared fixtures: write a project folder, open a real engine on a SQLite file."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from baton.runtime.engine import Engine, open_engine
from baton.storage import default_sqlite_url
from baton.testing import TestClock

ProjectWriter = Callable[[dict[str, str]], Path]


@pytest.fixture
def write_project(tmp_path: Path) -> ProjectWriter:
    """Write ``{relative path: YAML text}`` under a fresh project folder."""

    def write(files: dict[str, str]) -> Path:
        root = tmp_path / "project"
        for name, text in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip())
        return root

    return write


@pytest.fixture
def clock() -> TestClock:
    """A clock that only moves when told."""
    return TestClock()


EngineOpener = Callable[[Path], Awaitable[Engine]]


@pytest.fixture
async def open_project(tmp_path: Path, clock: TestClock) -> AsyncIterator[EngineOpener]:
    """Open engines on real SQLite files under tmp_path; all closed at teardown."""
    opened: list[Engine] = []

    async def open_(root: Path) -> Engine:
        url = default_sqlite_url(tmp_path / f"test-{len(opened)}.db")
        engine = await open_engine(root, database=url, clock=clock)
        opened.append(engine)
        return engine

    yield open_
    for engine in opened:
        await engine.close()
