"""Warnings: things in a valid project that are most likely not what its authors meant.

A warning never stops a load (``serve``, ``chat`` and ``test`` run the project as
written); ``baton check`` prints them after the problems, and ``baton check --strict``
fails on them, for CI. Each names the file, the line and a fix, as problems do:

- a bot nothing in the project leads to: not primary, no ``transfer``/``call`` names
  it, no workflow assigns it, and no reachable bot shares a collaboration group with it
  (only an operator's assignment through the API can start it);
- a ``return`` step in a bot no ``call`` names: with no caller to go back to, it only
  ends the flow;
- ``history.last`` above what a conversation keeps (``HISTORY_KEPT``): the bot sees
  those, not more.
"""

from __future__ import annotations

from collections.abc import Iterator

from baton.domain.errors import Problem
from baton.domain.state import HISTORY_KEPT
from baton.project.steps import walk_flows
from baton.spec.flow import CallStep, ReturnStep, TransferStep
from baton.spec.project import BotDefinition, Project
from baton.spec.workflow import AssignAction
from baton.spec.yamlfile import Locator, Sources


def find_warnings(project: Project, sources: Sources | None = None) -> list[Problem]:
    """Every warning for ``project`` (a project that passed the check), by file and line."""
    at = Locator(project.root, sources)
    warnings = [
        *_unreached_bots(project, at),
        *_returns_without_caller(project, at),
        *_history_beyond_kept(project, at),
    ]
    return sorted(warnings, key=lambda p: (p.file, p.line, p.message))


def _history_beyond_kept(project: Project, at: Locator) -> Iterator[Problem]:
    for bot_id, bot in sorted(project.bots.items()):
        history = bot.settings.history
        if history.policy == "last" and history.last > HISTORY_KEPT:
            message = (
                f"history.last is {history.last}, but a conversation keeps its last "
                f"{HISTORY_KEPT} messages: the bot sees {HISTORY_KEPT}"
            )
            fix = f"write `last: {HISTORY_KEPT}` or less (the whole log stays in the transcript)"
            yield at.problem(f"bots/{bot_id}/bot.yml", ("history", "last"), message, fix)


def _unreached_bots(project: Project, at: Locator) -> list[Problem]:
    reached = _reached(project)
    problems: list[Problem] = []
    for bot_id in sorted(set(project.bots) - reached):
        message = (
            f"bot '{bot_id}' is never handed the conversation: it is not primary, no "
            "transfer or call names it, no workflow assigns it, and no bot that is ever "
            "reached shares a collaboration group with it"
        )
        fix = (
            "transfer to it or call it from another bot, assign it in a workflow, put it in "
            "the group of a bot that talks, or delete it (an operator can still assign it)"
        )
        problems.append(at.problem(f"bots/{bot_id}/bot.yml", (), message, fix))
    return problems


def _reached(project: Project) -> set[str]:
    """Bots a conversation can get to from the primaries and the workflows' assignments,
    through transfers, calls and collaboration groups."""
    todo = [b.bot_id for b in project.bots.values() if b.settings.primary]
    todo += [bot for bot in _assigned(project) if bot in project.bots]
    reached: set[str] = set()
    while todo:
        bot_id = todo.pop()
        if bot_id in reached:
            continue
        reached.add(bot_id)
        bot = project.bots[bot_id]
        todo += [t for t in _handed_to(bot) if t in project.bots]
        todo += [b.bot_id for b in project.group_members(bot.settings.group)]
    return reached


def _assigned(project: Project) -> Iterator[str]:
    for workflow in project.workflows.values():
        for action in workflow.actions:
            spec = action.assign
            if spec is not None:
                yield spec.bot if isinstance(spec, AssignAction) else spec


def _handed_to(bot: BotDefinition) -> Iterator[str]:
    for _, _, step in walk_flows(bot.flows):
        if isinstance(step, TransferStep):
            yield step.transfer if isinstance(step.transfer, str) else step.transfer.to
        elif isinstance(step, CallStep):
            yield step.call if isinstance(step.call, str) else step.call.bot


def _returns_without_caller(project: Project, at: Locator) -> list[Problem]:
    called = {
        target
        for bot in project.bots.values()
        for _, _, step in walk_flows(bot.flows)
        if isinstance(step, CallStep)
        for target in [step.call if isinstance(step.call, str) else step.call.bot]
    }
    problems: list[Problem] = []
    for bot in project.bots.values():
        if bot.bot_id in called:
            continue
        for flow, loc, step in walk_flows(bot.flows):
            if isinstance(step, ReturnStep):
                message = (
                    f"flow '{flow}' returns, but no bot calls '{bot.bot_id}': with no caller "
                    "to go back to, the return only ends the flow"
                )
                fix = f"write `end: true` if that is meant, or `call: {bot.bot_id}` from the caller"
                problems.append(at.problem(f"bots/{bot.bot_id}/flows.yml", loc, message, fix))
    return problems
