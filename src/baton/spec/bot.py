"""``bots/<id>/bot.yml`` and ``intents.yml``: a bot's settings and its intents."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from baton.domain.state import HISTORY_KEPT
from baton.spec.base import LanguageCode, Said, SaidTexts, SpecModel

SlotType = Literal["text", "number", "email", "phone", "date", "time", "choice", "boolean"]


class HistoryPolicy(SpecModel):
    """How much of the conversation a bot sees when it takes over."""

    policy: Literal["full", "last", "summary", "none"] = Field(
        "full",
        description=f"`full`: every message the conversation keeps (its last {HISTORY_KEPT}); "
        "`last`: the last `last` of them; `summary`: one line about them; `none`",
    )
    last: int = Field(
        10,
        ge=1,
        description=f"messages kept with policy `last` (a conversation keeps {HISTORY_KEPT}: "
        "more gives those, and `baton check` warns)",
    )


class ContextContract(SpecModel):
    """The shared-context keys a bot reads (``bot.key``) and writes (its own keys)."""

    reads: list[str] = Field(
        default_factory=list, description="namespaced keys, e.g. assessment.risk"
    )
    writes: list[str] = Field(default_factory=list, description="own keys, stored as <bot>.<key>")
    contact: list[str] = Field(
        default_factory=list, description="own keys kept on the contact, beyond the conversation"
    )


class SlotSpec(SpecModel):
    """A private slot of a bot."""

    type: SlotType = "text"
    choices: list[str] = Field(default_factory=list, description="allowed answers for type choice")
    min: float | None = None
    max: float | None = None
    description: str = ""


class BotFile(SpecModel):
    """A bot's ``bot.yml``."""

    name: str = Field(description="display name")
    kind: Literal["flow"] = "flow"
    description: str = ""
    owners: list[str] = Field(default_factory=list, description="team or people who own the bot")
    primary: bool = Field(False, description="catches every message not routed elsewhere")
    channels: list[str] = Field(
        default_factory=list, description="channels served; empty means all of the project's"
    )
    language: LanguageCode | None = None
    mode: Literal["auto", "suggest"] = "auto"
    handoff_message: Said | None = Field(
        None,
        description="said to the user as this bot takes the conversation from another: a "
        "transfer (a step, collaboration) or an assignment (a workflow, an operator)",
    )
    fallback: Said = Field("Sorry, I didn't get that. Could you rephrase?")
    group: str | None = Field(None, description="collaboration group: bots that may take over")
    threshold: float = Field(0.5, ge=0, le=1, description="lowest confidence this bot acts on")
    start_flow: str | None = Field(
        None, description="flow run when the bot is handed a conversation without an intent"
    )
    history: HistoryPolicy = Field(default_factory=lambda: HistoryPolicy())
    context: ContextContract = Field(default_factory=lambda: ContextContract())
    slots: dict[str, SlotSpec] = Field(default_factory=dict)


class IntentSpec(SpecModel):
    """An intent: example utterances and the flow it starts."""

    examples: list[Said] = Field(min_length=1)
    flow: str | None = Field(None, description="flow to start; defaults to the intent's name")
    description: str = Field("", description="what the intent is for, in words")


class IntentsFile(SpecModel):
    """A bot's ``intents.yml``."""

    intents: dict[str, IntentSpec] = Field(default_factory=dict)


class ResponsesFile(SpecModel):
    """A bot's ``responses.yml``: named texts, with variants."""

    responses: dict[str, SaidTexts] = Field(default_factory=dict)
