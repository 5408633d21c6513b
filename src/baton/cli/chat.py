"""``baton chat``: talk to a project as one contact, seeing every handover and why."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import typer
from rich.markup import escape

from baton.cli.output import DATABASE_HELP, console, errors, fail, reported
from baton.domain.errors import BatonError
from baton.domain.ids import DEFAULT_ACCOUNT
from baton.router.messages import EndConversation, Inbound, TurnResult
from baton.runtime.commands import HELP, BadCommand, Query, RunTimers, Wait, parse_command
from baton.runtime.engine import Engine, open_engine
from baton.runtime.transcript import describe, render
from baton.spec.settings import CHANNELS


def chat(
    project: Path = typer.Argument(Path("."), exists=True, file_okay=False),
    contact: str = typer.Option("you", "--as", help="the contact's address on the channel"),
    channel: str = typer.Option("web", "--channel", help="channel the messages arrive on"),
    database: str = typer.Option(None, "--database", help=DATABASE_HELP),
) -> None:
    """Chat with the project in the terminal. Type /help for operator commands."""
    if channel not in CHANNELS:
        known = ", ".join(CHANNELS)
        fail(f"unknown channel {channel!r}; channels: {known}", 2)
    reported(lambda: asyncio.run(_session(project, contact, channel, database)))


async def _session(project: Path, address: str, channel: str, database: str | None) -> None:
    engine = await open_engine(project, database=database)
    console.print(
        f"[bold]{engine.project.name}[/]: {', '.join(engine.project.bots)}. "
        "Type a message, /help for commands, Ctrl-D to leave."
    )
    await _resume_banner(engine, address, channel)
    try:
        while True:
            try:
                line = await asyncio.to_thread(input, "you> ")
            except (EOFError, KeyboardInterrupt):
                console.print()
                return
            try:
                await _one(engine, address, channel, line)
            except BatonError as error:
                errors.print(f"[red]{escape(str(error))}[/]")
    finally:
        await engine.close()


async def _resume_banner(engine: Engine, address: str, channel: str) -> None:
    """Say so when this address already has an open conversation: the next message
    continues it (owner, open flows and context), which surprises when unannounced."""
    contact_id = await engine.store.identity_owner(DEFAULT_ACCOUNT, channel, address)
    if contact_id is None:
        return
    record = await engine.store.latest_conversation(DEFAULT_ACCOUNT, contact_id)
    if record is None or record.ended:
        return
    idle = timedelta(minutes=engine.project.settings.settings.idle_timeout_minutes)
    if engine.clock.now() - record.last_activity_at > idle:
        return  # idle: the next message ends it and starts a new one, as after /new
    state = await engine.store.load_state(DEFAULT_ACCOUNT, record.conversation_id)
    primary = engine.project.primary_for(record.channel)
    speaking = state.owner or (primary.bot_id if primary else None)
    owner = f" with {speaking}" if speaking else ""
    when = record.last_activity_at.astimezone().strftime("%Y-%m-%d %H:%M")
    console.print(
        f"[dim]— open conversation{escape(owner)} for {escape(address)} (last message "
        f"{when}): your next message continues it; /history shows it, "
        "/new starts over[/]"
    )


async def _one(engine: Engine, address: str, channel: str, line: str) -> None:
    if not line.startswith("/"):
        _show(await engine.router.handle(Inbound(channel, address, line)))
        return
    try:
        parsed = parse_command(line)
    except BadCommand as bad:
        errors.print(escape(str(bad)))
        return
    contact = await engine.store.contact_for_identity(DEFAULT_ACCOUNT, channel, address)
    if isinstance(parsed, Wait):
        errors.print("/wait only works in stories (they run on a test clock)")
    elif isinstance(parsed, Query):
        await _query(engine, contact.contact_id, parsed.name)
    elif isinstance(parsed, RunTimers):
        from baton.runtime.workflows import run_due_timers

        for fired in await run_due_timers(engine):
            _show(fired)
    else:
        _show(await engine.router.command(DEFAULT_ACCOUNT, contact.contact_id, parsed, channel))


async def _query(engine: Engine, contact_id: str, name: str) -> None:
    if name == "help":
        console.print(HELP, markup=False)
        return
    if name == "new":
        await engine.router.command(
            DEFAULT_ACCOUNT, contact_id, EndConversation("new_conversation")
        )
        console.print("[dim]— new conversation on your next message[/]")
        return
    record = await engine.store.latest_conversation(DEFAULT_ACCOUNT, contact_id)
    if record is None:
        console.print("[dim](no conversation yet)[/]")
        return
    if name == "context":
        state = await engine.store.load_state(DEFAULT_ACCOUNT, record.conversation_id)
        console.print_json(
            data={
                "owner": state.owner,
                "statuses": {b: s.status for b, s in state.statuses.items()},
                "modes": state.modes,
                "escalated": state.escalated,
                "context": state.context,
                "contact_context": state.contact_context,
                "slots": state.slots,
                "flows": {b: f.flow for b, f in state.flows.items()},
            }
        )
        return
    events = await engine.store.read_events(DEFAULT_ACCOUNT, record.conversation_id)
    for text in render([r.event for r in events]):
        console.print(text, markup=False)


def _show(result: TurnResult) -> None:
    if result.rejected:
        errors.print(f"[yellow]message not accepted ({result.rejected})[/]")
    for event in result.events:
        line = describe(event)
        if line is None or line.startswith("user:"):
            continue
        console.print(line, markup=False, style="bold" if line.startswith("  [") else "dim")
