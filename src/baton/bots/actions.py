"""Project actions: Python callables a flow runs, with a timeout.

A project's actions file defines ``register(registry)``, which adds its
callables by name. A callable takes the step's inputs (a dict) and returns a
dict (``value`` feeds ``save_as``); it may be sync or async.

A plain (sync) function runs on a thread of a pool of ``SYNC_THREADS`` of its own.
A thread can't be stopped: one past its timeout goes on until the function returns,
and keeps its thread. Python's shared default pool has ``min(32, cores + 4)`` threads
(6 on 2 cores), so a few slow calls to one remote service used to take every thread, and
any other action of any conversation then "timed out" without having run. Now, with
every thread of the pool taken, an action is not started and says so.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from baton.domain.redact import redact_urls
from baton.domain.values import Payload

ActionFunction = Callable[[Payload], Payload | Awaitable[Payload]]

#: threads for plain (sync) actions, shared by every conversation of the process
SYNC_THREADS = 32
_SYNC_POOL = ThreadPoolExecutor(SYNC_THREADS, thread_name_prefix="baton-action")
_sync_running = 0
_sync_lock = threading.Lock()


class _NoThread(Exception):
    """Every thread for plain actions is taken (by calls running past their timeout)."""


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
            problem = f"timed out after {timeout:g}s"
            if not inspect.iscoroutinefunction(function):
                problem += (
                    " (a plain function goes on in its thread until it returns: make it "
                    "async, or bound its own waits, such as its HTTP calls' timeout)"
                )
            return ActionResult({}, problem, "timeout", _ms(started))
        except _NoThread:
            problem = (
                f"not run: all {SYNC_THREADS} threads for plain (non-async) actions are "
                "taken by calls still running past their timeout; make the slow actions "
                "async, or bound their own waits"
            )
            return ActionResult({}, problem, "busy", _ms(started))
        except Exception as error:  # an action is user code: any failure is recorded
            # (stored in the log for good: a URL in it loses its query, where keys go)
            problem = redact_urls(f"{type(error).__name__}: {error}")
            return ActionResult({}, problem, "error", _ms(started))
        if not isinstance(result, dict):
            problem = f"returned {type(result).__name__}, expected a dict"
            return ActionResult({}, problem, "bad_result", _ms(started))
        return ActionResult(result, elapsed_ms=_ms(started))


async def _invoke(function: ActionFunction, inputs: Payload) -> Payload:
    if inspect.iscoroutinefunction(function):
        outcome = function(dict(inputs))
        return await outcome  # type: ignore[no-any-return]
    result = await _in_thread(function, dict(inputs))
    if inspect.isawaitable(result):
        return await result
    return result


async def _in_thread(function: ActionFunction, inputs: Payload) -> Payload | Awaitable[Payload]:
    """Run a plain function on the actions' pool, or raise ``_NoThread`` if every thread
    is taken; a thread counts as taken until the function returns, timeout or not."""
    global _sync_running
    with _sync_lock:
        if _sync_running >= SYNC_THREADS:
            raise _NoThread
        _sync_running += 1

    def ended(_future: object) -> None:
        global _sync_running
        with _sync_lock:
            _sync_running -= 1

    context = contextvars.copy_context()
    future = _SYNC_POOL.submit(context.run, function, inputs)
    future.add_done_callback(ended)
    return await asyncio.wrap_future(future)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
