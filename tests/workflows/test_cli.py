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
            "--contact",
            "+34600",
            "--form",
            "signup",
            "email=a@b.c",
            *db,
        ],
    )
    assert submitted.exit_code == 0, submitted.output
    assert "workflow signup" in submitted.output and "agent assigned" in submitted.output
    tagged = runner.invoke(app, ["tag", str(root), "remove", "lead", "--contact", "+34600", *db])
    assert tagged.exit_code == 0 and "tag -lead" in tagged.output, tagged.output
    field = runner.invoke(app, ["field", str(root), "stage", "3", "--contact", "+34600", *db])
    assert "field stage = 3" in field.output, field.output
    booked = runner.invoke(app, ["book", str(root), "--contact", "+34600", "day=fri", *db])
    assert "tag +customer" in booked.output, booked.output
    timers = runner.invoke(app, ["timers", "run", str(root), *db])
    assert timers.exit_code == 0 and "0 timer(s) fired" in timers.output, timers.output
