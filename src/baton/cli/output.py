"""Printing problems and transcripts the same way in every command."""

from __future__ import annotations

from rich.console import Console

from baton.domain.errors import Problem

console = Console(highlight=False, soft_wrap=True)
errors = Console(stderr=True, highlight=False, soft_wrap=True)


def print_problems(problems: list[Problem]) -> None:
    """One block per problem: where, what, how to fix."""
    for problem in problems:
        where = f"{problem.file}:{problem.line}" if problem.line else problem.file
        errors.print(f"[bold red]error[/] [cyan]{where}[/]: {problem.message}")
        if problem.fix:
            errors.print(f"    [green]fix:[/] {problem.fix}")
    errors.print(f"[red]{len(problems)} problem(s)[/]")
