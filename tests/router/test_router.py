"""The router end to end: a real project folder, NLU, flow bots and a SQLite file."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from baton.domain import events as ev
from baton.domain.ids import DEFAULT_ACCOUNT
from baton.router import messages as m
from baton.router.messages import Inbound
from baton.testing import TestClock
from tests.conftest import EngineOpener, ProjectWriter

PROJECT = {
    "baton.yml": """
        name: two bots
        channels: [web, sms]
        settings:
          hop_budget: 3
          idle_timeout_minutes: 30
          max_message_chars: 50
    """,
    "bots/front/bot.yml": """
        name: Front desk
        primary: true
        group: desk
        fallback: "Front can't help with that."
        context:
          writes: [topic]
    """,
    "bots/front/intents.yml": """
        intents:
          greet:
            examples: [hi, hello, hey there, good morning, hello there, hi friend]
          book:
            examples: [book a room, I want to book a room, reserve a room, room booking please,
                       can I book a room, make a reservation]
    """,
    "bots/front/flows.yml": """
        flows:
          greet:
            steps:
              - say: "Hello from the front desk."
          book:
            steps:
              - set: {context: topic, value: booking}
              - transfer: rooms
    """,
    "bots/rooms/bot.yml": """
        name: Rooms
        group: desk
        handoff_message: "Rooms here."
        start_flow: reserve
        fallback: "Rooms can't help with that."
        context:
          reads: [front.topic]
        slots:
          nights: {type: number, min: 1, max: 30}
    """,
    "bots/rooms/intents.yml": """
        intents:
          reserve:
            examples: [how many nights, reserve nights, nights stay, stay for nights,
                       extend my stay, how long can I stay]
          late_checkout:
            examples: [late checkout, can I check out late, checkout at noon, late check out please,
                       leave the room later, extend checkout time]
    """,
    "bots/rooms/flows.yml": """
        flows:
          reserve:
            steps:
              - ask: {slot: nights, prompt: "How many nights ({{ context.front.topic }})?",
                      max_retries: 1}
              - say: "Booked {{ slots.nights }} nights."
              - transfer: front
          late_checkout:
            steps:
              - say: "Late checkout is fine."
    """,
}


async def test_a_transfer_carries_context_and_the_new_bot_asks(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    engine = await open_project(write_project(PROJECT))
    first = await engine.router.handle(Inbound("web", "ana", "I want to book a room"))
    texts = [r.text for r in first.replies]
    assert texts == ["Rooms here.", "How many nights (booking)?"]
    transferred = [e for e in first.events if isinstance(e, ev.BotTransferred)]
    assert transferred[0].from_bot == "front" and transferred[0].to_bot == "rooms"
    assert transferred[0].reason == "bot_step"

    wrong = await engine.router.handle(Inbound("web", "ana", "lots"))
    assert any(isinstance(e, ev.AnswerRejected) for e in wrong.events)

    done = await engine.router.handle(Inbound("web", "ana", "3"))
    assert next(r.text for r in done.replies) == "Booked 3 nights."
    # rooms' flow hands back to front two turns after front → rooms: the flow's own
    # route, not a bounce (refused as ping-pong until 2026-11-25: "Rooms can't help")
    assert not any(isinstance(e, ev.TransferRefused) for e in done.events)
    [back] = [e for e in done.events if isinstance(e, ev.BotTransferred)]
    assert (back.from_bot, back.to_bot, back.reason) == ("rooms", "front", "bot_step")
    assert "Rooms can't help with that." not in [r.text for r in done.replies]


async def test_collaboration_hands_over_message_and_intent(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    engine = await open_project(write_project(PROJECT))
    result = await engine.router.handle(Inbound("web", "bo", "can I check out late"))
    transfer = next(e for e in result.events if isinstance(e, ev.BotTransferred))
    assert transfer.reason == "collaboration"
    assert transfer.intent == "rooms.late_checkout"
    assert transfer.message == "can I check out late"
    # the runner-up is another intent (front's own are left out: it could not match)
    assert transfer.runner_up == "rooms.reserve" and transfer.runner_up_confidence is not None
    assert transfer.handoff_message == "Rooms here."
    assert [r.text for r in result.replies] == ["Rooms here.", "Late checkout is fine."]
    # nobody's: the fallback says what came closest and why it was not taken
    result = await engine.router.handle(Inbound("web", "cy", "what is the weather on mars"))
    fallback = next(e for e in result.events if isinstance(e, ev.FallbackTriggered))
    assert fallback.reason.startswith("no bot in the collaboration group matched (best: rooms.")
    assert fallback.reason.endswith("below the group's gate)")


async def test_paused_owner_holds_messages_and_suggest_mode_stores_suggestions(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    engine = await open_project(write_project(PROJECT))
    hello = await engine.router.handle(Inbound("web", "cy", "hello"))
    contact = hello.contact_id
    await engine.router.command(DEFAULT_ACCOUNT, contact, m.SetStatus("paused"))
    held = await engine.router.handle(Inbound("web", "cy", "hello"))
    assert held.replies == [] and any(isinstance(e, ev.MessageHeld) for e in held.events)

    await engine.router.command(DEFAULT_ACCOUNT, contact, m.SetStatus("active"))
    await engine.router.command(DEFAULT_ACCOUNT, contact, m.SetMode("suggest"))
    suggested = await engine.router.handle(Inbound("web", "cy", "hello"))
    assert suggested.sent == [] and suggested.replies[0].suggestion_id
    approved = await engine.router.command(
        DEFAULT_ACCOUNT,
        contact,
        m.ResolveSuggestion(suggested.replies[0].suggestion_id or "", "approved"),
    )
    assert [r.text for r in approved.sent] == ["Hello from the front desk."]


async def test_escalation_silences_bots_until_handed_back(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    engine = await open_project(write_project(PROJECT))
    contact = (await engine.router.handle(Inbound("web", "di", "hi"))).contact_id
    await engine.router.command(DEFAULT_ACCOUNT, contact, m.EscalateToHuman("angry"))
    assert (await engine.router.handle(Inbound("web", "di", "hello?"))).replies == []
    await engine.router.command(DEFAULT_ACCOUNT, contact, m.HandBack())
    assert (await engine.router.handle(Inbound("web", "di", "hello"))).replies


async def test_bad_messages_are_recorded_with_a_reason(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    engine = await open_project(write_project(PROJECT))
    for text, reason in [
        ("", "empty"),
        ("   ", "blank"),
        ("\u200b\x00 \ufeff", "blank"),
        ("x" * 51, "too_long"),
    ]:
        result = await engine.router.handle(Inbound("web", "ed", text))
        assert result.rejected == reason
        assert any(isinstance(e, ev.MessageRejected) for e in result.events)
    assert (await engine.router.handle(Inbound("web", "ed", "hello"))).replies
    # bytes that were not UTF-8 (decoded with surrogateescape) are stored as U+FFFD
    garbled = await engine.router.handle(Inbound("web", "ed", "hello \udcff\udcfe"))
    assert garbled.replies and garbled.rejected is None
    [received] = [e for e in garbled.events if isinstance(e, ev.MessageReceived)]
    assert received.text == "hello \ufffd\ufffd"


async def test_idle_conversation_ends_and_the_next_message_starts_with_the_primary(
    write_project: ProjectWriter, open_project: EngineOpener, clock: TestClock
) -> None:
    engine = await open_project(write_project(PROJECT))
    first = await engine.router.handle(Inbound("web", "fa", "I want to book a room"))
    clock.advance(31)
    second = await engine.router.handle(Inbound("web", "fa", "hello"))
    assert second.conversation_id != first.conversation_id
    assert second.replies[-1].bot_id == "front"
    old = await engine.store.read_events(DEFAULT_ACCOUNT, first.conversation_id)
    assert isinstance(old[-1].event, ev.ConversationEnded)
    assert old[-1].event.reason == "idle"


async def test_concurrent_messages_to_one_conversation_run_in_arrival_order(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    engine = await open_project(write_project(PROJECT))
    await engine.router.handle(Inbound("web", "gu", "hi"))
    texts = [f"hello {i}" for i in range(20)]
    await asyncio.gather(*(engine.router.handle(Inbound("web", "gu", t)) for t in texts))
    record = await engine.store.latest_conversation(
        DEFAULT_ACCOUNT,
        (await engine.store.contact_for_identity(DEFAULT_ACCOUNT, "web", "gu")).contact_id,
    )
    assert record is not None
    events = await engine.store.read_events(DEFAULT_ACCOUNT, record.conversation_id)
    received = [e.event.text for e in events if isinstance(e.event, ev.MessageReceived)]
    assert received[1:] == texts


async def test_concurrent_changes_of_one_contact_all_stay(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    engine = await open_project(write_project(PROJECT))
    contact = await engine.store.contact_for_identity(DEFAULT_ACCOUNT, "web", "gu")
    tags = [f"t{i}" for i in range(20)]
    changes = [
        engine.router.command(DEFAULT_ACCOUNT, contact.contact_id, m.AddTag(t)) for t in tags
    ]
    changes += [engine.router.handle(Inbound("web", "gu", f"hello {i}")) for i in range(5)]
    changes.append(engine.router.command(DEFAULT_ACCOUNT, contact.contact_id, m.SetField("x", 1)))
    await asyncio.gather(*changes)
    after = await engine.store.get_contact(DEFAULT_ACCOUNT, contact.contact_id)
    assert after is not None
    assert sorted(after.tags) == sorted(tags) and after.fields == {"x": 1}


async def test_a_contact_changed_outside_a_turn_keeps_what_concurrent_turns_saved(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    from dataclasses import replace

    engine = await open_project(write_project(PROJECT))
    contact = await engine.store.contact_for_identity(DEFAULT_ACCOUNT, "web", "gu")
    router = engine.router
    await asyncio.gather(
        router.handle(Inbound("web", "gu", "hello")),
        router.update_contact(
            DEFAULT_ACCOUNT, contact.contact_id, lambda c: replace(c, language="fr")
        ),
        router.command(DEFAULT_ACCOUNT, contact.contact_id, m.AddTag("vip")),
        router.handle(Inbound("web", "gu", "hello again")),
    )
    after = await engine.store.get_contact(DEFAULT_ACCOUNT, contact.contact_id)
    assert after is not None and after.tags == ("vip",) and after.language == "fr"
    assert await router.update_contact(DEFAULT_ACCOUNT, "nobody", lambda c: c) is None


async def test_a_command_for_a_conversation_that_ended_meanwhile_does_nothing(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    engine = await open_project(write_project(PROJECT))
    first = await engine.router.handle(Inbound("web", "gu", "hi"))
    contact_id, meant = first.contact_id, first.conversation_id
    await engine.router.command(DEFAULT_ACCOUNT, contact_id, m.EndConversation("done"))
    with pytest.raises(m.ConversationGone, match="has ended"):
        await engine.router.command(
            DEFAULT_ACCOUNT, contact_id, m.EscalateToHuman("help"), conversation_id=meant
        )
    latest = await engine.store.latest_conversation(DEFAULT_ACCOUNT, contact_id)
    assert latest is not None and latest.conversation_id == meant  # no new one was opened
    newer = await engine.router.handle(Inbound("web", "gu", "hi again"))
    with pytest.raises(m.ConversationGone, match="replaced by a newer one"):
        await engine.router.command(
            DEFAULT_ACCOUNT, contact_id, m.EscalateToHuman("help"), conversation_id=meant
        )
    done = await engine.router.command(
        DEFAULT_ACCOUNT,
        contact_id,
        m.EscalateToHuman("help"),
        conversation_id=newer.conversation_id,
    )
    assert done.conversation_id == newer.conversation_id


async def test_a_conversation_whose_first_turn_crashed_starts_with_the_next_one(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    engine = await open_project(write_project(PROJECT))
    contact = await engine.store.contact_for_identity(DEFAULT_ACCOUNT, "web", "gu")
    empty = await engine.store.create_conversation(
        DEFAULT_ACCOUNT, contact.contact_id, "web", engine.clock.now()
    )  # as a turn does before its first append, which never came
    result = await engine.router.handle(Inbound("web", "gu", "hi"))
    assert result.conversation_id == empty.conversation_id
    assert isinstance(result.events[0], ev.ConversationStarted)


async def test_an_empty_conversation_left_by_a_crash_does_not_lose_what_lasts(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    engine = await open_project(write_project(PROJECT))
    first = await engine.router.handle(Inbound("web", "gu", "hi"))
    contact_id = first.contact_id
    await engine.router.command(DEFAULT_ACCOUNT, contact_id, m.SetStatus("stopped", "front"))
    await engine.router.command(DEFAULT_ACCOUNT, contact_id, m.EndConversation("done"))
    await engine.store.create_conversation(
        DEFAULT_ACCOUNT, contact_id, "web", engine.clock.now()
    )  # a first turn that crashed before its append
    await engine.store.close()
    await engine.store.open()  # a restart: nothing cached
    latest = await engine.store.latest_conversation(DEFAULT_ACCOUNT, contact_id)
    assert latest is not None and latest.conversation_id == first.conversation_id
    result = await engine.router.handle(Inbound("web", "gu", "hello"))
    started = result.events[0]
    assert isinstance(started, ev.ConversationStarted)
    assert started.statuses == {"front": "stopped"}  # the stopped bot stays stopped
    assert not result.replies or all(r.bot_id != "front" for r in result.replies)


async def test_an_approved_suggestion_is_sent_as_the_bot_that_made_it(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    engine = await open_project(write_project(PROJECT))
    contact = (await engine.router.handle(Inbound("web", "hal", "hello"))).contact_id
    await engine.router.command(DEFAULT_ACCOUNT, contact, m.SetMode("suggest"))
    suggested = await engine.router.handle(Inbound("web", "hal", "hello"))
    (suggestion,) = suggested.replies
    assert suggestion.bot_id == "front" and suggestion.suggestion_id
    await engine.router.command(DEFAULT_ACCOUNT, contact, m.Assign("rooms"))  # a transfer
    approved = await engine.router.command(
        DEFAULT_ACCOUNT, contact, m.ResolveSuggestion(suggestion.suggestion_id, "approved")
    )
    assert [(r.text, r.bot_id) for r in approved.sent] == [("Hello from the front desk.", "front")]
    sent = [e for e in approved.events if isinstance(e, ev.MessageSent)]
    assert [e.bot_id for e in sent] == ["front"]


async def test_handing_back_to_another_bot_starts_its_start_flow(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    engine = await open_project(write_project(PROJECT))
    contact = (await engine.router.handle(Inbound("web", "ida", "hi"))).contact_id
    await engine.router.command(DEFAULT_ACCOUNT, contact, m.EscalateToHuman("question"))
    back = await engine.router.command(DEFAULT_ACCOUNT, contact, m.HandBack("rooms"))
    assert [r.text for r in back.sent] == ["How many nights ()?"]
    assert (await engine.router.handle(Inbound("web", "ida", "3"))).replies[0].text == (
        "Booked 3 nights."
    )


async def test_handing_back_to_the_last_owner_resumes_its_flow_without_restarting(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    engine = await open_project(write_project(PROJECT))
    first = await engine.router.handle(Inbound("web", "jan", "I want to book a room"))
    await engine.router.command(DEFAULT_ACCOUNT, first.contact_id, m.EscalateToHuman("help"))
    back = await engine.router.command(DEFAULT_ACCOUNT, first.contact_id, m.HandBack("rooms"))
    assert back.sent == []
    assert (await engine.router.handle(Inbound("web", "jan", "2"))).replies[0].text == (
        "Booked 2 nights."
    )


@pytest.mark.parametrize(
    ("status", "minutes", "message"),
    [
        ("paused", -5, "not in the future"),
        ("paused", 0, "not in the future"),
        ("active", 30, "only goes with status paused"),
    ],
)
async def test_a_pause_until_a_time_that_is_not_ahead_is_refused(
    write_project: ProjectWriter,
    open_project: EngineOpener,
    clock: TestClock,
    status: str,
    minutes: int,
    message: str,
) -> None:
    engine = await open_project(write_project(PROJECT))
    contact = (await engine.router.handle(Inbound("web", "kim", "hello"))).contact_id
    until = (clock.now() + timedelta(minutes=minutes)).isoformat()
    command = m.SetStatus(status, until=until)  # type: ignore[arg-type]
    with pytest.raises(m.CommandRefused, match=message):
        await engine.router.command(DEFAULT_ACCOUNT, contact, command)
    later = await engine.router.handle(Inbound("web", "kim", "hello"))
    assert not any(isinstance(e, ev.BotStatusChanged) for e in later.events)
    assert later.replies


async def test_a_too_long_message_is_stored_only_up_to_the_limit_with_its_length(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    engine = await open_project(write_project(PROJECT))
    result = await engine.router.handle(Inbound("web", "lou", "x" * 1_000_000))
    assert result.rejected == "too_long"
    (received,) = [e for e in result.events if isinstance(e, ev.MessageReceived)]
    (rejected,) = [e for e in result.events if isinstance(e, ev.MessageRejected)]
    assert received.text == "x" * 50
    assert rejected.length == 1_000_000 and "1000000 characters" in rejected.detail
    stored = await engine.store.read_events(DEFAULT_ACCOUNT, result.conversation_id)
    assert max(len(e.event.text) for e in stored if isinstance(e.event, ev.MessageReceived)) == 50


async def test_unsupported_types_are_named_with_the_right_article(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    engine = await open_project(write_project(PROJECT))
    details = []
    for kind in ("image", "audio", "location"):
        result = await engine.router.handle(Inbound("sms", "max", "", unsupported=kind))
        details += [e.detail for e in result.events if isinstance(e, ev.MessageRejected)]
    assert [d.split(";")[0] for d in details] == [
        "an image message",
        "an audio message",
        "a location message",
    ]


async def test_ending_when_no_conversation_is_open_is_refused_not_a_new_empty_one(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    engine = await open_project(write_project(PROJECT))
    said = await engine.router.handle(Inbound("web", "ender", "hello"))
    await engine.router.command(DEFAULT_ACCOUNT, said.contact_id, m.EndConversation())
    with pytest.raises(m.CommandRefused, match="no conversation is open"):
        await engine.router.command(DEFAULT_ACCOUNT, said.contact_id, m.EndConversation())
    latest = await engine.store.latest_conversation(DEFAULT_ACCOUNT, said.contact_id)
    assert latest is not None and latest.conversation_id == said.conversation_id


async def test_new_with_nothing_open_is_a_no_op_not_a_refusal(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    engine = await open_project(write_project(PROJECT))
    said = await engine.router.handle(Inbound("web", "newer", "hello"))
    new = m.EndConversation(m.NEW_CONVERSATION)
    await engine.router.command(DEFAULT_ACCOUNT, said.contact_id, new)
    again = await engine.router.command(DEFAULT_ACCOUNT, said.contact_id, new)
    assert again.events == [] and again.replies == []
    latest = await engine.store.latest_conversation(DEFAULT_ACCOUNT, said.contact_id)
    assert latest is not None and latest.conversation_id == said.conversation_id


async def test_assigning_a_conversation_a_human_holds_is_a_move_from_its_bot(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    engine = await open_project(write_project(PROJECT))
    said = await engine.router.handle(Inbound("web", "held", "hello"))
    await engine.router.command(DEFAULT_ACCOUNT, said.contact_id, m.EscalateToHuman("vip"))
    moved = await engine.router.command(DEFAULT_ACCOUNT, said.contact_id, m.Assign("rooms"))
    [assigned] = [e for e in moved.events if isinstance(e, ev.BotAssigned)]
    assert assigned.from_bot == "front"
    assert moved.replies and moved.replies[0].text == "Rooms here."
