"""A whole project as loaded from disk: settings, bots and stories' location."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from baton.spec import flow as f
from baton.spec.bot import BotFile, IntentSpec, SlotSpec
from baton.spec.flow import FlowSpec
from baton.spec.settings import ProjectFile
from baton.spec.workflow import WorkflowFile


@dataclass(frozen=True)
class BotDefinition:
    """One bot folder, parsed: settings, intents, flows and responses."""

    bot_id: str
    folder: Path
    settings: BotFile
    intents: dict[str, IntentSpec] = field(default_factory=dict)
    flows: dict[str, FlowSpec] = field(default_factory=dict)
    responses: dict[str, list[str]] = field(default_factory=dict)

    def qualified(self, name: str) -> str:
        """Namespace a bot-local name: ``greet`` → ``billing.greet``."""
        return f"{self.bot_id}.{name}"

    def flow_for_intent(self, intent: str) -> str | None:
        """The flow an intent (local name) starts, if that flow exists."""
        spec = self.intents.get(intent)
        name = (spec.flow if spec and spec.flow else None) or intent
        return name if name in self.flows else None

    def hands_to(self, intent: str) -> str | None:
        """The bot an intent's flow transfers the conversation to before it asks or does
        anything else (its first step past ``say`` and ``set`` is a ``transfer``): the
        intent is a way to reach that bot, not this bot's own topic. (A ``call`` is not:
        the caller reports what the callee returns, the request stays its own.)"""
        flow = self.flow_for_intent(intent)
        for step in self.flows[flow].steps if flow else []:
            if isinstance(step, f.TransferStep):
                return step.transfer if isinstance(step.transfer, str) else step.transfer.to
            if not isinstance(step, f.SayStep | f.SetStep):
                return None
        return None

    def said(self, text: str, turn: int = 0) -> str:
        """A text as the bot says it: ``@name`` is that response, its variants in turn
        (``turn``: the contact's messages so far, this one included: the first message
        hears the first variant), anything else itself."""
        variants = self.responses.get(text[1:]) if text.startswith("@") else None
        return variants[max(turn - 1, 0) % len(variants)] if variants else text

    def slot(self, name: str) -> SlotSpec:
        """The slot's declaration (an undeclared slot is plain text)."""
        return self.settings.slots.get(name) or SlotSpec()

    def serves(self, channel: str, project_channels: list[str]) -> bool:
        """Whether the bot may speak on this channel."""
        channels = self.settings.channels or project_channels
        return channel in channels or channel == "cli" or not channels


@dataclass(frozen=True)
class Project:
    """A parsed project folder."""

    root: Path
    settings: ProjectFile
    bots: dict[str, BotDefinition]
    workflows: dict[str, WorkflowFile] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The project's name."""
        return self.settings.name

    def primary_for(self, channel: str) -> BotDefinition | None:
        """The primary bot serving ``channel``, if any (looked up once per channel)."""
        known = self._primaries
        if channel not in known:
            known[channel] = next(
                (
                    bot
                    for bot in self.bots.values()
                    if bot.settings.primary and bot.serves(channel, self.settings.channels)
                ),
                None,
            )
        return known[channel]

    @cached_property
    def _primaries(self) -> dict[str, BotDefinition | None]:
        return {}

    def group_members(self, group: str | None) -> list[BotDefinition]:
        """Bots in a collaboration group (none for no group)."""
        if group is None:
            return []
        return [b for b in self.bots.values() if b.settings.group == group]
