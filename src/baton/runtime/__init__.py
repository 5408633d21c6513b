"""The composition root for an in-process engine: project, NLU, bots, store, router."""

from baton.runtime.engine import Engine, open_engine

__all__ = ["Engine", "open_engine"]
