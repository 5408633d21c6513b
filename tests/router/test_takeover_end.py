"""How a human's ownership ends: handed back to another bot, or a bot assigned."""

from __future__ import annotations

from baton.domain.ids import DEFAULT_ACCOUNT
from baton.router import messages as m
from baton.router.messages import Inbound
from tests.conftest import EngineOpener, ProjectWriter
from tests.router.test_router import PROJECT


async def test_handing_back_to_another_bot_lifts_the_takeover_pause(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    engine = await open_project(write_project(PROJECT))
    router = engine.router
    first = await router.handle(Inbound("web", "tk", "hi"))
    who = first.contact_id
    await router.command(DEFAULT_ACCOUNT, who, m.HumanMessage("Sam here."))  # takes over
    await router.command(DEFAULT_ACCOUNT, who, m.HandBack("rooms"))
    state = await engine.store.load_state(DEFAULT_ACCOUNT, first.conversation_id)
    # front was paused by the human's message; it was never unpaused before
    assert state.statuses["front"].status == "active"
    assert state.owner == "rooms" and state.human is None and not state.escalated


async def test_assigning_a_bot_ends_the_humans_ownership(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    engine = await open_project(write_project(PROJECT))
    router = engine.router
    first = await router.handle(Inbound("web", "tk2", "hi"))
    who = first.contact_id
    await router.command(DEFAULT_ACCOUNT, who, m.EscalateToHuman("help"))
    await router.command(DEFAULT_ACCOUNT, who, m.HumanMessage("Sam here."))
    assigned = await router.command(DEFAULT_ACCOUNT, who, m.Assign("rooms"))
    assert [r.text for r in assigned.replies][-1] == "How many nights ()?"
    # the answer to the bot's question reaches the bot instead of waiting for a human
    answered = await router.handle(Inbound("web", "tk2", "2"))
    assert next(r.text for r in answered.replies) == "Booked 2 nights."


async def test_hand_back_refuses_a_bot_that_does_not_serve_the_channel(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    files = dict(PROJECT)
    files["bots/rooms/bot.yml"] = files["bots/rooms/bot.yml"].replace(
        "name: Rooms", "name: Rooms\n        channels: [web]"
    )
    engine = await open_project(write_project(files))
    first = await engine.router.handle(Inbound("sms", "+15550001", "hi"))
    who = first.contact_id
    await engine.router.command(DEFAULT_ACCOUNT, who, m.EscalateToHuman("help"), "sms")
    try:
        await engine.router.command(DEFAULT_ACCOUNT, who, m.HandBack("rooms"), "sms")
    except m.CommandRefused as refused:
        assert "doesn't serve channel 'sms'" in str(refused)
    else:
        raise AssertionError("rooms took an SMS conversation it does not serve")
