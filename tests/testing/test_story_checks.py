"""A story that names a bot, channel, status or mode the project lacks is a problem."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from baton.domain.errors import Problem, ProjectInvalid
from baton.project import load_project
from baton.testing.runner import load_stories, run_stories

EXAMPLES = Path(__file__).parents[2] / "examples"


def _story_problems(root: Path) -> list[Problem]:
    """The problems `baton check` and `baton test` find in the project's stories."""
    with pytest.raises(ProjectInvalid) as raised:
        load_stories(root, load_project(root))
    return raised.value.problems


def test_names_in_stories_are_checked_against_the_project(tmp_path: Path) -> None:
    root = tmp_path / "clinic"
    shutil.copytree(EXAMPLES / "clinic", root, ignore=shutil.ignore_patterns(".baton"))
    (root / "tests" / "typos.yml").write_text(
        "stories:\n"
        "  - name: typos\n"
        "    channel: fax\n"
        "    steps:\n"
        "      - user: hi\n"
        "        owner: triag\n"
        "        bots: [triage, apointment]\n"
        "        status: sleeping\n"
        "        slots: {assesment: {score: 1}}\n",
        encoding="utf-8",
    )
    (root / "tests" / "more.yaml").write_text("stories: []\n", encoding="utf-8")
    found = [(p.file, p.line, p.message, p.fix) for p in _story_problems(root)]
    assert found == [
        ("tests/more.yaml", 0, "stories are read from .yml files only", "rename it to more.yml"),
        ("tests/typos.yml", 3, "unknown channel 'fax'", found[1][3]),
        ("tests/typos.yml", 7, "unknown bot 'apointment'", "did you mean 'appointment'?"),
        ("tests/typos.yml", 6, "unknown bot 'triag'", "did you mean 'triage'?"),
        ("tests/typos.yml", 9, "unknown bot 'assesment'", "did you mean 'assessment'?"),
        ("tests/typos.yml", 8, "unknown status 'sleeping'", found[5][3]),
    ]
    (root / "tests" / "more.yaml").unlink()
    with pytest.raises(ProjectInvalid):  # baton test refuses them too, before running
        asyncio.run(run_stories(root))


def test_events_slots_context_channels_and_commands_of_stories_are_checked(
    tmp_path: Path,
) -> None:
    root = tmp_path / "clinic"
    shutil.copytree(EXAMPLES / "clinic", root, ignore=shutil.ignore_patterns(".baton"))
    text = (root / "baton.yml").read_text(encoding="utf-8")
    (root / "baton.yml").write_text(
        text.replace(
            "channels: [web, rest, sms, whatsapp, messenger, instagram, cli]",
            "channels: [web, rest, cli]",
        ),
        encoding="utf-8",
    )
    (root / "tests" / "typos.yml").write_text(
        "stories:\n"
        "  - name: typos\n"
        "    channel: sms\n"
        "    steps:\n"
        "      - user: hi\n"
        "        events:\n"
        "          - {type: bot_transfered}\n"
        "          - {type: bot_called, from_bot: triage}\n"
        "        slots: {appointment: {dat: null}}\n"
        "        context: {assessment.scor: null, risk: null, asessment.risk: 1}\n"
        "      - command: /asign appointment\n"
        "      - command: /status paused apointment\n"
        "      - command: /book asessment date=2030-01-01\n"
        "  - name: typos\n"
        "    steps:\n"
        "      - user: hi\n",
        encoding="utf-8",
    )
    found = {(p.line, p.message): p.fix for p in _story_problems(root)}
    assert found[(3, "channel 'sms' is not one of the project's")] == (
        "the project serves 'cli', 'rest', 'web' (channels: in baton.yml)"
    )
    assert found[(7, "unknown event type 'bot_transfered'")] == "did you mean 'bot_transferred'?"
    assert "unknown field of bot_called 'from_bot'" in {m for _l, m in found}
    assert found[(9, "unknown slot of appointment 'dat'")] == "did you mean 'date'?"
    assert found[(10, "unknown context key of assessment 'scor'")] == "did you mean 'score'?"
    # a key without its bot, or with a bot the project lacks, checked nothing before
    assert found[(10, "context key 'risk' names no bot")] == (
        "write the key with its bot, `<bot>.<key>`: 'assessment.risk'"
    )
    assert found[(10, "unknown context key 'asessment.risk'")] == (
        "did you mean 'assessment.risk'?"
    )
    assert any(m.startswith("command '/asign appointment' does not parse") for _l, m in found)
    assert found[(12, "unknown bot 'apointment'")] == "did you mean 'appointment'?"
    assert found[(13, "unknown bot 'asessment'")] == "did you mean 'assessment'?"
    assert found[(14, "a second story named 'typos' (the first is on line 2)")].startswith(
        "give each story its own name"
    )


