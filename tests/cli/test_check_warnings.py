"""`baton check` warnings: valid projects with parts that are most likely a mistake."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from baton.cli.main import app
from baton.project import find_warnings, load_project
from tests.cli.test_commands import copy_example

runner = CliRunner()


def test_a_bot_nothing_leads_to_is_a_warning_and_strict_fails_on_it(tmp_path: Path) -> None:
    project = copy_example("bank", tmp_path)
    bot = project / "bots" / "professional" / "bot.yml"
    bot.write_text(bot.read_text().replace("group: bank\n", ""))

    result = runner.invoke(app, ["check", str(project), "--no-clashes"])
    assert result.exit_code == 0, result.output
    assert "warning bots/professional/bot.yml:" in result.output
    assert "bot 'professional' is never handed the conversation" in result.output
    assert "1 warning(s)" in result.output

    strict = runner.invoke(app, ["check", str(project), "--no-clashes", "--strict"])
    assert strict.exit_code == 1


def test_a_workflow_assignment_or_a_transfer_reaches_a_bot(tmp_path: Path) -> None:
    project = copy_example("bank", tmp_path)
    bot = project / "bots" / "professional" / "bot.yml"
    bot.write_text(bot.read_text().replace("group: bank\n", ""))
    (project / "workflows").mkdir()
    (project / "workflows" / "business.yml").write_text(
        "trigger: {message_received: {}}\nactions:\n  - assign: professional\n"
    )
    assert find_warnings(load_project(project)) == []

    (project / "workflows" / "business.yml").unlink()
    flows = project / "bots" / "personal" / "flows.yml"
    flows.write_text(
        flows.read_text().replace(
            '$5,300.00."\n',
            '$5,300.00."\n      - transfer: professional\n',
            1,
        )
    )
    assert find_warnings(load_project(project)) == []


def test_a_return_in_a_bot_no_call_names_is_a_warning_at_its_line(tmp_path: Path) -> None:
    project = copy_example("bank", tmp_path)
    flows = project / "bots" / "personal" / "flows.yml"
    text = flows.read_text().replace('$5,300.00."\n', '$5,300.00."\n      - return:\n', 1)
    flows.write_text(text)
    line = text.splitlines().index("      - return:") + 1

    [warning] = find_warnings(load_project(project))
    assert (warning.file, warning.line) == ("bots/personal/flows.yml", line)
    assert "flow 'check_balance' returns, but no bot calls 'personal'" in warning.message
    assert warning.fix.startswith("write `end: true`")

    result = runner.invoke(app, ["check", str(project), "--no-clashes"])
    assert result.exit_code == 0, result.output
    assert f"warning bots/personal/flows.yml:{line}:" in result.output


def test_history_last_beyond_what_a_conversation_keeps_is_a_warning(tmp_path: Path) -> None:
    """`last: 200` was accepted and gave 50 without a word; a load error would stop
    projects that ran, so it is a warning."""
    project = copy_example("bank", tmp_path)
    bot = project / "bots" / "personal" / "bot.yml"
    bot.write_text(bot.read_text() + "history:\n  policy: last\n  last: 200\n")
    [warning] = find_warnings(load_project(project))
    assert warning.file == "bots/personal/bot.yml"
    assert warning.message.startswith("history.last is 200, but a conversation keeps its last 50")
