"""Loading a project's actions file into an ``ActionRegistry``."""

from __future__ import annotations

import importlib.util
import traceback
from pathlib import Path

from baton.bots.actions import ActionRegistry
from baton.domain.errors import Problem, ProjectInvalid
from baton.spec.project import Project


def load_actions(project: Project) -> ActionRegistry:
    """Import the file named by ``actions:`` in baton.yml and call its ``register``."""
    registry = ActionRegistry()
    name = project.settings.actions
    if name is None:
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
    return registry


def _line(error: BaseException, path: Path) -> int:
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if Path(frame.filename) == path and frame.lineno:
            return frame.lineno
    return getattr(error, "lineno", 0) or 0
