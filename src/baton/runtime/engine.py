"""An engine: a project loaded, its NLU trained, its bots built, its store open."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

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


#: the environment variable that names the store for every command (it wins over baton.yml)
DATABASE_ENV = "BATON_DATABASE_URL"


def database_url(project: Project, override: str | None = None) -> str:
    """The store URL: an override (``--database``), ``BATON_DATABASE_URL``, the project's
    setting (a relative SQLite path read from the project folder), or .baton/baton.db.

    Every command (serve, chat, keys, tag...) picks the same store this way, so a key
    ``baton keys create`` makes is the one ``baton serve`` checks, wherever each runs.
    """
    url = override or os.environ.get(DATABASE_ENV) or project_database_url(project)
    return url or default_sqlite_url(project.root / ".baton" / "baton.db")


def project_database_url(project: Project) -> str | None:
    """``settings.database_url`` of baton.yml with a relative SQLite file (``data/x.db``,
    ``sqlite:///data/x.db``) read from the project's folder, as ``actions:`` is, not
    from wherever a command runs."""
    url = project.settings.settings.database_url
    if not url:
        return None
    if "://" not in url:
        path = Path(url).expanduser()
        return str(path if path.is_absolute() else project.root / path)
    parsed = sa.make_url(url)
    name = parsed.database or ""
    relative = name not in ("", ":memory:") and not Path(name).expanduser().is_absolute()
    if parsed.get_backend_name() == "sqlite" and relative:
        return parsed.set(database=str(project.root / name)).render_as_string(False)
    return url


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
    nlu = train_project(project, progress=progress)  # cached in BATON_NLU_CACHE or .baton/nlu
    nlu.warm_up()  # the first message should not wait for the encoders to load
    bots = build_bots(project, nlu)
    store = store or SqlEventStore(database_url(project, database))
    await store.open()
    clock = clock or SystemClock()

    def groups(group: str) -> CrossBotIndex | None:
        return nlu.for_group(group)

    router = Router(project, bots, store, clock, groups)
    return Engine(project, nlu, store, router, clock)
