"""``baton serve DIR`` and ``baton keys create|list|revoke``."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import typer

from baton.cli.output import DATABASE_HELP, console, errors, fail, print_problems, reported
from baton.domain.errors import ProjectInvalid
from baton.spec.project import Project

T = TypeVar("T")

ProjectDir = typer.Argument(
    Path("."), help="project folder (with baton.yml)", exists=True, file_okay=False
)
Database = typer.Option(None, "--database", help=DATABASE_HELP)

keys_app = typer.Typer(
    help="Create, list and revoke API keys (stored hashed).", no_args_is_help=True
)


def serve(
    project: Path = ProjectDir,
    host: str = typer.Option(None, "--host", help="address to listen on (default: baton.yml)"),
    port: int = typer.Option(None, "--port", help="port to listen on (default: baton.yml)"),
    database: str = Database,
    log_level: str = typer.Option("info", "--log-level", help="uvicorn log level"),
) -> None:
    """Serve the project: API (/v1, /docs), web chat (/), channels, /metrics."""
    import uvicorn

    from baton.nlu import EngineSettings, load_project_thresholds
    from baton.project import load_project
    from baton.runtime.actions import load_actions
    from baton.server.app import create_app
    from baton.server.settings import ServerSettings, SettingInvalid

    try:  # problems are reported here, not as a traceback from the server's startup
        loaded = load_project(project)
        load_actions(loaded)
        load_project_thresholds(loaded, EngineSettings().engine)
    except ProjectInvalid as invalid:
        print_problems(invalid.problems)
        raise typer.Exit(1) from invalid
    try:
        settings = ServerSettings.from_env(loaded)
    except SettingInvalid as invalid:
        fail(str(invalid), 2)
    if host:
        settings.host = host
    if port:
        settings.port = port
    if database:
        settings.database_url = database
    settings.freeze_gc = True
    reported(lambda: asyncio.run(_open_store(loaded, settings.database_url)))
    app = create_app(project, settings=settings)
    console.print(
        f"[green]serving[/] {project} on http://{settings.host}:{settings.port} "
        f"(channels: web, rest{''.join(', ' + c for c in settings.channels)})"
    )
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        ws_max_size=settings.ws_max_bytes,
        limit_concurrency=settings.max_connections,
    )


async def _open_store(project: Project, database: str | None) -> None:
    """Open (and migrate) the store once before serving, so a database that can't be
    reached is one line here, not a traceback from the server's startup."""
    from baton.runtime.engine import database_url
    from baton.storage import SqlEventStore

    store = SqlEventStore(database_url(project, database))
    await store.open()
    await store.close()


def _with_keys(project: Path, database: str | None, job: Callable[..., Awaitable[T]]) -> T:
    from baton.api.db import Keys, sql_engine
    from baton.project import load_project
    from baton.runtime.engine import database_url
    from baton.storage import SqlEventStore

    async def run() -> T:
        store = SqlEventStore(database_url(load_project(project), database))
        await store.open()
        try:
            return await job(Keys(sql_engine(store)))
        finally:
            await store.close()

    return reported(lambda: asyncio.run(run()))


def _account_name(account: str) -> str:
    """An account id as the server's BATON_ACCOUNT would name it: a typo such as 'bad
    account!' made a key for a tenant nothing else uses."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", account):
        raise typer.BadParameter(
            f"{account!r} is not an account id: letters, digits, '.', '_' and '-', "
            "starting with a letter or digit, at most 64"
        )
    return account


@keys_app.command("create")
def create_key(
    project: Path = ProjectDir,
    account: str = typer.Option(
        "default",
        "--account",
        help="the account the key acts for (letters, digits, '.', '_', '-')",
        callback=_account_name,
    ),
    name: str = typer.Option("", "--name", help="a label to recognise the key by"),
    database: str = Database,
) -> None:
    """Create a key; its secret is printed once and stored only as a hash."""

    async def job(keys: object) -> tuple[str, str]:
        from baton.api.db import Keys

        if not isinstance(keys, Keys):
            raise TypeError("the key store was not opened")
        record, secret = await keys.create(account, name)
        return record.key_id, secret

    key_id, secret = _with_keys(project, database, job)
    console.print(f"[green]created[/] {key_id} for account {account}")
    print(secret)


@keys_app.command("list")
def list_keys(
    project: Path = ProjectDir,
    account: str = typer.Option(None, "--account", help="only this account's keys"),
    database: str = Database,
) -> None:
    """List keys (never their secrets)."""

    async def job(keys: object) -> list[str]:
        from baton.api.db import Keys

        if not isinstance(keys, Keys):
            raise TypeError("the key store was not opened")
        return [
            f"{k.key_id}  {k.account_id}  {masked(k.prefix)}  {k.name}  "
            f"{'revoked ' + k.revoked_at.isoformat() if k.revoked_at else 'live'}"
            for k in await keys.list(account)
        ]

    for line in _with_keys(project, database, job):
        console.print(line, markup=False)


@keys_app.command("revoke")
def revoke_key(
    where: list[str] = typer.Argument(
        ..., metavar="[PROJECT] KEY_ID", help="the project folder (default .) and the key's id"
    ),
    database: str = Database,
) -> None:
    """Revoke a key; requests with it get 401 from now on.

    ``baton keys revoke [PROJECT] KEY_ID``, like ``create`` and ``list``; the older
    ``KEY_ID [PROJECT]`` order still works (a key id starts with ``key_``).
    """
    project, key_id = _project_and_key(where)

    async def job(keys: object) -> bool:
        from baton.api.db import Keys

        if not isinstance(keys, Keys):
            raise TypeError("the key store was not opened")
        return await keys.revoke(key_id)

    if not _with_keys(project, database, job):
        errors.print(f"no live key {key_id!r}")
        raise typer.Exit(1)
    console.print(f"[green]revoked[/] {key_id}")


def masked(prefix: str) -> str:
    """A key's stored prefix cut to ``bk_`` and 4 characters: enough to tell keys apart,
    too little to guess the rest."""
    from baton.api.db import KEY_PREFIX

    return prefix[: len(KEY_PREFIX) + 4] + "…"


def _project_and_key(words: list[str]) -> tuple[Path, str]:
    """``[PROJECT] KEY_ID`` or the older ``KEY_ID [PROJECT]``: the word that is a key id
    (``key_…`` and not a folder) is the key; the other is the project folder."""
    if len(words) > 2:
        raise typer.BadParameter("give at most a project folder and a key id", param_hint="ARGS")
    if len(words) == 1:
        project, key_id = Path("."), words[0]
    elif words[0].startswith("key_") and not Path(words[0]).is_dir():
        key_id, project = words[0], Path(words[1])
    else:
        project, key_id = Path(words[0]), words[1]
    if not project.is_dir():
        raise typer.BadParameter(f"{str(project)!r} is not a project folder", param_hint="PROJECT")
    return project, key_id


def register(app: typer.Typer) -> None:
    """Add ``serve`` and ``keys`` to the CLI."""
    app.command(name="serve")(serve)
    app.add_typer(keys_app, name="keys")
