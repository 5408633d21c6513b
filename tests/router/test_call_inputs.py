"""A call's inputs stay readable for the whole called flow, across the turns its
questions take (they were empty after the first question, and a result built on them
silently wrong)."""

from __future__ import annotations

from baton.router.messages import Inbound
from tests.conftest import EngineOpener, ProjectWriter

PROJECT = {
    "baton.yml": "name: pizza\nchannels: [web]\n",
    "bots/front/bot.yml": """
        name: Front
        primary: true
        slots:
          postcode: {type: text}
          eta: {type: text}
    """,
    "bots/front/intents.yml": """
        intents:
          delivery_time:
            examples: [how long does delivery take, delivery time, when will it arrive]
    """,
    "bots/front/flows.yml": """
        flows:
          delivery_time:
            steps:
              - ask: {slot: postcode, prompt: "What's your postcode?"}
              - call: {bot: orders, flow: eta, inputs: {postcode: "{{ slots.postcode }}"},
                       outputs: [eta]}
              - say: "Delivery takes {{ slots.eta }}."
    """,
    "bots/orders/bot.yml": """
        name: Orders
        slots:
          size: {type: choice, choices: [small, large]}
    """,
    "bots/orders/flows.yml": """
        flows:
          eta:
            steps:
              - say: "Checking {{ inputs.postcode }}."
              - ask: {slot: size, prompt: "Which size?"}
              - return:
                  outputs:
                    eta: "{{ '60' if (inputs.postcode|string)[0] == '9' else '25' }} min"
    """,
}


async def test_a_called_flow_reads_its_inputs_after_asking(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    engine = await open_project(write_project(PROJECT))
    await engine.router.handle(Inbound("web", "p", "how long does delivery take"))
    asked = await engine.router.handle(Inbound("web", "p", "90210"))
    assert [r.text for r in asked.replies] == ["Checking 90210.", "Which size?"]
    answered = await engine.router.handle(Inbound("web", "p", "large"))
    assert [r.text for r in answered.replies] == ["Delivery takes 60 min."]
