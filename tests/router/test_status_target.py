"""A status command without a bot is for the bot the contact hears now."""

from __future__ import annotations

from baton.domain import events as ev
from baton.domain.ids import DEFAULT_ACCOUNT
from baton.router import messages as m
from baton.router.messages import Inbound
from baton.testing import TestClock
from tests.conftest import EngineOpener, ProjectWriter
from tests.router.test_abandoned_call import PROJECT


async def test_pausing_the_bot_pauses_the_primary_answering_for_a_stopped_assigned_bot(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    engine = await open_project(write_project(PROJECT))
    moved = await engine.router.handle(Inbound("web", "st", "I want a refund"))
    assert [r.bot_id for r in moved.replies] == ["billing"]
    contact = await engine.store.contact_for_identity(DEFAULT_ACCOUNT, "web", "st")

    async def command(command: m.Command) -> list[tuple[str, str]]:
        done = await engine.router.command(DEFAULT_ACCOUNT, contact.contact_id, command)
        return [(e.bot_id, e.status) for e in done.events if isinstance(e, ev.BotStatusChanged)]

    assert await command(m.SetStatus("stopped", "billing")) == [("billing", "stopped")]
    hello = await engine.router.handle(Inbound("web", "st", "anyone there?"))
    assert [r.bot_id for r in hello.replies] == ["front"]
    assert await command(m.SetStatus("paused")) == [("front", "paused")]
    held = await engine.router.handle(Inbound("web", "st", "hello?"))
    assert held.replies == [] and any(isinstance(e, ev.MessageHeld) for e in held.events)
    state = await engine.store.load_state(DEFAULT_ACCOUNT, held.conversation_id)
    assert state.status_of("billing").status == "stopped"  # still stopped, not paused
    assert await command(m.SetStatus("active")) == [("billing", "active")]


async def test_a_takeover_pauses_the_bot_heard_keeps_a_stop_and_the_hand_back_lifts_it(
    write_project: ProjectWriter, open_project: EngineOpener, clock: TestClock
) -> None:
    engine = await open_project(write_project(PROJECT))
    moved = await engine.router.handle(Inbound("web", "tk", "I want a refund"))
    contact = moved.contact_id

    async def statuses() -> dict[str, tuple[str, str]]:
        state = await engine.store.load_state(DEFAULT_ACCOUNT, moved.conversation_id)
        return {bot: (e.status, e.by) for bot, e in state.statuses.items()}

    await engine.router.command(DEFAULT_ACCOUNT, contact, m.SetStatus("stopped", "billing"))
    for text in ("Ana here.", "Still here."):  # the second message re-paused billing
        await engine.router.command(DEFAULT_ACCOUNT, contact, m.HumanMessage(text, "ana"))
    assert await statuses() == {
        "billing": ("stopped", "operator"),
        "front": ("paused", "human_takeover"),
    }
    back = await engine.router.command(DEFAULT_ACCOUNT, contact, m.HandBack("tech"))
    lifted = [(e.bot_id, e.status) for e in back.events if isinstance(e, ev.BotStatusChanged)]
    assert lifted == [("front", "active")]  # the primary stayed paused after the hand-back
    clock.advance(40)  # a new conversation: billing's stop is the contact's and carries on
    later = await engine.router.handle(Inbound("web", "tk", "hello"))
    state = await engine.store.load_state(DEFAULT_ACCOUNT, later.conversation_id)
    assert state.status_of("billing").status == "stopped"


async def test_a_bots_mode_for_the_contact_lasts_into_the_next_conversation(
    write_project: ProjectWriter, open_project: EngineOpener, clock: TestClock
) -> None:
    """Suggestive mode, like a stopped status, is the contact's: a new conversation after
    the idle timeout used to send the bot's replies unreviewed."""
    engine = await open_project(write_project(PROJECT))
    await engine.router.handle(Inbound("web", "md", "what is my balance"))
    contact = await engine.store.contact_for_identity(DEFAULT_ACCOUNT, "web", "md")
    await engine.router.command(DEFAULT_ACCOUNT, contact.contact_id, m.SetMode("suggest", "front"))
    clock.advance(40)
    later = await engine.router.handle(Inbound("web", "md", "xyzzy plugh"))
    assert any(isinstance(e, ev.ConversationStarted) for e in later.events)
    [held] = later.replies
    assert held.bot_id == "front" and held.suggestion_id is not None


async def test_an_auto_mode_recorded_by_an_assignment_is_not_carried(
    write_project: ProjectWriter, open_project: EngineOpener, clock: TestClock
) -> None:
    """An assignment records the bot's default mode of that day; carried, it kept a bot
    later put under review (`mode: suggest` in bot.yml) sending unreviewed replies."""
    engine = await open_project(write_project(PROJECT))
    await engine.router.handle(Inbound("web", "au", "what is my balance"))
    contact = await engine.store.contact_for_identity(DEFAULT_ACCOUNT, "web", "au")
    assigned = await engine.router.command(DEFAULT_ACCOUNT, contact.contact_id, m.Assign("front"))
    state = await engine.store.load_state(DEFAULT_ACCOUNT, assigned.conversation_id)
    assert state.modes.get("front") == "auto"
    clock.advance(40)
    later = await engine.router.handle(Inbound("web", "au", "xyzzy plugh"))
    [started] = [e for e in later.events if isinstance(e, ev.ConversationStarted)]
    assert started.modes == {}


async def test_a_state_read_for_a_sweep_is_not_kept_in_the_cache(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    """The timer rescan reads every conversation with a pending timer: kept, thousands
    of quiet ones pushed the live ones out of the cache."""
    engine = await open_project(write_project(PROJECT))
    said = await engine.router.handle(Inbound("web", "sw", "what is my balance"))
    cache = engine.store._cache  # type: ignore[attr-defined]
    cache.clear()
    await engine.store.load_state(DEFAULT_ACCOUNT, said.conversation_id, keep=False)
    assert len(cache) == 0
    await engine.store.load_state(DEFAULT_ACCOUNT, said.conversation_id)
    assert len(cache) == 1
