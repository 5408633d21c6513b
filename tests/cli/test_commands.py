"""The CLI as a user runs it: check, test, chat, schema."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from baton.cli.main import app

EXAMPLES = Path(__file__).parents[2] / "examples"
runner = CliRunner()


def copy_example(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(EXAMPLES / name, target, ignore=shutil.ignore_patterns(".baton"))
    return target


def test_check_names_file_line_and_fix_and_exits_1(tmp_path: Path) -> None:
    project = copy_example("bank", tmp_path)
    bot = project / "bots" / "personal" / "bot.yml"
    bot.write_text(bot.read_text().replace("primary:", "primay:"))
    result = runner.invoke(app, ["check", str(project), "--no-clashes"])
    assert result.exit_code == 1
    assert "bots/personal/bot.yml:" in result.output
    assert "did you mean 'primary'" in result.output


def test_check_passes_on_an_example(tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", str(copy_example("bank", tmp_path)), "--no-clashes"])
    assert result.exit_code == 0, result.output
    assert "ok" in result.output


def test_test_command_runs_stories_and_prints_the_transcript_on_failure(tmp_path: Path) -> None:
    project = copy_example("bank", tmp_path)
    (project / "tests" / "extra.yml").write_text(
        "stories:\n  - name: wrong on purpose\n    steps:\n"
        "      - user: hello\n        reply: this is not what the bot says\n"
    )
    result = runner.invoke(app, ["test", str(project), "--only", "wrong on purpose"])
    assert result.exit_code == 1
    assert "FAIL" in result.output and "transcript" in result.output
    assert "user: hello" in result.output


def test_chat_shows_the_speaking_bot_and_takes_commands(tmp_path: Path) -> None:
    project = copy_example("clinic", tmp_path)
    typed = "hi\n/status paused triage\nhello\n/context\n"
    result = runner.invoke(app, ["chat", str(project)], input=typed)
    assert result.exit_code == 0, result.output
    assert "[triage]" in result.output
    assert "triage is now paused" in result.output
    assert "bot triage is paused" in result.output  # held, with the reason
    assert '"owner"' in result.output
    assert "open conversation" not in result.output  # a first session has nothing to resume
    result = runner.invoke(app, ["chat", str(project)], input="/new\n")
    said = " ".join(result.output.split())
    assert "open conversation with triage for you (last message" in said, said
    assert "your next message continues it; /history shows it, /new starts over" in said
    assert "open conversation" not in runner.invoke(app, ["chat", str(project)]).output


def test_schema_writes_one_file_per_kind(tmp_path: Path) -> None:
    result = runner.invoke(app, ["schema", "--out", str(tmp_path)])
    assert result.exit_code == 0
    assert {p.name for p in tmp_path.iterdir()} >= {"bot.schema.json", "flows.schema.json"}


def test_an_unknown_engine_setting_is_an_error_not_a_silent_default(tmp_path: Path) -> None:
    project = copy_example("clinic", tmp_path)
    result = runner.invoke(
        app, ["check", str(project), "--no-clashes"], env={"BATON_NLU_EMBEDDINGS": "bogus"}
    )
    assert result.exit_code == 2
    assert "BATON_NLU_EMBEDDINGS='bogus': use on, off or auto" in result.output


def test_texts_that_look_like_rich_markup_are_printed_as_written(tmp_path: Path) -> None:
    project = copy_example("bank", tmp_path)
    (project / "tests" / "extra.yml").write_text(
        "stories:\n  - name: '[red]marked[/red] story'\n    steps:\n"
        "      - user: hello\n        reply: 'Press [bold]1[/bold] to [/] continue'\n"
    )
    result = runner.invoke(app, ["test", str(project), "--only", "marked"])
    assert result.exit_code == 1
    said = " ".join(result.output.split())
    assert "[red]marked[/red] story" in said
    assert "'Press [bold]1[/bold] to [/] continue'" in said
    bot = project / "bots" / "personal" / "bot.yml"
    bot.write_text(bot.read_text() + '"[/x]": 1\n')
    result = runner.invoke(app, ["check", str(project), "--no-clashes"])
    assert result.exit_code == 1 and "unknown key '[/x]'" in result.output


def test_chat_takes_a_plain_sqlite_url_and_refuses_an_unknown_channel(tmp_path: Path) -> None:
    project = copy_example("clinic", tmp_path)
    url = f"sqlite:///{tmp_path / 'chat.db'}"
    result = runner.invoke(app, ["chat", str(project), "--database", url], input="hi\n")
    assert result.exit_code == 0, result.output
    assert "[triage]" in result.output and (tmp_path / "chat.db").is_file()
    result = runner.invoke(app, ["chat", str(project), "--channel", "fax"], input="hi\n")
    assert result.exit_code == 2 and "unknown channel 'fax'" in result.output


def test_check_and_serve_import_the_actions_file_and_know_every_action(tmp_path: Path) -> None:
    project = copy_example("clinic", tmp_path)
    actions = project / "actions.py"
    code = actions.read_text()
    actions.write_text(
        code.replace(
            "def register(registry: ActionRegistry) -> None:", "def register(registry) -> None"
        )
    )
    result = runner.invoke(app, ["check", str(project), "--no-clashes"])
    assert (
        result.exit_code == 1 and "actions.py:" in result.output and "SyntaxError" in result.output
    )
    result = runner.invoke(app, ["serve", str(project), "--port", "18999"])
    assert result.exit_code == 1 and "SyntaxError" in result.output
    actions.write_text(code.replace('    registry.add("next_free_slot", next_free_slot)\n', ""))
    result = runner.invoke(app, ["check", str(project), "--no-clashes"])
    assert result.exit_code == 1
    said = " ".join(result.output.split())
    assert "bots/appointment/flows.yml:30: action 'next_free_slot' is not registered" in said


def test_an_action_name_registered_twice_is_a_problem_at_the_second_add(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = copy_example("clinic", tmp_path)
    actions = project / "actions.py"
    code = actions.read_text().replace(
        '    registry.add("send_sms_reminder", send_sms_reminder)\n',
        '    registry.add("send_sms_reminder", send_sms_reminder)\n'
        '    registry.add("next_free_slot", send_sms_reminder)\n',
    )
    actions.write_text(code)
    line = code.splitlines().index('    registry.add("next_free_slot", send_sms_reminder)') + 1
    result = runner.invoke(app, ["check", str(project), "--no-clashes"])
    said = " ".join(result.output.split())
    assert result.exit_code == 1
    assert (
        f"actions.py:{line}: action 'next_free_slot' is registered twice "
        "(first as next_free_slot)" in said
    )
    assert "register each action under its own name" in said
    # run inside the project, as `baton check` usually is: the line is still found
    monkeypatch.chdir(project)
    inside = runner.invoke(app, ["check", ".", "--no-clashes"])
    assert f"actions.py:{line}: action 'next_free_slot'" in " ".join(inside.output.split())


def test_check_validates_the_stories_too(tmp_path: Path) -> None:
    project = copy_example("bank", tmp_path)
    (project / "tests" / "extra.yml").write_text(
        "stories:\n  - name: typo\n    steps:\n      - user: hello\n        bto: personal\n"
    )
    result = runner.invoke(app, ["check", str(project), "--no-clashes"])
    assert result.exit_code == 1
    assert "tests/extra.yml:5: unknown key 'bto'" in " ".join(result.output.split())


def test_a_store_that_cannot_be_opened_is_one_line_in_every_command(tmp_path: Path) -> None:
    project = copy_example("clinic", tmp_path)
    down = ["--database", "postgresql://baton@127.0.0.1:1/none"]  # nothing listens on port 1
    commands = [
        ["keys", "list", str(project)],
        ["tag", str(project), "add", "vip", "--address", "u1"],
        ["serve", str(project), "--port", "1"],
        ["chat", str(project)],
    ]
    for command in commands:
        result = runner.invoke(app, [*command, *down], input="hi\n")
        assert result.exit_code == 1, (command, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), command
        assert "can't open the event store" in result.output, command
        assert "Traceback" not in result.output, command


def test_chat_answers_an_unknown_suggestion_id_and_goes_on(tmp_path: Path) -> None:
    project = copy_example("clinic", tmp_path)
    typed = "/mode suggest triage\nhi\n/approve sug_typo\nhello\n"
    result = runner.invoke(app, ["chat", str(project)], input=typed)
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "no suggestion 'sug_typo' is waiting in this conversation (waiting: sug_" in said, said
    assert "Traceback" not in result.output


def test_chat_refuses_a_form_the_project_does_not_declare(tmp_path: Path) -> None:
    project = copy_example("campaign_cascade", tmp_path)
    result = runner.invoke(app, ["chat", str(project)], input="/form sprng_sale email=a@b.c\n")
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "unknown form 'sprng_sale'; the project declares: spring_sale, webinar" in said, said
    assert "form sprng_sale submitted" not in said
