"""An engine: a project loaded, its NLU trained, its bots built, its store open."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from baton.bots.flowbot import FlowBot
from baton.domain.ports import Clock, CrossBotIndex, EventStore
from baton.domain.turns import Bot
from baton.nlu import ProjectNlu, train_project
from baton.project import load_project
from baton.router.router import Router
from baton.runtime.actions import load_actions
from baton.runtime.clock import SystemClock
from baton.spec.project import Project
from baton.storage import SqlEventStore, default_sqlite_url

Progress = Callable[[int, int, str], None]


@dataclass
class Engine:
    """Everything a turn needs, wired together; close it when done."""

    project: Project
    nlu: ProjectNlu
    store: EventStore
    router: Router
    clock: Clock

    async def close(self) -> None:
        """Close the store."""
        await self.store.close()


def database_url(project: Project, override: str | None = None) -> str:
    """The store URL: an override, the project's setting, or .baton/baton.db."""
    url = override or project.settings.settings.database_url
    return url or default_sqlite_url(project.root / ".baton" / "baton.db")


def build_bots(project: Project, nlu: ProjectNlu) -> dict[str, Bot]:
    """A FlowBot per bot folder, with its classifier and the project's actions."""
    actions = load_actions(project)
    timeout = project.settings.settings.action_timeout_seconds
    return {
        bot_id: FlowBot(definition, nlu.for_bot(bot_id), actions, timeout)
        for bot_id, definition in project.bots.items()
    }


async def open_engine(
    root: Path,
    *,
    database: str | None = None,
    clock: Clock | None = None,
    store: EventStore | None = None,
    progress: Progress | None = None,
) -> Engine:
    """Load, check, train (or reuse the cached models), and open the store."""
    project = load_project(root)
    nlu = train_project(project, root / ".baton" / "nlu", progress=progress)
    nlu.warm_up()  # the first message should not wait for the encoders to load
    bots = build_bots(project, nlu)
    store = store or SqlEventStore(database_url(project, database))
    await store.open()
    clock = clock or SystemClock()

    def groups(group: str) -> CrossBotIndex | None:
        return nlu.for_group(group)

    router = Router(project, bots, store, clock, groups)
    return Engine(project, nlu, store, router, clock)