def test_stories_beside_a_bot_or_in_subfolders_run_and_stray_yaml_is_a_problem(
    tmp_path: Path,
) -> None:
    root = tmp_path / "clinic"
    shutil.copytree(EXAMPLES / "clinic", root, ignore=shutil.ignore_patterns(".baton"))
    story = "stories:\n  - name: {name}\n    steps:\n      - user: hi\n        bot: triage\n"
    (root / "bots" / "triage" / "tests").mkdir()
    (root / "bots" / "triage" / "tests" / "own.yml").write_text(story.format(name="own"))
    (root / "tests" / "team").mkdir()
    (root / "tests" / "team" / "nested.yml").write_text(story.format(name="nested"))
    names = [s.name for _file, s in load_stories(root, load_project(root))]
    assert "own" in names and "nested" in names
    files = {file for file, _s in load_stories(root)}
    assert {"bots/triage/tests/own.yml", "tests/team/nested.yml"} <= files

    (root / "docker-compose.yml").write_text("services: {}\n")  # the project's own YAML
    (root / "deploy").mkdir()
    (root / "deploy" / "k8s.yaml").write_text("kind: Deployment\n")
    assert load_project(root) is not None
    (root / "workflow").mkdir()
    (root / "workflow" / "x.yml").write_text("trigger: {tag_added: a}\nactions: [{send: hi}]\n")
    (root / "nlu.yaml").write_text("groups: {}\n")
    (root / "bots" / "triage" / "tests.yml").write_text(story.format(name="x"))
    (root / "bots" / "triage" / "stories").mkdir()
    (root / "bots" / "triage" / "stories" / "a.yml").write_text(story.format(name="y"))
    with pytest.raises(ProjectInvalid) as raised:
        load_project(root)
    found = {(p.file, p.message): p.fix for p in raised.value.problems}
    assert found[("workflow/", "unknown folder of YAML files: nothing reads them")].startswith(
        "rename it to workflows/"
    )
    assert found[("nlu.yaml", "unknown file: nothing reads it")].startswith("rename it to nlu.yml")
    assert found[("bots/triage/tests.yml", "unknown file")] == (
        "move it to bots/triage/tests/tests.yml: a bot's stories go in its tests/"
    )
    assert ("bots/triage/stories/", "unknown folder of YAML files: nothing reads them") in found
    assert not any(file.startswith(("docker-compose", "deploy")) for file, _m in found)


def test_tags_fields_and_reply_patterns_of_stories_are_checked(tmp_path: Path) -> None:
    """A misspelt tag or field expected absent passed without testing anything, and a
    pattern that does not compile crashed `baton test` with a traceback."""
    root = tmp_path / "hub"
    shutil.copytree(EXAMPLES / "hub_and_spoke", root, ignore=shutil.ignore_patterns(".baton"))
    settings = (root / "baton.yml").read_text(encoding="utf-8")
    (root / "baton.yml").write_text(
        settings.replace(
            "  tags: [needs_billing, vip]\n",
            "  tags: [needs_billing, vip]\n  fields: [plan]\n"
            "  forms: {signup: {fields: [email]}}\n",
        ),
        encoding="utf-8",
    )
    (root / "tests" / "typos.yml").write_text(
        "stories:\n"
        "  - name: typos\n"
        "    steps:\n"
        "      - user: hi\n"
        "        reply_matches: '(unclosed'\n"
        "      - command: /tag add vpi\n"
        "        tags: [-vpi]\n"
        "      - command: /field plna gold\n"
        "        fields: {plna: null}\n"
        "      - command: /wait -5\n"
        "      - command: /form sigup email=a@b.c\n",
        encoding="utf-8",
    )
    found = {(p.line, p.message): p.fix for p in _story_problems(root)}
    assert found[
        (
            5,
            "reply_matches is not a regular expression: missing ), unterminated "
            "subpattern at position 0",
        )
    ].startswith("fix the pattern")
    assert found[(6, "unknown tag 'vpi'")] == "did you mean 'vip'?"
    assert found[(7, "unknown tag 'vpi'")] == "did you mean 'vip'?"
    assert found[(8, "unknown field 'plna'")] == "did you mean 'plan'?"
    assert found[(9, "unknown field 'plna'")] == "did you mean 'plan'?"
    assert found[(10, "command '/wait -5' does not parse")].endswith("at most 5256000 (ten years)")
    assert (11, "unknown form 'sigup'") in found


def test_no_events_fails_when_one_happens_and_an_empty_events_is_a_problem(
    tmp_path: Path,
) -> None:
    root = tmp_path / "funnel"
    shutil.copytree(EXAMPLES / "funnel", root, ignore=shutil.ignore_patterns(".baton"))
    story = root / "tests" / "stories.yml"
    text = story.read_text(encoding="utf-8")
    # the second move is to another stage: it changes the field and runs a workflow
    story.write_text(
        text.replace(
            '- command: "/field stage bottom"  # the same value again',
            '- command: "/field stage middle"  # another value',
        ),
        encoding="utf-8",
    )
    results = asyncio.run(run_stories(root))
    failed = [r for r in results if not r.passed]
    assert len(failed) == 1
    assert any("no_events: {" in f and "field_updated" in f for f in failed[0].failures)

    story.write_text(
        text.replace(
            "        no_events:\n          - {type: field_updated}\n"
            "          - {type: workflow_triggered}\n",
            "        events: []\n",
        ),
        encoding="utf-8",
    )
    [problem] = _story_problems(root)
    assert problem.message == "`events: []` checks nothing (each listed event must happen)"
    story.write_text(
        text.replace(
            "        no_events:\n          - {type: field_updated}\n"
            "          - {type: workflow_triggered}\n",
            "        no_events: []\n",
        ),
        encoding="utf-8",
    )
    [problem] = _story_problems(root)
    assert problem.message == "`no_events: []` checks nothing (no listed event may happen)"


def test_a_form_is_free_when_the_project_declares_none(tmp_path: Path) -> None:
    """As the runtime takes any form then, a story may submit one."""
    root = tmp_path / "bank"
    shutil.copytree(EXAMPLES / "bank", root, ignore=shutil.ignore_patterns(".baton"))
    (root / "tests" / "form.yml").write_text(
        "stories:\n  - name: a form\n    steps:\n      - command: /form signup email=a@b.c\n",
        encoding="utf-8",
    )
    assert load_stories(root, load_project(root))
