"""What a story names must exist in the project: bots, channels, statuses, modes.

A typo in a story's expectation (``owner: triag``) would otherwise fail as "expected
'triag', got 'triage'" at best, and a misspelled channel would run the story on a channel
no bot serves."""

from __future__ import annotations

from collections.abc import Iterator

from baton.domain.errors import Problem
from baton.project.hints import did_you_mean, listing
from baton.spec.project import Project
from baton.spec.settings import CHANNELS
from baton.spec.yamlfile import Loc, YamlDocument
from baton.testing.story import Story, StoryStep

STATUSES = ("active", "paused", "stopped")
MODES = ("auto", "suggest")


def story_problems(project: Project, doc: YamlDocument, stories: list[Story]) -> list[Problem]:
    """Every name in ``stories`` (parsed from ``doc``) that ``project`` lacks."""
    problems: list[Problem] = []

    def unknown(loc: Loc, what: str, value: str, known: list[str]) -> None:
        otherwise = f"{what}s: {listing(known)}"
        message = f"unknown {what} '{value}'"
        problems.append(
            Problem(doc.file, doc.line_of(loc), message, did_you_mean(value, known, otherwise))
        )

    bots = sorted(project.bots)
    for i, story in enumerate(stories):
        here: Loc = ("stories", i)
        if story.channel not in CHANNELS:
            unknown((*here, "channel"), "channel", story.channel, list(CHANNELS))
        for j, step in enumerate(story.steps):
            for loc, bot in _bots(step, (*here, "steps", j)):
                if bot not in project.bots:
                    unknown(loc, "bot", bot, bots)
            if step.status is not None and step.status not in STATUSES:
                unknown((*here, "steps", j, "status"), "status", step.status, list(STATUSES))
            if step.mode is not None and step.mode not in MODES:
                unknown((*here, "steps", j, "mode"), "mode", step.mode, list(MODES))
    return problems


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
