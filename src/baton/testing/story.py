"""The story file format: ``tests/**/*.yml`` and ``bots/<bot>/tests/**/*.yml`` in a project."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from baton.domain.values import Value
from baton.spec.base import LanguageCode


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StoryStep(_Strict):
    """A user message or an operator command, and what must hold after it."""

    user: str | None = None
    command: str | None = None
    bot: str | None = Field(None, description="bot that sent the turn's last reply")
    bots: list[str] | None = Field(None, description="bots that spoke, in order")
    reply: str | None = Field(None, description="one reply equals this")
    reply_matches: str | None = Field(None, description="regex found in one reply")
    replies: list[str] | None = Field(None, description="exactly these texts were sent")
    events: list[dict[str, Any]] = Field(
        default_factory=list, description="these events happened this turn, in order"
    )
    no_events: list[dict[str, Any]] = Field(
        default_factory=list, description="none of these events happened this turn"
    )
    owner: str | None = None
    status: str | None = None
    mode: str | None = None
    slots: dict[str, dict[str, Value]] = Field(default_factory=dict)
    context: dict[str, Value] = Field(default_factory=dict)
    escalated: bool | None = None
    rejected: str | None = None
    tags: list[str] = Field(
        default_factory=list, description="the contact has these tags ('-tag': has not)"
    )
    fields: dict[str, Value] = Field(default_factory=dict, description="contact fields")
    language: LanguageCode | None = Field(None, description="the contact's language")

    @model_validator(mode="after")
    def _one_action(self) -> StoryStep:
        if (self.user is None) == (self.command is None):
            raise ValueError("a step has exactly one of `user:` or `command:`")
        return self


class ContactSpec(_Strict):
    """The story's contact."""

    tags: list[str] = Field(default_factory=list)
    fields: dict[str, Value] = Field(default_factory=dict)
    language: LanguageCode | None = None


class Story(_Strict):
    """A named conversation script."""

    name: str
    channel: str = "web"
    contact: ContactSpec = Field(default_factory=ContactSpec)
    steps: list[StoryStep] = Field(min_length=1)


class StoryFile(_Strict):
    """A story file (``tests/**/*.yml``, ``bots/<bot>/tests/**/*.yml``)."""

    stories: list[Story] = Field(min_length=1)
