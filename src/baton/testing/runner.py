"""Runs a project's stories against a real engine on a throwaway SQLite file."""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from baton.domain import events as ev
from baton.domain.errors import BatonError, Problem, ProjectInvalid
from baton.domain.ids import DEFAULT_ACCOUNT
from baton.domain.records import Contact
from baton.domain.state import ConversationState
from baton.project.validation import validate
from baton.router.guards import human_owns
from baton.router.messages import EndConversation, Inbound, TurnResult
from baton.runtime.commands import Query, RunTimers, Wait, parse_command
from baton.runtime.engine import Engine, open_engine
from baton.runtime.transcript import render
from baton.runtime.workflows import run_due_timers
from baton.spec.project import Project
from baton.spec.yamlfile import load_yaml
from baton.storage import default_sqlite_url
from baton.testing.checks import story_problems
from baton.testing.clock import START, TestClock
from baton.testing.story import Story, StoryFile, StoryStep


@dataclass
class StoryResult:
    """A story's verdict: failures (one per broken expectation) and its transcript."""

    file: str
    name: str
    failures: list[str] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether every expectation held."""
        return not self.failures


def story_files(root: Path, suffix: str = ".yml") -> list[Path]:
    """The project's story files: ``tests/**/*.yml``, and each bot's own
    ``bots/<bot>/tests/**/*.yml`` (a team keeps its bot's stories beside it)."""
    folders = [root / "tests", *sorted((root / "bots").glob("*/tests"))]
    return [
        path
        for folder in folders
        if folder.is_dir()
        for path in sorted(folder.rglob(f"*{suffix}"))
        if path.is_file() and not any(part.startswith(".") for part in path.parts[-3:])
    ]


def load_stories(root: Path, project: Project | None = None) -> list[tuple[str, Story]]:
    """Parse every story file of the project (``story_files``), reporting file problems
    together; with ``project``, a bot, channel, status or mode a story names that doesn't
    exist is one."""
    found: list[tuple[str, Story]] = []
    problems: list[Problem] = []
    for path in story_files(root, ".yaml"):
        name = path.relative_to(root).as_posix()
        fix = f"rename it to {path.stem}.yml"
        problems.append(Problem(name, 0, "stories are read from .yml files only", fix))
    for path in story_files(root):
        name = path.relative_to(root).as_posix()
        document, read_problems = load_yaml(path, name)
        parsed, invalid = validate(StoryFile, document) if not read_problems else (None, [])
        problems.extend(read_problems + invalid)
        if parsed is not None:
            found.extend((name, story) for story in parsed.stories)
            if project is not None:
                problems.extend(story_problems(project, document, parsed.stories))
    if problems:
        raise ProjectInvalid(problems)
    return found


async def run_stories(root: Path, only: str | None = None) -> list[StoryResult]:
    """Run the project's stories (those whose name contains ``only``, if given)."""
    load_stories(root)  # the files themselves, before the engine is opened
    clock = TestClock()
    with tempfile.TemporaryDirectory(prefix="baton-stories-") as tmp:
        url = default_sqlite_url(Path(tmp) / "stories.db")
        engine = await open_engine(root, database=url, clock=clock)
        try:
            stories = [
                (f, s)
                for f, s in load_stories(root, engine.project)
                if only is None or only in s.name
            ]
            return [
                await _run(engine, clock, file, story, index)
                for index, (file, story) in enumerate(stories)
            ]
        finally:
            await engine.close()


async def _run(
    engine: Engine, clock: TestClock, file: str, story: Story, index: int
) -> StoryResult:
    clock.current = START
    result = StoryResult(file, story.name)
    address = f"story-{index}"
    contact = await engine.store.contact_for_identity(DEFAULT_ACCOUNT, story.channel, address)
    contact = Contact(
        contact.account_id,
        contact.contact_id,
        contact.identities,
        tuple(story.contact.tags),
        dict(story.contact.fields),
        story.contact.language,
    )
    await engine.store.save_contact(contact)
    for number, step in enumerate(story.steps, start=1):
        label = f"step {number} ({step.user if step.user is not None else step.command!r})"
        try:
            turn = await _act(engine, clock, story, address, contact.contact_id, step)
        except BatonError as error:
            result.failures.append(f"{label}: {error}")
            break
        state = await _state(engine, contact.contact_id)
        result.failures.extend(f"{label}: {f}" for f in _check(engine, step, turn, state))
        now = await engine.store.get_contact(DEFAULT_ACCOUNT, contact.contact_id)
        result.failures.extend(f"{label}: {f}" for f in _check_contact(step, now))
    result.transcript = await _transcript(engine, contact.contact_id)
    return result


async def _act(
    engine: Engine, clock: TestClock, story: Story, address: str, contact_id: str, step: StoryStep
) -> TurnResult | None:
    if step.user is not None:
        return await engine.router.handle(Inbound(story.channel, address, step.user))
    parsed = parse_command(step.command or "")
    if isinstance(parsed, Wait | RunTimers):
        if isinstance(parsed, Wait):
            clock.advance(parsed.minutes)
        return _merged(await run_due_timers(engine), contact_id)
    if isinstance(parsed, Query):
        if parsed.name != "new":
            return None
        parsed = EndConversation("new_conversation")
    return await engine.router.command(DEFAULT_ACCOUNT, contact_id, parsed, story.channel)


def _merged(results: list[TurnResult], contact_id: str) -> TurnResult | None:
    """The turns that fired timers, as one (the story's contact's only)."""
    mine = [r for r in results if r.contact_id == contact_id]
    if not mine:
        return None
    merged = TurnResult(mine[-1].conversation_id, contact_id)
    for result in mine:
        merged.events.extend(result.events)
        merged.replies.extend(result.replies)
    return merged


async def _state(engine: Engine, contact_id: str) -> ConversationState:
    record = await engine.store.latest_conversation(DEFAULT_ACCOUNT, contact_id)
    if record is None:
        return ConversationState()
    return await engine.store.load_state(DEFAULT_ACCOUNT, record.conversation_id)


async def _transcript(engine: Engine, contact_id: str) -> list[str]:
    lines: list[str] = []
    conversations = await engine.store.list_conversations(DEFAULT_ACCOUNT, limit=1000)
    mine = sorted(
        (c for c in conversations if c.contact_id == contact_id), key=lambda c: c.started_at
    )
    for record in mine:
        recorded = await engine.store.read_events(DEFAULT_ACCOUNT, record.conversation_id)
        lines.extend(render([r.event for r in recorded]))
    return lines


def _check(
    engine: Engine, step: StoryStep, turn: TurnResult | None, state: ConversationState
) -> list[str]:
    failures: list[str] = []
    replies = turn.replies if turn else []

    def expect(what: str, wanted: object, got: object) -> None:
        if wanted != got:
            failures.append(f"{what}: expected {wanted!r}, got {got!r}")

    if step.bot is not None:
        expect("bot", step.bot, replies[-1].bot_id if replies else None)
    if step.bots is not None:
        spoke: list[str] = []
        for reply in replies:
            if reply.bot_id and (not spoke or spoke[-1] != reply.bot_id):
                spoke.append(reply.bot_id)
        expect("bots", step.bots, spoke)
    texts = [r.text for r in replies]
    if step.reply is not None and step.reply not in texts:
        failures.append(f"reply: expected {step.reply!r} among {texts!r}")
    if step.reply_matches is not None and not any(re.search(step.reply_matches, t) for t in texts):
        failures.append(f"reply_matches: no reply matches /{step.reply_matches}/ in {texts!r}")
    if step.replies is not None:
        expect("replies", step.replies, [r.text for r in (turn.sent if turn else [])])
    if step.rejected is not None:
        expect("rejected", step.rejected, turn.rejected if turn else None)
    failures.extend(_check_events(step.events, turn.events if turn else []))
    failures.extend(_check_no_events(step.no_events, turn.events if turn else []))
    owner = state.owner or _primary(engine, state)
    if step.owner is not None:
        expect("owner", step.owner, owner)
    if step.status is not None:
        expect("status", step.status, state.status_of(owner).status if owner else None)
    if step.mode is not None and owner is not None:
        expect("mode", step.mode, state.mode_of(owner, engine.project.bots[owner].settings.mode))
    for bot_id, slots in step.slots.items():
        for name, value in slots.items():
            expect(f"slot {bot_id}.{name}", value, state.slots.get(bot_id, {}).get(name))
    for key, value in step.context.items():
        expect(f"context {key}", value, state.context.get(key, state.contact_context.get(key)))
    if step.escalated is not None:  # a human owns it: escalated, or taken over by writing
        expect("escalated", step.escalated, human_owns(state, engine.clock.now()))
    return failures


def _check_contact(step: StoryStep, contact: Contact | None) -> list[str]:
    failures: list[str] = []
    tags = set(contact.tags) if contact else set()
    for tag in step.tags:
        if tag.startswith("-"):
            if tag[1:] in tags:
                failures.append(f"tags: expected no {tag[1:]!r}, got {sorted(tags)!r}")
        elif tag not in tags:
            failures.append(f"tags: expected {tag!r} among {sorted(tags)!r}")
    fields = contact.fields if contact else {}
    for name, value in step.fields.items():
        if fields.get(name) != value:
            failures.append(f"field {name}: expected {value!r}, got {fields.get(name)!r}")
    language = contact.language if contact else None
    if step.language is not None and step.language != language:
        failures.append(f"language: expected {step.language!r}, got {language!r}")
    return failures


def _primary(engine: Engine, state: ConversationState) -> str | None:
    bot = engine.project.primary_for(state.channel) if state.channel else None
    return bot.bot_id if bot else None


def _check_events(wanted: list[dict[str, Any]], got: list[ev.Event]) -> list[str]:
    """Each wanted event must appear, in order, as a subset of an event's fields."""
    position = 0
    for expected in wanted:
        while position < len(got) and not _matches(expected, got[position]):
            position += 1
        if position == len(got):
            seen = [ev.event_to_dict(e) | {"type": e.type} for e in got]
            return [f"events: no {expected!r} in order among this turn's events:\n      {seen}"]
        position += 1
    return []


def _check_no_events(unwanted: list[dict[str, Any]], got: list[ev.Event]) -> list[str]:
    """No event of the turn may match any of ``unwanted`` (each a subset of fields)."""
    return [
        f"no_events: {ev.event_to_dict(event) | {'type': event.type}!r} happened"
        for expected in unwanted
        for event in got
        if _matches(expected, event)
    ]


def _matches(expected: dict[str, Any], event: ev.Event) -> bool:
    fields = ev.event_to_dict(event) | {"type": event.type}
    return all(
        fields.get(k) == (list(v) if isinstance(v, tuple) else v) for k, v in expected.items()
    )
