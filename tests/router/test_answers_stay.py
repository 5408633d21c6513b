"""Natural answers to a bot's question stay with it: a choice named in a sentence (front's
review intent would claim "the pizza was cold"), and a message another bot's intent claims
only to transfer it back to the asking bot."""

from __future__ import annotations

from baton.domain import events as ev
from baton.domain.ids import DEFAULT_ACCOUNT
from baton.router.messages import Inbound
from tests.conftest import EngineOpener, ProjectWriter

PROJECT = {
    "baton.yml": "name: pizza\nchannels: [web]\n",
    "bots/front/bot.yml": """
        name: Front
        primary: true
        group: pizza
        fallback: "Front can't help."
    """,
    "bots/front/intents.yml": """
        intents:
          order:
            examples: [I want pizzas, I want three pizzas, order two pizzas please,
                       can I get some pizzas, pizzas please]
          complain:
            examples: [I want to complain, I have a complaint, complaint please,
                       I need to make a complaint, I would like to complain]
          review:
            examples: [it was late, the pizza was cold, the order was wrong,
                       my delivery arrived late, the food was cold]
    """,
    "bots/front/flows.yml": """
        flows:
          order:
            steps:
              - say: "Our orders desk will help."
              - transfer: {to: orders, refused: "Orders are unavailable right now."}
          review:
            steps:
              - say: "Thanks for your review."
          complain:
            steps:
              - say: "Sorry! Support will help."
              - transfer: {to: support, refused: "Support is unavailable right now."}
    """,
    "bots/orders/bot.yml": """
        name: Orders
        group: pizza
        start_flow: take
        slots:
          count: {type: number, min: 1}
    """,
    "bots/orders/flows.yml": """
        flows:
          take:
            steps:
              - ask: {slot: count, prompt: "How many pizzas?"}
              - say: "{{ slots.count }} pizzas coming."
    """,
    "bots/support/bot.yml": """
        name: Support
        group: pizza
        start_flow: complaint
        slots:
          problem: {type: choice, choices: [cold, late, wrong]}
    """,
    "bots/support/flows.yml": """
        flows:
          complaint:
            steps:
              - ask: {slot: problem, prompt: "Was it cold, late or wrong?"}
              - say: "Noted: {{ slots.problem }}."
    """,
}


async def test_a_choice_named_in_a_sentence_is_the_answer(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    engine = await open_project(write_project(PROJECT))
    asked = await engine.router.handle(Inbound("web", "c", "I want to complain"))
    assert asked.replies[-1].text == "Was it cold, late or wrong?"
    for answer, problem in [("the pizza was cold", "cold"), ("my delivery arrived late", "late")]:
        said = await engine.router.handle(Inbound("web", "c", answer))
        assert [(r.bot_id, r.text) for r in said.replies] == [("support", f"Noted: {problem}.")]
        await engine.router.handle(Inbound("web", "c", "I want to complain"))


async def test_an_intent_that_only_transfers_back_does_not_take_the_answer(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    engine = await open_project(write_project(PROJECT))
    asked = await engine.router.handle(Inbound("web", "o", "can I get some pizzas"))
    assert asked.replies[-1].text == "How many pizzas?"
    said = await engine.router.handle(Inbound("web", "o", "I want three pizzas"))
    assert [(r.bot_id, r.text) for r in said.replies] == [("orders", "3 pizzas coming.")]
    assert not any(isinstance(e, ev.TransferRefused) for e in said.events)
    state = await engine.store.load_state(DEFAULT_ACCOUNT, said.conversation_id)
    assert state.owner == "orders"


async def test_a_bounce_says_the_fallback_not_the_unavailable_text(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    # support hands anything it can't match to front; front's complain intent transfers
    # back: the bounce is refused, and front's fallback (not "Support is unavailable") says so
    project = dict(PROJECT)
    project["bots/support/flows.yml"] = """
        flows:
          complaint:
            steps:
              - transfer: {to: front, with_message: true}
    """
    engine = await open_project(write_project(project))
    said = await engine.router.handle(Inbound("web", "b", "I want to complain"))
    refused = [e for e in said.events if isinstance(e, ev.TransferRefused)]
    assert refused and refused[0].reason == "ping_pong"
    assert "Support is unavailable right now." not in [r.text for r in said.replies]


async def test_a_message_handed_on_reaches_the_start_flow_it_starts(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    """``transfer: {to: relay, with_message: true}`` to a bot whose own intents don't match
    the message started its start_flow with ``{{ message }}`` empty: a bot relaying to an
    outside service sent it nothing."""
    project = dict(PROJECT)
    project["bots/front/flows.yml"] = PROJECT["bots/front/flows.yml"].replace(
        'transfer: {to: support, refused: "Support is unavailable right now."}',
        "transfer: {to: support, with_message: true}",
    )
    project["bots/support/flows.yml"] = """
        flows:
          complaint:
            steps:
              - say: "Relaying: [{{ message }}]"
    """
    engine = await open_project(write_project(project))
    said = await engine.router.handle(Inbound("web", "r", "I want to complain"))
    assert ("support", "Relaying: [I want to complain]") in [
        (r.bot_id, r.text) for r in said.replies
    ]
