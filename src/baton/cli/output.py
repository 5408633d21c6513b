"""Printing problems and transcripts the same way in every command."""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from baton.domain.errors import Problem, ProjectInvalid, StoreUnavailable

T = TypeVar("T")

console = Console(highlight=False, soft_wrap=True)
errors = Console(stderr=True, highlight=False, soft_wrap=True)


def print_problems(problems: list[Problem], kind: str = "error") -> None:
    """One block per problem (or, with ``kind="warning"``, per warning): where, what, how
    to fix."""
    mark, what = ("bold red", "problem") if kind == "error" else ("bold yellow", "warning")
    for problem in problems:
        where = f"{problem.file}:{problem.line}" if problem.line else problem.file
        # the texts quote what the author wrote, which may look like Rich markup ("[/x]")
        errors.print(f"[{mark}]{kind}[/] [cyan]{escape(where)}[/]: {escape(problem.message)}")
        if problem.fix:
            errors.print(f"    [green]fix:[/] {escape(problem.fix)}")
    errors.print(f"[{mark}]{len(problems)} {what}(s)[/]")


def fail(message: str, code: int = 1) -> NoReturn:
    """End the command with one error line (the message as written) and exit ``code``
    (2 for a usage error, as for a bad option)."""
    errors.print(f"[bold red]error[/] {escape(message)}")
    raise typer.Exit(code)


def reported(work: Callable[[], T]) -> T:
    """Run a command's work; a project's problems or a store that can't be opened end it
    with their message and exit 1, never a traceback."""
    try:
        return work()
    except ProjectInvalid as invalid:
        print_problems(invalid.problems)
        raise typer.Exit(1) from invalid
    except StoreUnavailable as error:
        fail(str(error))


#: what ``--database`` means, for every command that has it (``runtime.engine.database_url``)
DATABASE_HELP = (
    "SQLAlchemy URL or SQLite file (default: BATON_DATABASE_URL, else settings.database_url of "
    "baton.yml, else .baton/baton.db)"
)
