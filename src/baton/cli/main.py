"""``baton``: check, chat with, test, train and serve a project."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import typer
from rich.markup import escape

from baton.cli import chat as chat_command
from baton.cli import nlu_commands, serve_commands, workflow_commands
from baton.cli.output import console, errors, fail, print_problems
from baton.domain.errors import ProjectInvalid

app = typer.Typer(
    name="baton",
    help="Many bots, one conversation: check, chat with, test and serve a Baton project.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def settings_from_environment() -> None:
    """Many bots, one conversation: check, chat with, test and serve a Baton project."""
    from baton.nlu.model import EMBEDDINGS_ENV

    value = os.environ.get(EMBEDDINGS_ENV, "").strip().lower()
    if value not in ("", "auto", "on", "off"):
        fail(f"{EMBEDDINGS_ENV}={value!r}: use on, off or auto", 2)


ProjectDir = typer.Argument(
    Path("."), help="project folder (with baton.yml)", exists=True, file_okay=False
)


@app.command()
def check(
    project: Path = ProjectDir,
    clashes: bool = typer.Option(
        True, "--clashes/--no-clashes", help="report intents of different bots that get confused"
    ),
    strict: bool = typer.Option(
        False, "--strict", help="fail on warnings too (a bot nothing leads to, a stray return)"
    ),
) -> None:
    """Validate a whole project; print each problem and warning with file, line and fix."""
    from baton.nlu import EngineSettings, load_project_thresholds
    from baton.nlu.clashes import find_clashes
    from baton.project import find_warnings, load_project
    from baton.runtime.actions import load_actions
    from baton.testing.runner import load_stories

    try:
        loaded = load_project(project)
        load_actions(loaded)  # imports the actions file: its errors, and unregistered names
        load_project_thresholds(loaded, EngineSettings().engine)
        load_stories(loaded.root, loaded)  # tests/**/*.yml, bots/*/tests/**/*.yml
    except ProjectInvalid as invalid:
        print_problems(invalid.problems)
        raise typer.Exit(1) from invalid
    if clashes:
        with console.status("looking for intents of different bots that get confused"):
            found = find_clashes(loaded)
        nlu_commands.print_clashes(found)
    warnings = find_warnings(loaded)
    if warnings:
        print_problems(warnings, "warning")
        if strict:
            raise typer.Exit(1)
    console.print(
        f"[green]ok[/] {loaded.name}: {len(loaded.bots)} bot(s), "
        f"{sum(len(b.flows) for b in loaded.bots.values())} flow(s), "
        f"{sum(len(b.intents) for b in loaded.bots.values())} intent(s)"
        + (f", {len(warnings)} warning(s)" if warnings else "")
    )


@app.command()
def schema(
    out: Path = typer.Option(None, "--out", help="write one <kind>.schema.json per file kind here"),
) -> None:
    """Print (or write) the JSON Schema of every project file kind (stories.yml for
    each tests/*.yml, workflow.yml for each workflows/*.yml)."""
    from baton.project import file_schemas, write_schemas
    from baton.testing.story import StoryFile

    stories = {"stories.yml": StoryFile}
    if out is not None:
        for path in write_schemas(out, stories):
            console.print(str(path))
        return
    console.print_json(json.dumps(file_schemas(stories)))


@app.command()
def test(
    project: Path = ProjectDir,
    only: str = typer.Option(None, "--only", "-k", help="run stories whose name contains this"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="print every transcript"),
) -> None:
    """Run the project's conversation stories (tests/**/*.yml and bots/*/tests/**/*.yml)."""
    from baton.testing import run_stories

    try:
        results = asyncio.run(run_stories(project, only))
    except ProjectInvalid as invalid:
        print_problems(invalid.problems)
        raise typer.Exit(1) from invalid
    failed = [r for r in results if not r.passed]
    for result in results:
        mark = "[green]PASS[/]" if result.passed else "[red]FAIL[/]"
        console.print(f"{mark} {escape(result.file)} :: {escape(result.name)}")
        if not result.passed or verbose:
            for failure in result.failures:
                console.print(f"    [red]{escape(failure)}[/]")
            console.print("    [dim]transcript:[/]")
            for line in result.transcript:
                console.print(f"      {line}", markup=False)
    console.print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    if failed or not results:
        if not results:
            errors.print("no stories found in tests/ or bots/*/tests/")
        raise typer.Exit(1)


app.command(name="chat")(chat_command.chat)

nlu_commands.register(app)
workflow_commands.register(app)
serve_commands.register(app)


if __name__ == "__main__":
    app()
