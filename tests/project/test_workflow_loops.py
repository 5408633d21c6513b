"""`baton check` on workflows that keep re-triggering themselves or each other."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from baton.domain.errors import Problem
from baton.project import load_project
from tests.project.conftest import Files, write_project

Problems = Callable[[Files], list[Problem]]
FIX = (
    "break the loop: drop the action that undoes the change, or add a condition that fails"
    " the second time round (e.g. `not: {tag: ...}`)"
)


def test_two_workflows_that_undo_each_others_tags_are_a_loop(problems: Problems) -> None:
    [problem] = problems(
        {
            "workflows/ping.yml": """
                trigger: {tag_added: a}
                actions:
                  - remove_tag: a
                  - add_tag: b
            """,
            "workflows/pong.yml": """
                trigger: {tag_added: b}
                actions:
                  - remove_tag: b
                  - add_tag: a
            """,
        }
    )
    assert (problem.file, problem.line, problem.fix) == ("workflows/ping.yml", 1, FIX)
    assert problem.message == (
        "these workflows re-trigger each other: ping (workflows/ping.yml:1, on tag_added: a)"
        " adds tag b at line 4 → pong (workflows/pong.yml:1, on tag_added: b) adds tag a at"
        " line 4 → ping again; each round changes the contact anew because pong removes tag b"
        " (workflows/pong.yml:3) and ping removes tag a (workflows/ping.yml:3); every turn"
        " that starts it runs it 5 levels deep (workflows.max_depth) until"
        " workflow_bound_reached (depth) stops it"
    )


def test_a_workflow_that_re_adds_its_tag_after_a_wait_loops_until_the_rate_bound(
    problems: Problems,
) -> None:
    [problem] = problems(
        {
            "baton.yml": "name: test\nworkflows: {max_runs: 10}\n",
            "workflows/nag.yml": """
                trigger: {tag_added: nag}
                actions:
                  - remove_tag: nag
                  - wait: {hours: 1}
                  - add_tag: nag
            """,
        }
    )
    assert (problem.file, problem.line) == ("workflows/nag.yml", 1)
    assert problem.message == (
        "this workflow re-triggers itself: nag (workflows/nag.yml:1, on tag_added: nag) adds"
        " tag nag at line 5 → nag again; each round changes the contact anew because nag"
        " removes tag nag (workflows/nag.yml:3); it goes on after each `wait`, in later turns,"
        " until the conversation's rate bound (10 runs per 60 minutes) stops it with"
        " workflow_bound_reached (rate)"
    )


def test_fields_set_back_and_forth_are_a_loop(problems: Problems) -> None:
    [problem] = problems(
        {
            "baton.yml": "name: test\nworkflows: {max_depth: 3}\n",
            "workflows/up.yml": """
                trigger: {field_updated: {field: stage, to: cold}}
                actions:
                  - add_tag: warmed
                  - set_field: {name: stage, value: warm}
            """,
            "workflows/down.yml": """
                trigger:
                  field_updated: {field: stage, to: warm}
                actions:
                  - set_field: {name: stage, value: cold}
            """,
        }
    )
    assert (problem.file, problem.line) == ("workflows/down.yml", 2)
    assert "down (workflows/down.yml:2, on field_updated: stage to 'warm')" in problem.message
    assert (
        "→ up (workflows/up.yml:1, on field_updated: stage to 'cold')"
        " sets field stage to 'warm' at line 4" in problem.message
    )
    assert "runs it 3 levels deep (workflows.max_depth)" in problem.message


def test_chains_that_stop_by_themselves_pass(tmp_path: Path) -> None:
    """The engine records a tag or field change only when it changes something: a tag
    the contact has is not added again, so these run one round and stop."""
    files: Files = {
        "baton.yml": "name: test\nworkflows: {tags: [once, bye]}\n",
        # triggered by x, adds x: x is already there, nothing happens
        "workflows/same.yml": "trigger: {tag_added: x}\nactions:\n  - add_tag: x\n",
        # y adds z, z adds y: y is still there, so the chain stops at z
        "workflows/y_to_z.yml": "trigger: {tag_added: y}\nactions:\n  - add_tag: z\n",
        "workflows/z_to_y.yml": "trigger: {tag_added: z}\nactions:\n  - add_tag: y\n",
        # any change of score sets it to 0: the second time it is already 0
        "workflows/reset.yml": (
            "trigger: {field_updated: score}\nactions:\n  - set_field: {name: score, value: 0}\n"
        ),
        # the hub-and-spoke pattern: a tag is used once and removed
        "workflows/once.yml": "trigger: {tag_added: once}\nactions:\n  - remove_tag: once\n",
        # the conversation ends before the tag comes back
        "workflows/bye.yml": (
            "trigger: {tag_added: bye}\nactions:\n  - remove_tag: bye\n  - end: true\n"
        ),
    }
    load_project(write_project(tmp_path, files))


def test_a_disabled_workflow_breaks_the_loop(tmp_path: Path) -> None:
    files: Files = {
        "workflows/ping.yml": "trigger: {tag_added: a}\nactions:\n  - remove_tag: a\n",
        "workflows/pong.yml": (
            "enabled: false\ntrigger: {tag_removed: a}\nactions:\n  - add_tag: a\n"
        ),
    }
    load_project(write_project(tmp_path, files))
