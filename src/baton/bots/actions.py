"""Project actions: Python callables a flow runs, with a timeout.

A project's actions file defines ``register(registry)``, which adds its
callables by name. A callable takes the step's inputs (a dict) and returns a
dict (``value`` feeds ``save_as``); it may be sync or async.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from baton.domain.values import Payload

ActionFunction = Callable[[Payload], Payload | Awaitable[Payload]]


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What running an action produced: a result, or an error and its kind."""

    result: Payload
    error: str | None = None
    kind: str = ""
    elapsed_ms: float = 0.0


class DuplicateAction(ValueError):
    """Two different functions registered under one name."""

    def __init__(self, name: str, first: ActionFunction) -> None:
        self.name = name
        first_name = getattr(first, "__name__", repr(first))
        super().__init__(f"action {name!r} is registered twice (first as {first_name})")


class ActionRegistry:
    """Named project actions."""

    def __init__(self) -> None:
        self._actions: dict[str, ActionFunction] = {}

    def add(self, name: str, function: ActionFunction) -> None:
        """Register ``function`` under ``name``; a name already taken is an error (the
        second function would silently replace the first)."""
        taken = self._actions.get(name)
        if taken is not None and taken is not function:
            raise DuplicateAction(name, taken)
        self._actions[name] = function

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._actions)

    def __contains__(self, name: object) -> bool:
        return name in self._actions

    async def run(self, name: str, inputs: Payload, timeout: float) -> ActionResult:
        """Run an action; errors and timeouts come back as data, never raised."""
        function = self._actions.get(name)
        if function is None:
            return ActionResult({}, f"no action named {name!r} is registered", "unknown")
        started = time.perf_counter()
        try:
            async with asyncio.timeout(timeout):  # wait_for may swallow a cancel (3.11)
                result = await _invoke(function, inputs)
        except TimeoutError:
            return ActionResult({}, f"timed out after {timeout:g}s", "timeout", _ms(started))
        except Exception as error:  # an action is user code: any failure is recorded
            return ActionResult({}, f"{type(error).__name__}: {error}", "error", _ms(started))
        if not isinstance(result, dict):
            problem = f"returned {type(result).__name__}, expected a dict"
            return ActionResult({}, problem, "bad_result", _ms(started))
        return ActionResult(result, elapsed_ms=_ms(started))


async def _invoke(function: ActionFunction, inputs: Payload) -> Payload:
    if inspect.iscoroutinefunction(function):
        outcome = function(dict(inputs))
        return await outcome  # type: ignore[no-any-return]
    result = await asyncio.to_thread(function, dict(inputs))
    if inspect.isawaitable(result):
        return await result
    return result


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
