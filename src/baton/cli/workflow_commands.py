"""``baton form``, ``baton tag``, ``baton field``, ``baton book`` and ``baton timers``.

Each opens the project's engine (its store at .baton/baton.db unless
``--database``), runs one turn through the router, so the workflows the change
triggers run, and prints what happened. The contact is named by ``--contact ID``
(an existing contact, whatever its id looks like) or ``--address ADDR`` on
``--channel`` (found, or created when new); a wrong id, form, bot or ``key=value``
is one error line and exit 2.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import NoReturn

import typer
from rich.markup import escape

from baton.cli.output import DATABASE_HELP, console, fail, reported
from baton.domain.ids import DEFAULT_ACCOUNT
from baton.domain.values import Payload
from baton.router.messages import TurnResult
from baton.runtime.commands import BadCommand, pairs, scalar
from baton.runtime.engine import Engine, open_engine
from baton.runtime.transcript import describe

ProjectDir = typer.Argument(
    Path("."), help="project folder (with baton.yml)", exists=True, file_okay=False
)
Database = typer.Option(None, "--database", help=DATABASE_HELP)
Account = typer.Option(DEFAULT_ACCOUNT, "--account", help="account id")
Channel = typer.Option("web", "--channel", help="channel of the contact's address")
ContactId = typer.Option(None, "--contact", help="an existing contact's id")
Address = typer.Option(
    None, "--address", help="the contact's address on --channel (the contact is created if new)"
)


def register(app: typer.Typer) -> None:
    """Add the workflow commands to the ``baton`` app."""
    form = typer.Typer(help="Submit forms for contacts (form_submitted workflows run).")
    form.command("submit")(form_submit)
    app.add_typer(form, name="form")
    app.command("tag")(tag)
    app.command("field")(field)
    app.command("book")(book)
    timers = typer.Typer(help="Durable timers: waits and no-reply watches.")
    timers.command("run")(timers_run)
    app.add_typer(timers, name="timers")


def _run(project: Path, database: str | None, work: Callable[[Engine], Awaitable[None]]) -> None:
    async def main() -> None:
        engine = await open_engine(project, database=database)
        try:
            await work(engine)
        finally:
            await engine.close()

    reported(lambda: asyncio.run(main()))


def _show(result: TurnResult) -> None:
    console.print(f"[dim]contact {result.contact_id}, conversation {result.conversation_id}[/]")
    for event in result.events:
        line = describe(event)
        if line is not None:
            console.print(line, markup=False)


def _refuse(message: str) -> NoReturn:
    """Print one error line and exit 2 (a usage error), as for a bad option."""
    fail(message, 2)


def _pairs(values: list[str] | None) -> Payload:
    """``key=value`` arguments, or a one-line error."""
    try:
        return pairs(values or [])
    except BadCommand as bad:
        _refuse(f"{bad}; write each field as key=value")


async def _contact_id(
    engine: Engine, account: str, contact: str | None, address: str | None, channel: str
) -> str:
    """The contact named by ``--contact ID`` (it must exist) or ``--address ADDR``."""
    from baton.runtime.workflows import contact_for

    if (contact is None) == (address is None):
        _refuse("name the contact with --contact ID or with --address ADDR [--channel C]")
    if contact is None:  # then the address names it
        return (await contact_for(engine, account, address=address, channel=channel)).contact_id
    if await engine.store.get_contact(account, contact) is None:
        _refuse(
            f"no contact {contact!r} in account {account!r}; give an existing contact id, "
            f"or --address ADDR [--channel {channel}] to name a contact by its address"
        )
    return contact


def _check_form(engine: Engine, form: str) -> None:
    """Refuse a form the project does not declare (when it declares any)."""
    declared = engine.project.settings.workflows.forms
    if declared and form not in declared:
        _refuse(
            f"unknown form {form!r}; the project declares: {', '.join(sorted(declared))} "
            "(under workflows: forms: in baton.yml)"
        )


def _check_bot(engine: Engine, bot: str | None) -> None:
    """Refuse a bot the project does not define."""
    if bot is not None and bot not in engine.project.bots:
        _refuse(f"no bot {bot!r}; the project defines: {', '.join(sorted(engine.project.bots))}")


def form_submit(
    project: Path = ProjectDir,
    contact: str | None = ContactId,
    address: str | None = Address,
    form: str = typer.Option(..., "--form", help="form name (declared in baton.yml)"),
    values: list[str] = typer.Argument(None, help="key=value fields"),
    channel: str = Channel,
    account: str = Account,
    database: str = Database,
) -> None:
    """Submit a form for a contact (created if new when named by --address)."""
    from baton.runtime.workflows import submit_form

    fields = _pairs(values)

    async def work(engine: Engine) -> None:
        _check_form(engine, form)
        contact_id = await _contact_id(engine, account, contact, address, channel)
        _show(
            await submit_form(
                engine,
                form,
                fields,
                account_id=account,
                contact_id=contact_id,
                channel=channel,
                by="cli",
            )
        )

    _run(project, database, work)


def tag(
    project: Path = ProjectDir,
    action: str = typer.Argument(..., help="add or remove"),
    name: str = typer.Argument(..., help="the tag"),
    contact: str | None = ContactId,
    address: str | None = Address,
    channel: str = Channel,
    account: str = Account,
    database: str = Database,
) -> None:
    """Add or remove a contact's tag (tag_added / tag_removed workflows run)."""
    from baton.runtime.workflows import change_tag

    if action not in ("add", "remove"):
        raise typer.BadParameter("add or remove", param_hint="ACTION")

    async def work(engine: Engine) -> None:
        contact_id = await _contact_id(engine, account, contact, address, channel)
        _show(
            await change_tag(
                engine,
                contact_id,
                name,
                add=action == "add",
                account_id=account,
                channel=channel,
                by="cli",
            )
        )

    _run(project, database, work)


