"""Two instances (two engines, each with its own store) on one database: a contact
changed on both at once keeps every change, whichever turn saves last."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from baton.domain.ids import DEFAULT_ACCOUNT
from baton.router import messages as m
from baton.router.messages import Inbound
from baton.runtime.engine import open_engine
from baton.testing import TestClock
from tests.conftest import ProjectWriter
from tests.router.test_router import PROJECT
from tests.storage.conftest import postgres_url, url

__all__ = ["postgres_url", "url"]


async def test_concurrent_changes_on_two_instances_all_stay(
    write_project: ProjectWriter, url: str, clock: TestClock
) -> None:
    root = write_project(PROJECT)
    one = await open_engine(root, database=url, clock=clock)
    two = await open_engine(root, database=url, clock=clock)
    try:
        contact = await one.store.contact_for_identity(DEFAULT_ACCOUNT, "web", "twin")
        who = contact.contact_id
        tags = [f"t{i}" for i in range(16)]
        changes = [
            (one if i % 2 else two).router.command(DEFAULT_ACCOUNT, who, m.AddTag(tag))
            for i, tag in enumerate(tags)
        ]
        changes += [
            (two if i % 2 else one).router.handle(Inbound("web", "twin", f"hello {i}"))
            for i in range(4)
        ]
        changes.append(one.router.command(DEFAULT_ACCOUNT, who, m.SetField("plan", "gold")))
        changes.append(two.router.command(DEFAULT_ACCOUNT, who, m.SetField("seats", 3)))
        changes.append(
            two.router.update_contact(DEFAULT_ACCOUNT, who, lambda c: replace(c, language="fr"))
        )
        await asyncio.gather(*changes)
        for engine in (one, two):
            after = await engine.store.get_contact(DEFAULT_ACCOUNT, who)
            assert after is not None
            assert sorted(after.tags) == sorted(tags)
            assert after.fields == {"plan": "gold", "seats": 3}
            assert after.language == "fr"
        # a removal made on one instance is not undone by a stale copy on the other
        await one.router.command(DEFAULT_ACCOUNT, who, m.RemoveTag("t0"))
        await two.router.command(DEFAULT_ACCOUNT, who, m.SetField("plan", None))
        after = await two.store.get_contact(DEFAULT_ACCOUNT, who)
        assert after is not None and "t0" not in after.tags and "plan" not in after.fields
    finally:
        await one.close()
        await two.close()


COUNTING = {
    "baton.yml": """
        name: counting
        channels: [web]
        actions: actions.py
    """,
    "actions.py": """
        import asyncio
        from pathlib import Path

        def register(registry):
            registry.add("count", count)

        async def count(inputs):
            with open(Path(__file__).parent / "calls.txt", "a") as calls:
                calls.write(inputs["text"] + "\\n")
            await asyncio.sleep(0.02)  # a call to another service: turns overlap
            return {"value": "ok"}
    """,
    "bots/front/bot.yml": """
        name: Front desk
        primary: true
        fallback: "Front can't help with that."
    """,
    "bots/front/intents.yml": """
        intents:
          greet:
            examples: [hi, hello, hey there, good morning, hello there, hi friend]
    """,
    "bots/front/flows.yml": """
        flows:
          greet:
            steps:
              - action: {name: count, inputs: {text: "{{ message }}"}}
              - say: "Hello."
    """,
}


@pytest.mark.postgres
async def test_a_turn_on_an_instance_whose_cache_is_behind_runs_its_actions_once(
    write_project: ProjectWriter, postgres_url: str, clock: TestClock
) -> None:
    """Each instance caches conversation states; a turn that started from a state another
    instance had moved past ran the bot (and its actions) once, met the append's check,
    and ran them again: an action with an effect outside Baton ran twice. (PostgreSQL:
    several instances on one SQLite file are not a supported deployment, see
    docs/storage.md.)"""
    root = write_project(COUNTING)
    one = await open_engine(root, database=postgres_url, clock=clock)
    two = await open_engine(root, database=postgres_url, clock=clock)
    try:
        address = f"cached-{root.parent.name}"
        for engine, text in ((one, "hi"), (two, "hello"), (one, "hey there"), (two, "hi friend")):
            result = await engine.router.handle(Inbound("web", address, text))
            assert [r.text for r in result.replies] == ["Hello."]
    finally:
        await one.close()
        await two.close()
    calls = (root / "calls.txt").read_text().split("\n")[:-1]
    assert calls == ["hi", "hello", "hey there", "hi friend"]


@pytest.mark.postgres
async def test_one_contacts_messages_on_three_instances_at_once_run_each_action_once(
    write_project: ProjectWriter, postgres_url: str, clock: TestClock
) -> None:
    """Messages of one contact reaching three instances at the same moment: a turn whose
    append lost to another instance's ran again, and its action with it (a QA run: 133
    calls for 120 turns). PostgreSQL orders the contact's turns across instances now."""
    root = write_project(COUNTING)
    engines = [await open_engine(root, database=postgres_url, clock=clock) for _ in range(3)]
    try:
        address = f"racing-{root.parent.name}"
        texts = [f"hi {n}" for n in range(12)]
        results = await asyncio.gather(
            *(
                engines[n % 3].router.handle(Inbound("web", address, text, message_id=text))
                for n, text in enumerate(texts)
            )
        )
        assert all([r.text for r in result.replies] == ["Hello."] for result in results)
    finally:
        for engine in engines:
            await engine.close()
    calls = (root / "calls.txt").read_text().split("\n")[:-1]
    assert sorted(calls) == sorted(texts)
