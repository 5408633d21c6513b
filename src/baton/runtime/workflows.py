"""Workflow entry points for the API, the CLI and stories.

Each takes an :class:`~baton.runtime.engine.Engine` and runs one turn through
the router (one transaction), so the workflows the change triggers run in it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from baton.domain.ids import DEFAULT_ACCOUNT
from baton.domain.records import Contact
from baton.domain.values import Payload, Value
from baton.router import messages as m
from baton.runtime.engine import Engine
from baton.storage import SqlEventStore
from baton.storage.cycles import exclusive_cycle

PAGE = 200


async def contact_for(
    engine: Engine,
    account_id: str,
    *,
    contact_id: str | None = None,
    address: str | None = None,
    channel: str = "web",
) -> Contact:
    """A contact by id, or by channel address (created when new)."""
    if contact_id is not None:
        found = await engine.store.get_contact(account_id, contact_id)
        if found is None:
            found = Contact(account_id, contact_id)
            await engine.store.save_contact(found)
        return found
    if address is None:
        raise ValueError("name the contact by id or by address")
    return await engine.store.contact_for_identity(account_id, channel, address)


async def submit_form(
    engine: Engine,
    form: str,
    fields: Payload,
    *,
    account_id: str = DEFAULT_ACCOUNT,
    contact_id: str | None = None,
    address: str | None = None,
    channel: str = "web",
    by: str = "api",
) -> m.TurnResult:
    """Submit a form for a contact (created or updated): fields stored, workflows run."""
    contact = await contact_for(
        engine, account_id, contact_id=contact_id, address=address, channel=channel
    )
    command = m.SubmitForm(form, dict(fields), by)
    return await engine.router.command(account_id, contact.contact_id, command, channel)


async def change_tag(
    engine: Engine,
    contact_id: str,
    tag: str,
    *,
    add: bool = True,
    account_id: str = DEFAULT_ACCOUNT,
    channel: str = "web",
    by: str = "api",
) -> m.TurnResult:
    """Add (or remove) a contact's tag."""
    command: m.Command = m.AddTag(tag, by) if add else m.RemoveTag(tag, by)
    return await engine.router.command(account_id, contact_id, command, channel)


async def update_field(
    engine: Engine,
    contact_id: str,
    name: str,
    value: Value,
    *,
    account_id: str = DEFAULT_ACCOUNT,
    channel: str = "web",
    by: str = "api",
) -> m.TurnResult:
    """Set a contact's custom field."""
    command = m.SetField(name, value, by)
    return await engine.router.command(account_id, contact_id, command, channel)


async def book_appointment(
    engine: Engine,
    contact_id: str,
    details: Payload,
    *,
    bot_id: str | None = None,
    account_id: str = DEFAULT_ACCOUNT,
    channel: str = "web",
    by: str = "api",
) -> m.TurnResult:
    """Record an appointment booked for a contact (triggers ``appointment_booked``)."""
    command = m.BookAppointment(bot_id, dict(details), by)
    return await engine.router.command(account_id, contact_id, command, channel)


@dataclass(frozen=True, slots=True)
class DueTimer:
    """A pending timer whose time has come."""

    account_id: str
    conversation_id: str
    timer_id: str
    due_at: str


async def due_timers(engine: Engine, account_id: str = DEFAULT_ACCOUNT) -> list[DueTimer]:
    """Timers due now in the account's open conversations, earliest first.

    Timers live in each conversation's log (and so in its snapshot): this walks
    the open conversations, page by page.
    """
    now = engine.clock.now()
    found: list[DueTimer] = []
    offset = 0
    while True:
        page = await engine.store.list_conversations(account_id, limit=PAGE, offset=offset)
        for record in page:
            if record.ended:
                continue
            state = await engine.store.load_state(account_id, record.conversation_id)
            for timer_id, timer in state.timers.items():
                if _due(timer.due_at, now):
                    found.append(
                        DueTimer(account_id, record.conversation_id, timer_id, timer.due_at)
                    )
        if len(page) < PAGE:
            break
        offset += PAGE
    return sorted(found, key=lambda t: t.due_at)


async def run_due_timers(
    engine: Engine,
    account_id: str = DEFAULT_ACCOUNT,
    *,
    held_elsewhere: Callable[[], None] | None = None,
) -> list[m.TurnResult]:
    """Fire every due timer once, holding the database's ``timers`` lock as ``baton
    serve`` does (``baton.storage.cycles``): a second runner, or a server, finds it held
    and fires nothing (two runners both ran a timer's webhook, though one append lost);
    then ``held_elsewhere`` is called, so a command can say why nothing fired."""
    store = engine.store
    if not isinstance(store, SqlEventStore):  # a store of its own: nobody to race
        return await _fire_due(engine, account_id)
    async with exclusive_cycle(store.engine, "timers") as mine:
        if mine:
            return await _fire_due(engine, account_id)
    if held_elsewhere is not None:
        held_elsewhere()
    return []


async def _fire_due(engine: Engine, account_id: str) -> list[m.TurnResult]:
    results: list[m.TurnResult] = []
    for timer in await due_timers(engine, account_id):
        result = await engine.router.fire_timer(account_id, timer.conversation_id, timer.timer_id)
        if result is not None:
            results.append(result)
    return results


async def run_timers_forever(
    engine: Engine, interval_seconds: float = 5.0, account_ids: tuple[str, ...] = (DEFAULT_ACCOUNT,)
) -> None:
    """Fire due timers every ``interval_seconds`` until cancelled (for ``baton serve``)."""
    while True:
        for account_id in account_ids:
            await run_due_timers(engine, account_id)
        await asyncio.sleep(interval_seconds)


def _due(due_at: str, now: datetime) -> bool:
    try:
        return datetime.fromisoformat(due_at) <= now
    except ValueError:
        return True
