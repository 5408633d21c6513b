"""A call the conversation leaves by a transfer is abandoned: nobody returns into the
caller's flow later, when the callee finishes some unrelated flow."""

from __future__ import annotations

from baton.domain import events as ev
from baton.domain.ids import DEFAULT_ACCOUNT
from baton.router import messages as m
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
        slots:
          got: {type: number}
    """,
    "bots/front/intents.yml": """
        intents:
          quick_pay:
            examples: [quick pay, pay quickly, fast payment, quick payment please]
          rate_us:
            examples: [rate us, give a rating, rate the service, I want to rate you]
          need_help:
            examples: [get me help, I need help from someone, help me please, get help]
          deep_help:
            examples: [deep help please, I need deep help, the deep help desk, deep assistance]
    """,
    "bots/front/flows.yml": """
        flows:
          quick_pay:
            steps:
              - call: {bot: billing, flow: pay_bill}
              - say: "Back at the front desk."
          rate_us:
            steps:
              - call: {bot: billing, flow: rate, outputs: [got]}
              - say: "Rating: {{ slots.got }}."
          need_help:
            steps:
              - call: {bot: helper, flow: esc}
              - say: "Helped."
          deep_help:
            steps:
              - call: {bot: billing, flow: assist}
              - say: "Deeply helped."
    """,
    "bots/helper/bot.yml": """
        name: Helper
        fallback: "Helper can't help."
    """,
    "bots/helper/flows.yml": """
        flows:
          esc:
            steps:
              - escalate: {reason: test, message: "Getting a human."}
    """,
    "bots/billing/bot.yml": """
        name: Billing
        group: desk
        fallback: "Billing can't help."
        slots:
          amount: {type: number}
          rating: {type: number}
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
          assist:
            steps:
              - call: {bot: helper, flow: esc}
              - say: "Billing assisted."
          rate:
            steps:
              - ask: {slot: rating, prompt: "Rate us 1-5.", max_retries: 0,
                      on_fail: [{say: "No rating then."}]}
              - return: {outputs: {got: "{{ slots.rating }}"}}
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


