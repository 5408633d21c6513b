"""A call the conversation leaves by a transfer is abandoned: nobody returns into the
caller's flow later, when the callee finishes some unrelated flow."""

from __future__ import annotations

from baton.domain import events as ev
from baton.domain.ids import DEFAULT_ACCOUNT
from baton.router.messages import Inbound
from tests.conftest import EngineOpener, ProjectWriter

PROJECT = {
    "baton.yml": """
        name: calls
        channels: [web]
    """,
    "bots/front/bot.yml": """
        name: Front
        primary: true
        group: desk
        fallback: "Front can't help."
    """,
    "bots/front/intents.yml": """
        intents:
          quick_pay:
            examples: [quick pay, pay quickly, fast payment, quick payment please]
    """,
    "bots/front/flows.yml": """
        flows:
          quick_pay:
            steps:
              - call: {bot: billing, flow: pay_bill}
              - say: "Back at the front desk."
    """,
    "bots/billing/bot.yml": """
        name: Billing
        group: desk
        fallback: "Billing can't help."
        slots:
          amount: {type: number}
    """,
    "bots/billing/intents.yml": """
        intents:
          balance:
            examples: [what is my balance, how much do I owe, show my balance,
                       account balance please, what do I owe you]
          refund:
            examples: [I want a refund, refund my payment, give me my money back,
                       can I get a refund, refund please]
    """,
    "bots/billing/flows.yml": """
        flows:
          pay_bill:
            steps:
              - ask: {slot: amount, prompt: "How much would you like to pay?"}
              - return: {}
          balance:
            steps:
              - say: "Your balance is 42 euros."
          refund:
            steps:
              - say: "Refunds take 5 days."
    """,
    "bots/tech/bot.yml": """
        name: Tech
        group: desk
        fallback: "Tech can't help."
    """,
    "bots/tech/intents.yml": """
        intents:
          internet_down:
            examples: [my internet is not working, the internet is down, no internet connection,
                       internet keeps dropping, my wifi is not working at all]
          slow:
            examples: [my connection is slow, the speed is terrible, pages load slowly,
                       slow download speed, why is it so slow]
    """,
    "bots/tech/flows.yml": """
        flows:
          internet_down:
            steps:
              - say: "Let's restart your router."
          slow:
            steps:
              - say: "Let's run a speed test."
    """,
}


async def test_a_transfer_out_of_a_call_abandons_it(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    engine = await open_project(write_project(PROJECT))
    said = await engine.router.handle(Inbound("web", "cal", "quick pay"))
    assert said.replies[-1].text == "How much would you like to pay?"
    switched = await engine.router.handle(Inbound("web", "cal", "my internet is not working"))
    assert [r.bot_id for r in switched.replies] == ["tech"]
    ended = [(e.bot_id, e.flow, e.outcome) for e in switched.events if isinstance(e, ev.FlowEnded)]
    assert ("front", "quick_pay", "interrupted") in ended
    state = await engine.store.load_state(DEFAULT_ACCOUNT, switched.conversation_id)
    assert state.call_stack == [] and "front" not in state.flows
    later = await engine.router.handle(Inbound("web", "cal", "what is my balance"))
    assert [r.text for r in later.replies] == ["Your balance is 42 euros."]
    assert not any(isinstance(e, ev.BotReturned) for e in later.events)
    state = await engine.store.load_state(DEFAULT_ACCOUNT, later.conversation_id)
    assert state.owner == "billing"


async def test_a_called_bot_that_switches_to_another_topic_of_its_own_abandons_the_call(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    engine = await open_project(write_project(PROJECT))
    await engine.router.handle(Inbound("web", "cb", "quick pay"))
    switched = await engine.router.handle(Inbound("web", "cb", "what is my balance"))
    assert [r.text for r in switched.replies] == ["Your balance is 42 euros."]
    abandoned = [e for e in switched.events if isinstance(e, ev.CallAbandoned)]
    assert [(e.caller, e.callee) for e in abandoned] == [("front", "billing")]
    ended = [(e.bot_id, e.flow, e.outcome) for e in switched.events if isinstance(e, ev.FlowEnded)]
    assert ("front", "quick_pay", "interrupted") in ended
    assert not any(isinstance(e, ev.BotReturned) for e in switched.events)
    state = await engine.store.load_state(DEFAULT_ACCOUNT, switched.conversation_id)
    assert state.call_stack == [] and state.owner == "billing"
