"""Contact changes that trigger workflows: tags, fields, forms and appointments.

Each change runs as a turn through the router (one transaction), exactly like the CLI's
``baton tag|field|form|book``: the change is recorded as an event on the contact's
conversation (created on its latest channel when there is none), the workflows it
triggers run in the same turn, and their replies go out through the channel's delivery.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Path

from baton.api import db
from baton.api import models as o
from baton.api.context import ApiContext
from baton.api.errors import ApiError, not_found
from baton.api.views import Ctx, Key
from baton.domain.errors import UnknownBot
from baton.domain.records import Contact
from baton.router import messages as m

router = APIRouter(tags=["contacts"])

FormName = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")]


def contact_out(contact: Contact) -> o.ContactOut:
    return o.ContactOut(
        contact_id=contact.contact_id,
        identities=dict(contact.identities),
        tags=list(contact.tags),
        fields=dict(contact.fields),
        language=contact.language,
    )


def replies_out(result: m.TurnResult) -> list[o.ReplyOut]:
    """What a turn sent (or stored as suggestions), as the API shows it."""
    return [
        o.ReplyOut(text=r.text, bot_id=r.bot_id, sender=r.sender, suggestion_id=r.suggestion_id)
        for r in result.replies
    ]


async def find_contact(ctx: ApiContext, key: db.ApiKey, contact_id: str) -> Contact:
    contact = await ctx.engine.store.get_contact(key.account_id, contact_id)
    if contact is None:
        raise not_found("contact", contact_id)
    return contact


async def _channel(ctx: ApiContext, contact: Contact) -> str:
    """Where the contact last talked; else its first known channel; else web chat."""
    latest = await ctx.engine.store.latest_conversation(contact.account_id, contact.contact_id)
    if latest is not None:
        return latest.channel
    return next(iter(sorted(contact.identities)), "web")


async def _run(ctx: ApiContext, contact: Contact, commands: list[m.Command]) -> list[m.TurnResult]:
    """Each command as its own turn, in order; replies handed to the channel's delivery."""
    channel = await _channel(ctx, contact)
    results = []
    for command in commands:
        try:
            result = await ctx.engine.router.command(
                contact.account_id, contact.contact_id, command, channel
            )
        except UnknownBot as exc:
            raise ApiError(404, "bot_not_found", str(exc)) from exc
        await ctx.after_turn(result, channel)
        results.append(result)
    return results


async def apply_patch(
    ctx: ApiContext, key: db.ApiKey, contact_id: str, body: o.ContactPatch
) -> Contact:
    """Tags and fields changed through commands (so workflows run), then the language."""
    async with ctx.contact_lock(key.account_id, contact_id):
        contact = await find_contact(ctx, key, contact_id)
        by = f"api:{key.name}"
        commands: list[m.Command] = [m.AddTag(t, by) for t in dict.fromkeys(body.add_tags)]
        commands += [m.RemoveTag(t, by) for t in dict.fromkeys(body.remove_tags)]
        commands += [m.SetField(name, value, by) for name, value in body.fields.items()]
        await _run(ctx, contact, commands)
        if "language" in body.model_fields_set:  # under the router's lock: no turn saves over it
            await ctx.engine.router.update_contact(
                key.account_id, contact_id, lambda found: replace(found, language=body.language)
            )
        return await find_contact(ctx, key, contact_id)


async def _changed(
    ctx: ApiContext, key: db.ApiKey, contact_id: str, command: m.Command
) -> o.ChangeResult:
    async with ctx.contact_lock(key.account_id, contact_id):
        contact = await find_contact(ctx, key, contact_id)
        (result,) = await _run(ctx, contact, [command])
        after = await find_contact(ctx, key, contact_id)
    return o.ChangeResult(
        contact=contact_out(after),
        conversation_id=result.conversation_id,
        events=[e.type for e in result.events],
        replies=replies_out(result),
    )


@router.post("/contacts/{contact_id}/forms/{form}", response_model=o.ChangeResult)
async def submit_form(
    contact_id: str, form: FormName, body: o.FormIn, key: Key, ctx: Ctx
) -> o.ChangeResult:
    """Submit a form for the contact: its fields are stored, `form_submitted` workflows run.

    When baton.yml declares forms (`workflows: forms:`), another name is 404 `form_not_found`.
    """
    declared = ctx.engine.project.settings.workflows.forms
    if declared and form not in declared:
        known = ", ".join(sorted(declared))
        raise ApiError(
            404, "form_not_found", f"no form {form!r} in this project; it declares {known}"
        )
    return await _changed(
        ctx, key, contact_id, m.SubmitForm(form, dict(body.fields), f"api:{key.name}")
    )


@router.post("/contacts/{contact_id}/appointments", response_model=o.ChangeResult)
async def book_appointment(
    contact_id: str, body: o.AppointmentIn, key: Key, ctx: Ctx
) -> o.ChangeResult:
    """Record an appointment booked for the contact: `appointment_booked` workflows run."""
    if body.bot_id is not None and body.bot_id not in ctx.engine.project.bots:
        raise not_found("bot", body.bot_id)
    command = m.BookAppointment(body.bot_id, dict(body.details), f"api:{key.name}")
    return await _changed(ctx, key, contact_id, command)