def field(
    project: Path = ProjectDir,
    name: str = typer.Argument(..., help="the custom field"),
    value: str = typer.Argument(..., help="its new value (numbers and true/false are typed)"),
    contact: str | None = ContactId,
    address: str | None = Address,
    channel: str = Channel,
    account: str = Account,
    database: str = Database,
) -> None:
    """Set a contact's custom field (field_updated workflows run)."""
    from baton.runtime.workflows import update_field

    async def work(engine: Engine) -> None:
        contact_id = await _contact_id(engine, account, contact, address, channel)
        _show(
            await update_field(
                engine,
                contact_id,
                name,
                scalar(value),
                account_id=account,
                channel=channel,
                by="cli",
            )
        )

    _run(project, database, work)


def book(
    project: Path = ProjectDir,
    contact: str | None = ContactId,
    address: str | None = Address,
    bot: str = typer.Option(None, "--bot", help="the bot that booked it"),
    values: list[str] = typer.Argument(None, help="key=value details"),
    channel: str = Channel,
    account: str = Account,
    database: str = Database,
) -> None:
    """Record a booked appointment (appointment_booked workflows run)."""
    from baton.runtime.workflows import book_appointment

    details = _pairs(values)

    async def work(engine: Engine) -> None:
        _check_bot(engine, bot)
        contact_id = await _contact_id(engine, account, contact, address, channel)
        _show(
            await book_appointment(
                engine,
                contact_id,
                details,
                bot_id=bot,
                account_id=account,
                channel=channel,
                by="cli",
            )
        )

    _run(project, database, work)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0]}" if text else type(error).__name__


def timers_run(
    project: Path = ProjectDir,
    loop: bool = typer.Option(False, "--loop", help="keep firing due timers until stopped"),
    interval: float = typer.Option(5.0, "--interval", help="seconds between sweeps with --loop"),
    account: str = Account,
    database: str = Database,
) -> None:
    """Fire the timers that are due (each exactly once, even with several runners)."""
    from baton.runtime.workflows import run_due_timers

    def held() -> None:
        console.print("[dim]another process (a server or runner) is firing timers now[/]")

    async def work(engine: Engine) -> None:
        while True:
            if not loop:
                fired = await run_due_timers(engine, account, held_elsewhere=held)
                for result in fired:
                    _show(result)
                console.print(f"{len(fired)} timer(s) fired")
                return
            try:
                for result in await run_due_timers(engine, account, held_elsewhere=held):
                    _show(result)
            except Exception as error:  # a dropped connection, a restarting database...
                # a runner must outlive them, as the server's own timer loop does
                console.print(
                    f"[yellow]firing timers failed[/] ({escape(_first_line(error))}); "
                    f"trying again in {interval:g} s"
                )
            await asyncio.sleep(interval)

    _run(project, database, work)
