"""Guard rails: the hop budget per turn and a call that returns outputs."""

from __future__ import annotations

from baton.domain import events as ev
from baton.domain.ids import DEFAULT_ACCOUNT
from baton.router import messages as m
from baton.router.messages import Inbound
from tests.conftest import EngineOpener, ProjectWriter


def chain(length: int) -> dict[str, str]:
    """front transfers to hop1, whose start flow transfers to hop2, and so on."""
    files = {
        "baton.yml": "name: chain\nsettings:\n  hop_budget: 3\n",
        "bots/front/bot.yml": "name: Front\nprimary: true\n",
        "bots/front/intents.yml": (
            "intents:\n  go:\n    examples: [go, go now, lets go, go go, start, begin]\n"
        ),
        "bots/front/flows.yml": "flows:\n  go:\n    steps:\n      - transfer: hop1\n",
    }
    for n in range(1, length + 1):
        following = f"      - transfer: hop{n + 1}\n" if n < length else "      - say: end\n"
        files[f"bots/hop{n}/bot.yml"] = (
            f"name: Hop {n}\nstart_flow: onward\nfallback: hop{n} gives up\n"
        )
        files[f"bots/hop{n}/flows.yml"] = (
            f"flows:\n  onward:\n    steps:\n      - say: hop{n} here\n{following}"
        )
    return files


