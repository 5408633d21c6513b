"""Workflows: triggers, conditions and actions declared in ``workflows/*.yml``.

This package knows the domain and the project specification only; the router
hosts a run through the small :class:`~baton.workflows.engine.Host` protocol.
"""

from baton.workflows.engine import Host, WorkflowEngine
from baton.workflows.signals import Signal, signals_of

__all__ = ["Host", "Signal", "WorkflowEngine", "signals_of"]
