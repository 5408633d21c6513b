"""Every example project passes `baton check` and all of its stories."""

from __future__ import annotations

from pathlib import Path

import pytest

from baton.project import load_project
from baton.testing import run_stories

EXAMPLES = sorted(p for p in (Path(__file__).parents[2] / "examples").iterdir() if p.is_dir())


@pytest.mark.parametrize("root", EXAMPLES, ids=[p.name for p in EXAMPLES])
async def test_example_passes_check_and_stories(root: Path) -> None:
    load_project(root)
    results = await run_stories(root)
    assert results, f"{root.name} has no stories"
    failed = [r for r in results if not r.passed]
    report = "\n\n".join(
        "\n".join([f"{r.file} :: {r.name}", *r.failures, "transcript:", *r.transcript])
        for r in failed
    )
    assert not failed, report
