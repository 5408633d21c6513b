"""A word typed decomposed (macOS, iOS, pasted) routes, answers and triggers like the
composed one; Chinese keywords are found inside a sentence written without spaces."""

from __future__ import annotations

import unicodedata

from baton.domain import events as ev
from baton.domain.ids import DEFAULT_ACCOUNT
from baton.router.messages import Inbound
from tests.conftest import EngineOpener, ProjectWriter

PROJECT = {
    "baton.yml": """
        name: unicode
        channels: [web]
    """,
    "bots/desk/bot.yml": """
        name: Desk
        primary: true
        fallback: "Pardon?"
        slots:
          drink: {type: choice, choices: [thé, café, İstanbul]}
    """,
    "bots/desk/intents.yml": """
        intents:
          order:
            examples: [un café s'il vous plaît, je voudrais un café, un café noir, café]
          hours:
            examples: [quand ouvrez-vous, vos horaires, heures d'ouverture, ouvert quand]
    """,
    "bots/desk/flows.yml": """
        flows:
          order:
            steps:
              - ask: {slot: drink, prompt: "Thé ou café ?"}
              - say: "Un {{ slots.drink }}."
          hours:
            steps:
              - say: "9h-18h."
    """,
    "workflows/refund.yml": """
        trigger:
          message_received: {keyword: 退款}
        actions:
          - add_tag: refund
    """,
}

NFD = "NFD"


def _nfd(text: str) -> str:
    return unicodedata.normalize(NFD, text)


async def test_a_decomposed_word_matches_its_intent_and_its_choice(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    engine = await open_project(write_project(PROJECT))
    asked = await engine.router.handle(Inbound("web", "ann", _nfd("un café noir")))
    assert [r.text for r in asked.replies] == ["Thé ou café ?"]
    answered = await engine.router.handle(Inbound("web", "ann", _nfd("CAFÉ")))
    assert [r.text for r in answered.replies] == ["Un café."]
    # the stored message is the composed form of what was typed
    stored = await engine.store.read_events(DEFAULT_ACCOUNT, answered.conversation_id)
    texts = [e.event.text for e in stored if isinstance(e.event, ev.MessageReceived)]
    assert texts[-1] == unicodedata.normalize("NFC", "CAFÉ")


async def test_a_chinese_keyword_triggers_inside_a_sentence(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    engine = await open_project(write_project(PROJECT))
    result = await engine.router.handle(Inbound("web", "li", "我要退款"))
    assert any(isinstance(e, ev.TagAdded) and e.tag == "refund" for e in result.events)