async def test_the_hop_budget_stops_a_chain_of_transfers_with_an_answer(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    engine = await open_project(write_project(chain(5)))
    result = await engine.router.handle(Inbound("web", "ann", "go"))
    moves = [e for e in result.events if isinstance(e, ev.BotTransferred)]
    assert [(e.from_bot, e.to_bot) for e in moves] == [
        ("front", "hop1"),
        ("hop1", "hop2"),
        ("hop2", "hop3"),
    ]
    refused = [e for e in result.events if isinstance(e, ev.TransferRefused)]
    assert [(e.from_bot, e.to_bot, e.reason) for e in refused] == [("hop3", "hop4", "hop_budget")]
    assert [r.text for r in result.replies] == [
        "hop1 here",
        "hop2 here",
        "hop3 here",
        "hop3 gives up",
    ]


CALLS = {
    "baton.yml": "name: calls\n",
    "bots/desk/bot.yml": """
        name: Desk
        primary: true
        slots:
          slot_time: {type: text}
    """,
    "bots/desk/intents.yml": """
        intents:
          when:
            examples: [when can I come, next free time, earliest slot, when are you free,
                       first available time, soonest appointment]
    """,
    "bots/desk/flows.yml": """
        flows:
          when:
            steps:
              - call: {bot: diary, inputs: {who: desk}, outputs: [slot_time]}
              - say: "Desk: the next time is {{ slots.slot_time }}."
    """,
    "bots/diary/bot.yml": """
        name: Diary
        start_flow: lookup
        slots:
          secret: {type: text}
    """,
    "bots/diary/flows.yml": """
        flows:
          lookup:
            steps:
              - set: {slot: secret, value: "diary-only"}
              - say: "Diary checking for {{ inputs.who }}."
              - return: {outputs: {slot_time: "Tuesday 10:00"}}
    """,
}


async def test_call_returns_outputs_to_the_caller_in_the_same_turn(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    engine = await open_project(write_project(CALLS))
    result = await engine.router.handle(Inbound("web", "bea", "when can I come"))
    assert [r.text for r in result.replies] == [
        "Diary checking for desk.",
        "Desk: the next time is Tuesday 10:00.",
    ]
    returned = next(e for e in result.events if isinstance(e, ev.BotReturned))
    assert returned.outputs == {"slot_time": "Tuesday 10:00"}
    state = await engine.store.load_state("default", result.conversation_id)
    # desk, the primary, answered unassigned before the call and does so again (owner
    # "desk" made it the assigned bot: one of two alike conversations listed by ?bot=desk)
    assert state.owner is None and not state.call_stack
    assert "secret" not in state.slots.get("desk", {})  # the callee's private slot stays private


BOUNCE = {
    "baton.yml": "name: bounce\nsettings:\n  hop_budget: 10\n  ping_pong_turns: 0\n",
    "bots/front/bot.yml": "name: Front\nprimary: true\nfallback: front gives up\n",
    "bots/back/bot.yml": "name: Back\nfallback: back gives up\n",
}
for _bot, _other in (("front", "back"), ("back", "front")):
    BOUNCE[f"bots/{_bot}/intents.yml"] = (
        "intents:\n  go:\n    examples: [go, go now, lets go, go go, start, begin]\n"
    )
    BOUNCE[f"bots/{_bot}/flows.yml"] = (
        f"flows:\n  go:\n    steps:\n      - transfer: {{to: {_other}, with_message: true}}\n"
    )


async def test_a_message_never_bounces_back_within_its_turn(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    # ping_pong_turns 0 turns the guard off across turns, not within one: the message
    # goes front -> back once, and back's transfer straight back is refused
    engine = await open_project(write_project(BOUNCE))
    result = await engine.router.handle(Inbound("web", "ann", "go"))
    moves = [(e.from_bot, e.to_bot) for e in result.events if isinstance(e, ev.BotTransferred)]
    assert moves == [("front", "back")]
    refused = [e for e in result.events if isinstance(e, ev.TransferRefused)]
    assert [(e.from_bot, e.to_bot, e.reason) for e in refused] == [("back", "front", "ping_pong")]
    assert [r.text for r in result.replies] == ["back gives up"]


RING = {
    "baton.yml": "name: ring\nsettings:\n  hop_budget: 10\n  ping_pong_turns: 0\n",
    "bots/front/bot.yml": "name: Front\nprimary: true\nfallback: front gives up\n",
    "bots/front/intents.yml": "intents:\n  go:\n    examples: [go, go now, lets go, start]\n",
    "bots/front/flows.yml": "flows:\n  go:\n    steps:\n      - transfer: {to: a}\n",
}
for _bot, _next in (("a", "b"), ("b", "c"), ("c", "a")):
    RING[f"bots/{_bot}/bot.yml"] = f"name: {_bot}\nstart_flow: hop\nfallback: {_bot} gives up\n"
    RING[f"bots/{_bot}/flows.yml"] = (
        f"flows:\n  hop:\n    steps:\n      - say: {_bot} here\n      - transfer: {_next}\n"
    )


async def test_a_ring_of_bots_is_a_loop_within_a_turn_too(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    """front → a → b → c → a: c's hand back to a, which handed over in this turn, is
    refused before a speaks twice (only the hop budget stopped it)."""
    engine = await open_project(write_project(RING))
    result = await engine.router.handle(Inbound("web", "ring", "go"))
    moves = [(e.from_bot, e.to_bot) for e in result.events if isinstance(e, ev.BotTransferred)]
    assert moves == [("front", "a"), ("a", "b"), ("b", "c")]
    first = next(e for e in result.events if isinstance(e, ev.BotTransferred))
    # a step's transfer says what led to it, and that the target only took the conversation
    assert (first.message, first.intent, first.carried) == ("go", "front.go", False)
    refused = [e for e in result.events if isinstance(e, ev.TransferRefused)]
    assert [(e.from_bot, e.to_bot, e.reason) for e in refused] == [("c", "a", "ping_pong")]
    assert [r.text for r in result.replies] == ["a here", "b here", "c here", "c gives up"]


async def test_an_operators_turn_is_its_own_turn_for_the_ring_rule(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    """The ring rule once read "this turn" off the count of the contact's messages, so an
    operator's assignment right after a message found every bot that message moved
    through "already handed over" and refused them."""
    engine = await open_project(write_project(RING))
    result = await engine.router.handle(Inbound("web", "ring2", "go"))
    assigned = await engine.router.command(DEFAULT_ACCOUNT, result.contact_id, m.Assign("c"))
    moves = [(e.from_bot, e.to_bot) for e in assigned.events if isinstance(e, ev.BotTransferred)]
    assert moves == [("c", "a"), ("a", "b")]
    refused = [e for e in assigned.events if isinstance(e, ev.TransferRefused)]
    assert [(e.from_bot, e.to_bot, e.reason) for e in refused] == [("b", "c", "ping_pong")]


CHANNELS = {
    "baton.yml": "name: channels\nchannels: [web, sms]\n",
    "bots/front/bot.yml": "name: Front\nprimary: true\nfallback: front here\n",
    "bots/webonly/bot.yml": (
        "name: Web only\nchannels: [web]\nstart_flow: hello\nfallback: web bot here\n"
    ),
    "bots/webonly/flows.yml": "flows:\n  hello:\n    steps:\n      - say: web bot here\n",
}


async def test_an_assigned_bot_never_answers_on_a_channel_it_does_not_serve(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    from datetime import UTC, datetime

    import pytest

    from baton.domain.ids import DEFAULT_ACCOUNT
    from baton.domain.state import ConversationState
    from baton.router import messages as m
    from baton.router.guards import find_owner

    engine = await open_project(write_project(CHANNELS))
    first = await engine.router.handle(Inbound("sms", "+15550001", "hi"))
    with pytest.raises(m.CommandRefused, match="doesn't serve channel 'sms'"):
        await engine.router.command(
            DEFAULT_ACCOUNT, first.contact_id, m.Assign("webonly"), channel="sms"
        )
    # a bot assigned before its channels changed: the primary takes the message
    state = ConversationState(channel="sms", owner="webonly")
    owner = find_owner(state, engine.project, datetime.now(UTC))
    assert owner.bot_id == "front"
    assert owner.reason == "assigned bot webonly doesn't serve channel 'sms'; primary takes over"
