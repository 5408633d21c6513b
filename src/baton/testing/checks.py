"""What a story names must exist in the project: bots, channels, statuses, modes, event
types and their fields, slots, context keys, tags and fields (those the project knows,
as workflows are checked), commands that parse, and `reply_matches` patterns that
compile.

A typo in a story's expectation (``owner: triag``) would otherwise fail as "expected
'triag', got 'triage'" at best, a misspelled channel would run the story on a channel
no bot serves, an event type or field that does not exist fails as a dump of the turn's
events, and an unknown slot or context key expected to be unset passes without testing
anything."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator

from baton.domain.errors import Problem
from baton.domain.events import EVENT_TYPES
from baton.project.hints import did_you_mean, listing
from baton.project.workflowcheck import known_names
from baton.router.messages import AddTag, RemoveTag, SetField, SubmitForm
from baton.runtime.commands import BadCommand, parse_command
from baton.spec.project import Project
from baton.spec.settings import CHANNELS
from baton.spec.yamlfile import Loc, YamlDocument
from baton.testing.story import Story, StoryStep

Unknown = Callable[[Loc, str, str, list[str]], None]

STATUSES = ("active", "paused", "stopped")
MODES = ("auto", "suggest")


def story_problems(project: Project, doc: YamlDocument, stories: list[Story]) -> list[Problem]:
    """Every name in ``stories`` (parsed from ``doc``) that ``project`` lacks."""
    problems: list[Problem] = []

    def unknown(loc: Loc, what: str, value: str, known: list[str]) -> None:
        head, of, owner = what.partition(" of ")  # "slot of vet" → "slots of vet"
        otherwise = f"{head}s{of}{owner}: {listing(known)}"
        message = f"unknown {what} '{value}'"
        problems.append(
            Problem(doc.file, doc.line_of(loc), message, did_you_mean(value, known, otherwise))
        )

    bots = sorted(project.bots)
    context_keys = sorted(
        f"{bot_id}.{key}"
        for bot_id, bot in project.bots.items()
        for key in bot.settings.context.writes
    )
    served = list(project.settings.channels)
    tags, fields = known_names(project)
    forms = sorted(project.settings.workflows.forms)
    fields = fields if fields - {"language"} else set()  # a project that names its fields
    titles: dict[str, int] = {}
    for i, story in enumerate(stories):
        here: Loc = ("stories", i)
        first = titles.setdefault(story.name, doc.line_of((*here, "name")))
        if first != doc.line_of((*here, "name")):
            message = f"a second story named {story.name!r} (the first is on line {first})"
            fix = "give each story its own name: results are reported by name"
            problems.append(Problem(doc.file, doc.line_of((*here, "name")), message, fix))
        if story.channel not in CHANNELS:
            unknown((*here, "channel"), "channel", story.channel, list(CHANNELS))
        elif story.channel not in served:
            message = f"channel '{story.channel}' is not one of the project's"
            fix = f"the project serves {listing(served)} (channels: in baton.yml)"
            problems.append(Problem(doc.file, doc.line_of((*here, "channel")), message, fix))
        for j, step in enumerate(story.steps):
            at: Loc = (*here, "steps", j)
            for loc, bot in _bots(step, at):
                if bot not in project.bots:
                    unknown(loc, "bot", bot, bots)
            if step.status is not None and step.status not in STATUSES:
                unknown((*at, "status"), "status", step.status, list(STATUSES))
            if step.mode is not None and step.mode not in MODES:
                unknown((*at, "mode"), "mode", step.mode, list(MODES))
            for bot, values in step.slots.items():
                declared = list(project.bots[bot].settings.slots) if bot in project.bots else []
                for name in values:
                    if bot in project.bots and name not in declared:
                        unknown((*at, "slots", bot, name), f"slot of {bot}", name, declared)
            for key in step.context:
                owner, dot, name = key.partition(".")
                if owner in project.bots and dot:
                    writes = list(project.bots[owner].settings.context.writes)
                    if name not in writes:
                        unknown((*at, "context", key), f"context key of {owner}", name, writes)
                elif not dot:  # "name" for "frontdesk.name": it was never checked
                    meant = [k for k in context_keys if k.endswith(f".{key}")]
                    fix = "write the key with its bot, `<bot>.<key>`" + (
                        f": {' or '.join(repr(k) for k in meant)}" if meant else ""
                    )
                    line = doc.line_of((*at, "context", key))
                    message = f"context key '{key}' names no bot"
                    problems.append(Problem(doc.file, line, message, fix))
                else:  # a bot the project lacks
                    unknown((*at, "context", key), "context key", key, context_keys)
            for k, expected in enumerate(step.events):
                _event(expected, (*at, "events", k), unknown)
            for k, expected in enumerate(step.no_events):
                _event(expected, (*at, "no_events", k), unknown)
            if "events" in step.model_fields_set and not step.events:
                message = "`events: []` checks nothing (each listed event must happen)"
                fix = "to say an event must not happen, write `no_events: [{type: ...}]`"
                problems.append(Problem(doc.file, doc.line_of((*at, "events")), message, fix))
            if "no_events" in step.model_fields_set and not step.no_events:
                message = "`no_events: []` checks nothing (no listed event may happen)"
                fix = "list the events that must not happen: `no_events: [{type: ...}]`"
                problems.append(Problem(doc.file, doc.line_of((*at, "no_events")), message, fix))
            if step.reply_matches is not None:
                try:
                    re.compile(step.reply_matches)
                except re.error as error:
                    message = f"reply_matches is not a regular expression: {error}"
                    fix = "fix the pattern (escape ( ) [ ] . * + ? with \\ to match them)"
                    line = doc.line_of((*at, "reply_matches"))
                    problems.append(Problem(doc.file, line, message, fix))
            if tags:  # a project that names its tags: a story's must be among them
                for k, tag in enumerate(step.tags):
                    if tag.removeprefix("-") not in tags:
                        unknown((*at, "tags", k), "tag", tag.removeprefix("-"), sorted(tags))
            for name in step.fields if fields else ():
                if name not in fields:
                    unknown((*at, "fields", name), "field", name, sorted(fields))
            if step.command is not None:
                try:
                    parsed = parse_command(step.command)
                except BadCommand as bad:
                    message = f"command {step.command!r} does not parse"
                    problems.append(
                        Problem(doc.file, doc.line_of((*at, "command")), message, str(bad))
                    )
                    continue
                named = _commanded_bot(parsed)
                if named is not None and named not in project.bots:
                    unknown((*at, "command"), "bot", named, bots)
                if isinstance(parsed, AddTag | RemoveTag) and tags and parsed.tag not in tags:
                    unknown((*at, "command"), "tag", parsed.tag, sorted(tags))
                if isinstance(parsed, SetField) and fields and parsed.name not in fields:
                    unknown((*at, "command"), "field", parsed.name, sorted(fields))
                if isinstance(parsed, SubmitForm) and forms and parsed.form not in forms:
                    unknown((*at, "command"), "form", parsed.form, forms)
    return problems


def _commanded_bot(command: object) -> str | None:
    """The bot a command names (``/assign gromm``, ``/status paused gromm``...), if any."""
    named = getattr(command, "bot_id", None)
    return named if isinstance(named, str) else None


def _event(expected: dict[str, object], loc: Loc, unknown: Unknown) -> None:
    """An expected event's type exists, and so does every field it names."""
    kind = expected.get("type")
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        unknown((*loc, "type"), "event type", str(kind), sorted(EVENT_TYPES))
        return
    fields = [f.name for f in dataclasses.fields(cls)]
    for name in expected:
        if name != "type" and name not in fields:
            unknown((*loc, name), f"field of {kind}", name, fields)


def _bots(step: StoryStep, loc: Loc) -> Iterator[tuple[Loc, str]]:
    """The bot ids a step's expectations name, with where they are written."""
    if step.bot is not None:
        yield (*loc, "bot"), step.bot
    for k, bot in enumerate(step.bots or []):
        yield (*loc, "bots", k), bot
    if step.owner is not None:
        yield (*loc, "owner"), step.owner
    for bot in step.slots:
        yield (*loc, "slots", bot), bot
