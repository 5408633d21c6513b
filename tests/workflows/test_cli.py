"""The workflow CLI commands, through a Typer app that registers them."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from baton.cli.workflow_commands import register
from baton.storage import default_sqlite_url
from tests.workflows.projects import write_project


def test_form_tag_field_book_and_timers_commands(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p",
        {
            "signup": {
                "trigger": {"form_submitted": "signup"},
                "actions": [{"assign": "agent"}, {"add_tag": "lead"}],
            },
            "booked": {"trigger": {"appointment_booked": {}}, "actions": [{"add_tag": "customer"}]},
        },
        settings={"workflows": {"forms": {"signup": {"fields": ["email"]}}, "fields": ["stage"]}},
    )
    app = typer.Typer()
    app.command("noop")(lambda: None)
    register(app)
    db = ["--database", default_sqlite_url(tmp_path / "cli.db")]
    runner = CliRunner()
    submitted = runner.invoke(
        app,
        [
            "form",
            "submit",
            str(root),
            "--address",
            "+34600",
            "--form",
            "signup",
            "email=a@b.c",
            *db,
        ],
    )
    assert submitted.exit_code == 0, submitted.output
    assert "workflow signup" in submitted.output and "agent assigned" in submitted.output
    tagged = runner.invoke(app, ["tag", str(root), "remove", "lead", "--address", "+34600", *db])
    assert tagged.exit_code == 0 and "tag -lead" in tagged.output, tagged.output
    field = runner.invoke(app, ["field", str(root), "stage", "3", "--address", "+34600", *db])
    assert "field stage = 3" in field.output, field.output
    booked = runner.invoke(app, ["book", str(root), "--address", "+34600", "day=fri", *db])
    assert "tag +customer" in booked.output, booked.output
    timers = runner.invoke(app, ["timers", "run", str(root), *db])
    assert timers.exit_code == 0 and "0 timer(s) fired" in timers.output, timers.output


def _cli(tmp_path: Path) -> tuple[typer.Typer, Path, list[str]]:
    root = write_project(
        tmp_path / "p",
        {"signup": {"trigger": {"form_submitted": "signup"}, "actions": [{"add_tag": "lead"}]}},
        settings={"workflows": {"forms": {"signup": {"fields": ["email"]}}}},
    )
    app = typer.Typer()
    app.command("noop")(lambda: None)
    register(app)
    return app, root, ["--database", default_sqlite_url(tmp_path / "cli.db")]


def test_contact_ids_must_exist_and_addresses_are_explicit(tmp_path: Path) -> None:
    app, root, db = _cli(tmp_path)
    runner = CliRunner()
    unknown = runner.invoke(app, ["tag", str(root), "add", "vip", "--contact", "abc123", *db])
    assert unknown.exit_code == 2
    assert "no contact 'abc123' in account 'default'" in unknown.output
    assert "--address" in unknown.output and "Traceback" not in unknown.output
    made = runner.invoke(app, ["tag", str(root), "add", "vip", "--address", "abc123", *db])
    assert made.exit_code == 0, made.output
    contact_id = made.output.split()[1].rstrip(",")
    again = runner.invoke(app, ["tag", str(root), "add", "gold", "--contact", contact_id, *db])
    assert again.exit_code == 0 and f"contact {contact_id}," in again.output, again.output
    neither = runner.invoke(app, ["field", str(root), "stage", "3", *db])
    assert neither.exit_code == 2 and "--contact ID or with --address" in neither.output
    both = runner.invoke(
        app, ["field", str(root), "stage", "3", "--contact", contact_id, "--address", "x", *db]
    )
    assert both.exit_code == 2


def test_unknown_forms_and_bots_and_bad_pairs_are_one_line_errors(tmp_path: Path) -> None:
    app, root, db = _cli(tmp_path)
    runner = CliRunner()
    base = ["--address", "+34611", *db]
    form = runner.invoke(app, ["form", "submit", str(root), "--form", "nosuch", *base, "a=1"])
    assert form.exit_code == 2 and "unknown form 'nosuch'" in form.output, form.output
    assert "signup" in form.output
    bot = runner.invoke(app, ["book", str(root), "--bot", "nosuchbot", *base])
    assert bot.exit_code == 2 and "no bot 'nosuchbot'" in bot.output, bot.output
    bad = runner.invoke(app, ["form", "submit", str(root), "--form", "signup", *base, "noequals"])
    assert bad.exit_code == 2, bad.output
    assert "expected key=value, got 'noequals'" in bad.output
    assert len(bad.output.strip().splitlines()) == 1, bad.output
    booked = runner.invoke(app, ["book", str(root), *base, "oops"])
    assert booked.exit_code == 2 and "key=value" in booked.output
