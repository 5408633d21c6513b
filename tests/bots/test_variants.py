"""A text with variants says each of them in turn."""

from __future__ import annotations

from baton.router.messages import Inbound
from tests.conftest import EngineOpener, ProjectWriter

PROJECT = {
    "baton.yml": "name: variants\nchannels: [web]\n",
    "bots/front/bot.yml": "name: Front\nprimary: true\nfallback: '@sorry'\n",
    "bots/front/responses.yml": """
        responses:
          sorry: ["Sorry A", "Sorry B", "Sorry C", "Sorry D"]
    """,
    "bots/front/intents.yml": """
        intents:
          twice:
            examples: [say it twice, twice please, say that twice, two times]
    """,
    "bots/front/flows.yml": """
        flows:
          twice:
            steps:
              - say: ["One", "Two"]
              - say: ["One", "Two"]
    """,
}


async def test_every_variant_comes_up_in_turn(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    """The variant was picked by the history's length, always odd when a bot spoke: with
    two variants the first never came up, with four only the second and fourth."""
    engine = await open_project(write_project(PROJECT))
    said = []
    for _ in range(8):
        result = await engine.router.handle(Inbound("web", "v", "zzz qqq"))
        said += [r.text for r in result.replies]
    # in the order written, the first to the contact's first message
    assert said == ["Sorry A", "Sorry B", "Sorry C", "Sorry D"] * 2
    twice = await engine.router.handle(Inbound("web", "v", "say it twice"))
    assert sorted(r.text for r in twice.replies) == ["One", "Two"]
    fresh = await engine.router.handle(Inbound("web", "w", "say it twice"))
    assert [r.text for r in fresh.replies] == ["One", "Two"]


async def test_a_question_that_gives_up_says_the_fallback_response_not_its_name(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    files = dict(PROJECT)
    files["bots/front/bot.yml"] = (
        "name: Front\nprimary: true\nfallback: '@sorry'\nslots:\n  n: {type: number}\n"
    )
    files["bots/front/flows.yml"] = """
        flows:
          twice:
            steps:
              - ask: {slot: n, prompt: "How many?", max_retries: 0}
    """
    engine = await open_project(write_project(files))
    await engine.router.handle(Inbound("web", "g", "say it twice"))
    gave_up = await engine.router.handle(Inbound("web", "g", "no idea"))
    assert [r.text for r in gave_up.replies][-1].startswith("Sorry ")
