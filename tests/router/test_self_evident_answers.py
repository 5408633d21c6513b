"""An answer that holds the phone number (or email) a question asked for is the answer,
however many words it has and whatever other bot's intent those words resemble."""

from __future__ import annotations

from baton.domain import events as ev
from baton.domain.ids import DEFAULT_ACCOUNT
from baton.router.messages import Inbound
from tests.conftest import EngineOpener, ProjectWriter

PROJECT = {
    "baton.yml": """
        name: phones
        channels: [web]
    """,
    "bots/desk/bot.yml": """
        name: Desk
        primary: true
        group: telco
        fallback: "Desk can't help."
        slots:
          phone: {type: phone}
    """,
    "bots/desk/intents.yml": """
        intents:
          identify:
            examples: [find my account, look up my account, identify me, who am I,
                       check my account]
    """,
    "bots/desk/flows.yml": """
        flows:
          identify:
            steps:
              - ask: {slot: phone, prompt: "What's the phone number on the account?"}
              - say: "Thanks, found {{ slots.phone }}."
    """,
    "bots/sales/bot.yml": """
        name: Sales
        group: telco
        fallback: "Sales can't help."
    """,
    "bots/sales/intents.yml": """
        intents:
          port_number:
            examples: [I want to keep my number, port my number, transfer my number to you,
                       can I bring my number, my number, move my phone number over]
          upgrade:
            examples: [upgrade my phone, new phone please, I want a better phone,
                       phone upgrade, swap my handset]
    """,
    "bots/sales/flows.yml": """
        flows:
          port_number:
            steps:
              - say: "Fill in the porting form."
          upgrade:
            steps:
              - say: "Upgrades are 20% off."
    """,
}


async def test_a_phone_number_answer_stays_with_the_question(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    engine = await open_project(write_project(PROJECT))
    asked = await engine.router.handle(Inbound("web", "ph", "find my account"))
    assert asked.replies[-1].text == "What's the phone number on the account?"
    answered = await engine.router.handle(Inbound("web", "ph", "my number is 07700 900123"))
    assert [r.bot_id for r in answered.replies] == ["desk"], answered.replies
    assert answered.replies[-1].text.startswith("Thanks, found")
    assert not any(isinstance(e, ev.BotTransferred) for e in answered.events)
    state = await engine.store.load_state(DEFAULT_ACCOUNT, answered.conversation_id)
    assert state.owner in (None, "desk")