async def test_a_called_bot_that_escalates_ends_the_call_and_a_hand_back_goes_to_the_caller(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    engine = await open_project(write_project(PROJECT))
    escalated = await engine.router.handle(Inbound("web", "ce", "get me help"))
    assert [r.text for r in escalated.replies] == ["Getting a human."]
    [abandoned] = [e for e in escalated.events if isinstance(e, ev.CallAbandoned)]
    assert (abandoned.caller, abandoned.callee, abandoned.reason) == (
        "front",
        "helper",
        "escalated",
    )
    state = await engine.store.load_state(DEFAULT_ACCOUNT, escalated.conversation_id)
    assert state.call_stack == [] and state.owner == "front" and state.flows == {}
    contact = await engine.store.contact_for_identity(DEFAULT_ACCOUNT, "web", "ce")
    back = await engine.router.command(DEFAULT_ACCOUNT, contact.contact_id, m.HandBack())
    assert [e.to_bot for e in back.events if isinstance(e, ev.HandedBack)] == ["front"]
    later = await engine.router.handle(Inbound("web", "ce", "rate us"))
    assert [r.text for r in later.replies] == ["Rate us 1-5."]


async def test_a_caller_that_moved_on_is_not_revived_by_its_callee_answering_later(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    engine = await open_project(write_project(PROJECT))
    await engine.router.handle(Inbound("web", "cm", "rate us"))
    contact = await engine.store.contact_for_identity(DEFAULT_ACCOUNT, "web", "cm")
    pause = m.SetStatus("paused", "billing")
    await engine.router.command(DEFAULT_ACCOUNT, contact.contact_id, pause)
    moved = await engine.router.handle(Inbound("web", "cm", "quick pay"))  # front, as primary
    abandoned = [
        (e.callee, e.reason, e.owner) for e in moved.events if isinstance(e, ev.CallAbandoned)
    ]
    assert ("billing", "caller_moved_on", "front") in abandoned
    state = await engine.store.load_state(DEFAULT_ACCOUNT, moved.conversation_id)
    assert "rate" not in [f.flow for f in state.flows.values()]
    await engine.router.command(
        DEFAULT_ACCOUNT, contact.contact_id, m.SetStatus("active", "billing")
    )
    later = await engine.router.handle(Inbound("web", "cm", "5"))
    assert not any(r.text.startswith("Rating") for r in later.replies), later.replies


async def test_a_call_that_returns_no_output_leaves_no_earlier_calls_output(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    engine = await open_project(write_project(PROJECT))
    await engine.router.handle(Inbound("web", "co", "rate us"))
    first = await engine.router.handle(Inbound("web", "co", "4"))
    assert first.replies[-1].text == "Rating: 4."
    await engine.router.handle(Inbound("web", "co", "rate us"))
    failed = await engine.router.handle(Inbound("web", "co", "no idea"))
    assert [r.text for r in failed.replies] == ["No rating then.", "Rating: ."]
    state = await engine.store.load_state(DEFAULT_ACCOUNT, failed.conversation_id)
    assert state.slots.get("front", {}).get("got") is None


async def test_an_escalation_deep_in_a_chain_of_calls_ends_every_call(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    engine = await open_project(write_project(PROJECT))
    escalated = await engine.router.handle(Inbound("web", "deep", "deep help please"))
    abandoned = [
        (e.caller, e.callee, e.reason) for e in escalated.events if isinstance(e, ev.CallAbandoned)
    ]
    assert abandoned == [("billing", "helper", "escalated"), ("front", "billing", "escalated")]
    state = await engine.store.load_state(DEFAULT_ACCOUNT, escalated.conversation_id)
    assert state.call_stack == [] and state.owner == "front" and state.flows == {}
    contact = await engine.store.contact_for_identity(DEFAULT_ACCOUNT, "web", "deep")
    back = await engine.router.command(DEFAULT_ACCOUNT, contact.contact_id, m.HandBack())
    assert [e.to_bot for e in back.events if isinstance(e, ev.HandedBack)] == ["front"]
    assert not any(r.text.endswith("helped.") for r in back.replies)


async def test_a_called_flow_that_fails_abandons_the_call(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    """The called bot's action failed, it said its fallback, and the caller went on as if
    the call had worked: "Summary: " and "ticket opened" after the callee's "Sorry"."""
    project = dict(PROJECT)
    project["baton.yml"] = "name: calls\nchannels: [web]\nactions: actions.py\n"
    project["actions.py"] = """
        def register(registry):
            registry.add("summarize", summarize)

        async def summarize(inputs):
            raise RuntimeError("the model answered 500")
    """
    project["bots/helper/flows.yml"] = """
        flows:
          esc:
            steps:
              - action: {name: summarize}
              - say: "Summarised."
    """
    engine = await open_project(write_project(project))
    failed = await engine.router.handle(Inbound("web", "cf", "get me help"))
    assert [r.text for r in failed.replies] == ["Helper can't help."]
    [abandoned] = [e for e in failed.events if isinstance(e, ev.CallAbandoned)]
    assert (abandoned.caller, abandoned.callee, abandoned.reason) == ("front", "helper", "failed")
    assert not any(isinstance(e, ev.BotReturned) for e in failed.events)
    state = await engine.store.load_state(DEFAULT_ACCOUNT, failed.conversation_id)
    assert state.call_stack == [] and state.owner == "front" and state.flows == {}


async def test_a_called_bot_stopped_mid_call_gives_the_conversation_back_to_its_caller(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    """Billing, called for an amount, is stopped by an operator: the caller's flow used to
    wait for good, the stopped callee stayed the owner, and the primary answered."""
    engine = await open_project(write_project(PROJECT))
    await engine.router.handle(Inbound("web", "st", "rate us"))  # billing asks for a rating
    contact = await engine.store.contact_for_identity(DEFAULT_ACCOUNT, "web", "st")
    stop = m.SetStatus("stopped", "billing")
    await engine.router.command(DEFAULT_ACCOUNT, contact.contact_id, stop)
    later = await engine.router.handle(Inbound("web", "st", "get me help"))
    abandoned = [
        (e.caller, e.callee, e.reason, e.owner)
        for e in later.events
        if isinstance(e, ev.CallAbandoned)
    ]
    assert abandoned[0] == ("front", "billing", "callee_stopped", "front")
    ended = [(e.bot_id, e.flow, e.outcome) for e in later.events if isinstance(e, ev.FlowEnded)]
    assert ("billing", "rate", "interrupted") in ended
    assert ("front", "rate_us", "interrupted") in ended
    # the caller holds the conversation: front's own intent runs (a call, to helper)
    assert [r.text for r in later.replies] == ["Getting a human."]


async def test_a_call_refused_deep_in_a_chain_ends_every_call(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    """front → billing → helper with a hop budget of 1: billing's call is refused. The
    frame front → billing used to stay, billing kept the conversation with no flow, and
    every later message got billing's fallback."""
    project = dict(PROJECT)
    project["baton.yml"] = "name: calls\nchannels: [web]\nsettings: {hop_budget: 1}\n"
    engine = await open_project(write_project(project))
    refused = await engine.router.handle(Inbound("web", "hb", "deep help please"))
    assert [e.reason for e in refused.events if isinstance(e, ev.TransferRefused)] == ["hop_budget"]
    assert [r.text for r in refused.replies] == ["Billing can't help."]
    abandoned = [
        (e.caller, e.callee, e.reason, e.owner)
        for e in refused.events
        if isinstance(e, ev.CallAbandoned)
    ]
    assert abandoned == [("front", "billing", "failed", "front")]
    state = await engine.store.load_state(DEFAULT_ACCOUNT, refused.conversation_id)
    assert state.call_stack == [] and state.owner == "front" and state.flows == {}
    later = await engine.router.handle(Inbound("web", "hb", "rate us"))
    assert [r.text for r in later.replies] == ["Rate us 1-5."]


async def test_a_bot_stopped_deep_in_a_chain_ends_every_call_and_the_first_caller_holds_it(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    """front → billing → helper, helper stopped while it asks: billing was left the owner
    with no flow, and front's flow ended under it."""
    project = dict(PROJECT)
    project["bots/helper/bot.yml"] = """
        name: Helper
        fallback: "Helper can't help."
        slots:
          detail: {type: text}
    """
    project["bots/helper/flows.yml"] = """
        flows:
          esc:
            steps:
              - ask: {slot: detail, prompt: "Which detail?"}
              - return: {}
    """
    engine = await open_project(write_project(project))
    asked = await engine.router.handle(Inbound("web", "dp", "deep help please"))
    assert asked.replies[-1].text == "Which detail?"
    contact = await engine.store.contact_for_identity(DEFAULT_ACCOUNT, "web", "dp")
    await engine.router.command(
        DEFAULT_ACCOUNT, contact.contact_id, m.SetStatus("stopped", "helper")
    )
    later = await engine.router.handle(Inbound("web", "dp", "rate us"))
    abandoned = [
        (e.caller, e.callee, e.reason, e.owner)
        for e in later.events
        if isinstance(e, ev.CallAbandoned)
    ]
    assert abandoned == [
        ("billing", "helper", "callee_stopped", "front"),
        ("front", "billing", "callee_stopped", "front"),
    ]
    assert [r.text for r in later.replies] == ["Rate us 1-5."]  # front's own intent, at once
