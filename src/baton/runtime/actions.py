"""Loading a project's actions file into an ``ActionRegistry``."""

from __future__ import annotations

import importlib.util
import traceback
from pathlib import Path

from baton.bots.actions import ActionRegistry, DuplicateAction
from baton.domain.errors import Problem, ProjectInvalid
from baton.project.hints import did_you_mean
from baton.project.steps import walk_flows
from baton.spec.flow import ActionStep
from baton.spec.project import Project
from baton.spec.yamlfile import Locator


def load_actions(project: Project) -> ActionRegistry:
    """Import the file named by ``actions:`` in baton.yml and call its ``register``."""
    registry = ActionRegistry()
    name = project.settings.actions
    if name is None:
        # flows that name actions, and no file for them: each is a problem (they failed on
        # every run, while `baton check` said ok), whose fix names the key and the file
        missing = unregistered(project, registry)
        if missing:
            raise ProjectInvalid(missing)
        return registry
    path = project.root / name
    if not path.is_file():
        raise ProjectInvalid(
            [
                Problem(
                    "baton.yml",
                    0,
                    f"actions file {name!r} does not exist",
                    "create it or fix the path",
                )
            ]
        )
    try:
        spec = importlib.util.spec_from_file_location(f"baton_actions_{abs(hash(path))}", path)
        if spec is None or spec.loader is None:
            raise ImportError(f"can't import {path}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        register = getattr(module, "register", None)
        if register is None:
            raise ProjectInvalid(
                [Problem(name, 1, "the actions file has no register(registry) function", "add one")]
            )
        register(registry)
    except ProjectInvalid:
        raise
    except DuplicateAction as error:
        fix = "register each action under its own name, or remove one of the adds"
        raise ProjectInvalid([Problem(name, _line(error, path), str(error), fix)]) from error
    except Exception as error:  # user code: report where it broke
        raise ProjectInvalid(
            [
                Problem(
                    name,
                    _line(error, path),
                    f"{type(error).__name__}: {error}",
                    "fix the actions file",
                )
            ]
        ) from error
    missing = unregistered(project, registry)
    if missing:
        raise ProjectInvalid(missing)
    return registry


def unregistered(project: Project, registry: ActionRegistry) -> list[Problem]:
    """Every ``action:`` step that names an action the registry lacks (it would fail on
    every run, as ``action_failed``)."""
    at = Locator(project.root)
    problems = []
    known = registry.names()
    for bot in project.bots.values():
        file = f"bots/{bot.bot_id}/flows.yml"
        for _, loc, step in walk_flows(bot.flows):
            if not isinstance(step, ActionStep):
                continue
            name = step.action if isinstance(step.action, str) else step.action.name
            if name in registry:
                continue
            where = (*loc, "action") if isinstance(step.action, str) else (*loc, "action", "name")
            if project.settings.actions is None:
                beside = (project.root / "actions.py").is_file()
                fix = (
                    "add `actions: actions.py` to baton.yml: the file is not read without it"
                    if beside
                    else "name an actions file in baton.yml (`actions: actions.py`) that "
                    "registers it"
                )
            else:
                registered = ", ".join(known) or "none"
                otherwise = f"register it in {project.settings.actions} (registered: {registered})"
                fix = did_you_mean(name, known, otherwise)
            problems.append(at.problem(file, where, f"action '{name}' is not registered", fix))
    return problems


def _line(error: BaseException, path: Path) -> int:
    """The line of the actions file where ``error`` was raised (tracebacks name files by
    their absolute path; ``path`` may be relative, as in ``baton check`` run inside)."""
    wanted = path.resolve()
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if Path(frame.filename).resolve() == wanted and frame.lineno:
            return frame.lineno
    return getattr(error, "lineno", 0) or 0
