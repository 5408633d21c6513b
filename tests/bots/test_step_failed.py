"""A template or condition that raises at run time fails its step, not the turn."""

from __future__ import annotations

from baton.domain import events as ev
from baton.domain.ids import DEFAULT_ACCOUNT
from baton.router.messages import Inbound
from tests.conftest import EngineOpener, ProjectWriter

PROJECT = {
    "baton.yml": """
        name: failing steps
        channels: [web]
    """,
    "bots/desk/bot.yml": """
        name: Desk
        primary: true
        fallback: "Sorry, something went wrong on my side."
        slots:
          number: {type: text}
        context:
          reads: [billing.disputed]
    """,
    "bots/billing/bot.yml": """
        name: Billing
        fallback: "Billing here."
        context:
          writes: [disputed]
    """,
    "bots/desk/intents.yml": """
        intents:
          pay:
            examples: [pay my bill, I want to pay, pay the invoice, make a payment]
          card:
            examples: [show my card, which card do I use, my card number, card on file]
    """,
    "bots/desk/flows.yml": """
        flows:
          pay:
            steps:
              - say: "Let me look."
              - branch:
                  - if: "context.billing.disputed > 100"
                    then: [{say: "That is disputed."}]
                  - else: [{say: "Paid."}]
          card:
            steps:
              - set: {slot: number, value: "4242"}
              - say: "Your card ends in {{ slots.number[-2:] }}."
    """,
}


async def test_a_failing_condition_or_template_says_the_fallback_and_keeps_the_turn(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    engine = await open_project(write_project(PROJECT))
    result = await engine.router.handle(Inbound("web", "ann", "pay my bill"))
    assert [r.text for r in result.replies] == [
        "Let me look.",
        "Sorry, something went wrong on my side.",
    ]
    (failed,) = [e for e in result.events if isinstance(e, ev.StepFailed)]
    assert failed.flow == "pay" and failed.source == "context.billing.disputed > 100"
    assert failed.error.startswith("UndefinedError")
    ended = [e.outcome for e in result.events if isinstance(e, ev.FlowEnded)]
    assert ended == ["step_failed"]
    # counted as the bot's fallback (metrics, transcripts), and the reply says so
    (fell,) = [e for e in result.events if isinstance(e, ev.FallbackTriggered)]
    assert fell.bot_id == "desk" and fell.reason == "flow pay step 1 failed"
    assert [r.kind for r in result.replies] == ["reply", "fallback"]
    stored = await engine.store.read_events(DEFAULT_ACCOUNT, result.conversation_id)
    assert any(isinstance(e.event, ev.MessageReceived) for e in stored)  # the turn was kept
    # a template on a number coerced from "4242": the conversation goes on after it
    result = await engine.router.handle(Inbound("web", "ann", "which card do I use"))
    assert [r.text for r in result.replies][-1] == "Sorry, something went wrong on my side."
    state = await engine.store.load_state(DEFAULT_ACCOUNT, result.conversation_id)
    assert not state.flows  # no flow left open


async def test_a_say_that_renders_no_text_is_a_failed_step_not_silence(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    """An action's empty answer shown by ``say: "{{ slots.answer }}"``: the user heard
    nothing, and no event said why."""
    root = write_project(
        {
            "baton.yml": "name: empty\nchannels: [web]\n",
            "bots/front/bot.yml": (
                "name: Front\nprimary: true\nfallback: Sorry, no answer.\n"
                "slots:\n  answer: {type: text}\n"
            ),
            "bots/front/intents.yml": "intents:\n  ask:\n    examples: [hi, hello, hey]\n",
            "bots/front/flows.yml": (
                "flows:\n  ask:\n    steps:\n"
                '      - say: "{{ slots.answer }}"\n'
                '      - say: "{% if slots.answer %}{{ slots.answer }}{% endif %}"\n'
            ),
        }
    )
    engine = await open_project(root)
    said = await engine.router.handle(Inbound("web", "e", "hi"))
    assert [r.text for r in said.replies] == ["Sorry, no answer."]
    failed = [e for e in said.events if isinstance(e, ev.StepFailed)]
    assert failed and "rendered no text" in failed[0].error
