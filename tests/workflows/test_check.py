"""`baton check` on workflows: file:line problems for unknown bots, tags, fields, forms."""

from __future__ import annotations

from pathlib import Path

import pytest

from baton.domain.errors import ProjectInvalid
from baton.project import load_project
from tests.workflows.projects import write_project


def _problems(root: Path) -> list[str]:
    with pytest.raises(ProjectInvalid) as raised:
        load_project(root)
    return [f"{p.file}:{p.line}: {p.message} | {p.fix}" for p in raised.value.problems]


def test_unknown_names_are_flagged_with_file_and_line(tmp_path: Path) -> None:
    root = write_project(
        tmp_path,
        {
            "bad": {
                "trigger": {"form_submitted": "signupp"},
                "conditions": {"all": [{"tag": "vpi"}, {"field": {"name": "plann", "equals": 1}}]},
                "actions": [
                    {"assign": "agnet"},
                    {"add_tag": "vip"},
                    {"set_field": {"name": "plan", "value": 1}},
                ],
            }
        },
        settings={"workflows": {"forms": {"signup": {"fields": ["email"]}}}},
    )
    problems = _problems(root)
    assert "workflows/bad.yml:2: unknown form 'signupp' | did you mean 'signup'?" in problems
    assert "workflows/bad.yml:5: unknown tag 'vpi' | did you mean 'vip'?" in problems
    assert "workflows/bad.yml:7: unknown field 'plann' | did you mean 'plan'?" in problems
    assert "workflows/bad.yml:10: unknown bot 'agnet' | did you mean 'agent'?" in problems


def test_schema_mistakes_point_at_their_line(tmp_path: Path) -> None:
    root = write_project(
        tmp_path,
        {"two": {"trigger": {"tag_added": "a", "tag_removed": "b"}, "actions": [{"sned": "hi"}]}},
    )
    problems = _problems(root)
    assert any(p.startswith("workflows/two.yml:1:") and "exactly one of" in p for p in problems)
    assert any(p.startswith("workflows/two.yml:5:") and "sned" in p for p in problems)


def test_a_bot_action_nobody_fires_is_flagged(tmp_path: Path) -> None:
    root = write_project(
        tmp_path,
        {
            "w": {
                "trigger": {"bot_action": {"action": "nope", "bot": "agent"}},
                "actions": [{"send": "x"}],
            }
        },
    )
    [problem] = _problems(root)
    assert "no `fire: nope` step in bot 'agent'" in problem
