"""An action's result must fit the slot it is saved in."""

from __future__ import annotations

import asyncio

import pytest

from baton.domain import events as ev
from baton.router.messages import Inbound
from tests.conftest import EngineOpener, ProjectWriter

PROJECT = {
    "baton.yml": """
        name: prices
        channels: [web]
        actions: actions.py
    """,
    "actions.py": """
        def register(registry):
            registry.add("price", price)

        async def price(inputs):
            answers = {
                "good": {"value": "40"},
                "words": {"value": "Order 12 of 40"},
                "empty": {"p": 4},
                "place": {"value": {"city": "Lyon"}},
            }
            return answers[inputs["kind"]]
    """,
    "bots/shop/bot.yml": """
        name: Shop
        primary: true
        fallback: "Sorry, no price right now."
        slots:
          quote: {type: number}
          where: {}
    """,
    "bots/shop/intents.yml": """
        intents:
          good:
            examples: [price of the good one, good price, the good item]
          words:
            examples: [price in words, words price, wordy item]
          none:
            examples: [price of nothing, no price, empty item]
          place:
            examples: [where is the shop, shop address, where are you located]
    """,
    "bots/shop/flows.yml": """
        flows:
          good:
            steps:
              - action: {name: price, inputs: {kind: good}, save_as: quote}
              - say: "It costs {{ slots.quote }} dollars."
          words:
            steps:
              - action: {name: price, inputs: {kind: words}, save_as: quote}
              - say: "It costs {{ slots.quote }} dollars."
          none:
            steps:
              - action: {name: price, inputs: {kind: empty}, save_as: quote}
              - say: "It costs {{ slots.quote }} dollars."
          place:
            steps:
              - action: {name: price, inputs: {kind: place}, save_as: where}
              - say: "We are in {{ result.value.city }}."
    """,
}


async def test_a_result_the_slot_cannot_hold_is_a_failed_action_not_a_wrong_reply(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    engine = await open_project(write_project(PROJECT))
    good = await engine.router.handle(Inbound("web", "p", "price of the good one"))
    assert [r.text for r in good.replies] == ["It costs 40 dollars."]
    for text, error in (
        ("price in words", "returned 'Order 12 of 40' for slot quote (number)"),
        ("price of nothing", "returned no `value` for save_as quote (it returned ['p'])"),
    ):
        result = await engine.router.handle(Inbound("web", "p", text))
        assert [r.text for r in result.replies] == ["Sorry, no price right now."]
        [failed] = [e for e in result.events if isinstance(e, ev.ActionFailed)]
        assert failed.kind == "bad_result" and failed.error.startswith(error), failed.error
        [fell] = [e for e in result.events if isinstance(e, ev.FallbackTriggered)]
        assert fell.reason == f"action {failed.action} failed"
        assert [r.kind for r in result.replies] == ["fallback"]

    place = await engine.router.handle(Inbound("web", "p", "where is the shop"))
    assert [r.text for r in place.replies] == ["We are in Lyon."]  # result keeps its shape


async def test_plain_actions_past_their_timeout_never_starve_the_others_unseen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A timed-out plain function keeps its thread; with every thread of Python's shared
    pool (6 on 2 cores) held so, healthy actions "timed out" without ever running."""
    import time

    from baton.bots import actions

    monkeypatch.setattr(actions, "SYNC_THREADS", 2)
    registry = actions.ActionRegistry()
    registry.add("slow", lambda inputs: time.sleep(0.4) or {"value": "late"})
    registry.add("quick", lambda inputs: {"value": "ok"})
    slow = await asyncio.gather(*(registry.run("slow", {}, 0.05) for _ in range(2)))
    assert all(r.kind == "timeout" and "plain function goes on" in (r.error or "") for r in slow)
    busy = await registry.run("quick", {}, 1.0)
    assert busy.kind == "busy" and "threads for plain (non-async) actions" in (busy.error or "")
    await asyncio.sleep(0.5)  # the slow calls returned: their threads are free again
    assert (await registry.run("quick", {}, 1.0)).result == {"value": "ok"}
