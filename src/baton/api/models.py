"""Request and response bodies of the management API."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    FiniteFloat,
    StringConstraints,
    WithJsonSchema,
)

from baton.spec.base import LANGUAGE_PATTERN

#: a name or address: not blank, no control characters (NUL, newlines, escapes), at least
#: one character that shows (a zero-width space alone is not a tag).
#: Python's ``$`` also matches before a final newline, as the OpenAPI schema's
#: readers (and Hypothesis) take it: the bodies use Python's regex engine so they
#: accept what the schema does, and surrounding whitespace is trimmed off.
#: The classes are spelled out, not ``\s``: Python's ``\s`` also matches U+0085, which
#: the schema's readers (ECMAScript regexes) don't, so a tag "\x85" passed the schema and
#: was refused by the body (schemathesis found it). C0 and C1 controls are refused alike.
CONTROL = r"\x00-\x1f\x7f-\x9f"
SPACE = r" \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
INVISIBLE = r"\u200b-\u200d\u2060\ufeff"
SHOWS = rf"[^{SPACE}{CONTROL}{INVISIBLE}]"
VISIBLE = rf"^[^{CONTROL}]*{SHOWS}[^{CONTROL}]*$"

#: a message: lines (tabs, line breaks) of no other control character, and at least one
#: character that shows (not a space, not a zero-width one): a blank or invisible text
#: was sent to the contact as an empty bubble
_LINES = r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*"
MESSAGE = rf"^{_LINES}{SHOWS}{_LINES}$"
MessageText = Annotated[str, StringConstraints(min_length=1, max_length=4096, pattern=MESSAGE)]

#: what a body's text failed, in words, for each of these patterns (the error said the
#: regular expression itself)
PATTERN_MEANINGS = {
    VISIBLE: "is blank, shows only invisible characters, or holds a control character",
    MESSAGE: "is blank, shows only invisible characters, or holds a control character "
    "other than a tab or a line break",
}


def _trimmed(text: str) -> str:
    """Trimmed, in Unicode's composed form: "é" typed as e + accent is the tag "é"."""
    return unicodedata.normalize("NFC", text.strip())


Trimmed = AfterValidator(_trimmed)
Tag = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=VISIBLE), Trimmed]
FieldName = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=VISIBLE), Trimmed
]
Address = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=VISIBLE), Trimmed]
Channel = Literal["web", "rest", "sms", "whatsapp", "messenger", "instagram", "cli"]
Language = Annotated[
    str,
    StringConstraints(max_length=35, pattern=LANGUAGE_PATTERN),
    Trimmed,
]
#: a field's value; NaN and Infinity, which Python's JSON reader takes, are refused (no
#: JSON writer may write them back: they came back as null)
FieldValue = str | int | FiniteFloat | bool | None
#: custom fields: the schema says what keys may be (pydantic alone would let any
#: key through as an "additional property" in the schema, and then refuse it)
Fields = Annotated[
    dict[FieldName, FieldValue],
    WithJsonSchema(
        {
            "type": "object",
            "maxProperties": 100,
            "propertyNames": {"minLength": 1, "maxLength": 100, "pattern": VISIBLE},
            "additionalProperties": {
                "anyOf": [
                    {"type": "string"},
                    {"type": "integer"},
                    {"type": "number"},
                    {"type": "boolean"},
                    {"type": "null"},
                ]
            },
        }
    ),
]


class Strict(BaseModel):
    """Bodies refuse unknown fields."""

    model_config = ConfigDict(extra="forbid", regex_engine="python-re")


class BotOut(BaseModel):
    """A bot as the project declares it."""

    bot_id: str
    name: str
    kind: str
    primary: bool
    channels: list[str]
    language: str | None
    mode: str
    group: str | None
    owners: list[str]


class ContactIn(Strict):
    """A new contact; identities map a channel to an address."""

    contact_id: (
        Annotated[
            str,
            StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$"),
            Trimmed,
        ]
        | None
    ) = None
    identities: dict[Channel, Address] = Field(default_factory=dict)
    tags: list[Tag] = Field(default_factory=list, max_length=100)
    fields: Fields = Field(default_factory=dict, max_length=100)
    language: Language | None = None


class ContactPatch(Strict):
    """Changes to a contact: tags added or removed, fields set (null removes), language."""

    add_tags: list[Tag] = Field(default_factory=list, max_length=100)
    remove_tags: list[Tag] = Field(default_factory=list, max_length=100)
    fields: Fields = Field(default_factory=dict, max_length=100)
    language: Language | None = None


class ContactOut(BaseModel):
    """A contact."""

    contact_id: str
    identities: dict[str, str]
    tags: list[str]
    fields: dict[str, Any]
    language: str | None


class ConversationOut(BaseModel):
    """A conversation's row and the parts of its state an operator filters on."""

    conversation_id: str
    contact_id: str
    channel: str
    started_at: datetime
    last_activity_at: datetime
    ended: bool
    version: int
    owner: str | None = Field(description="the assigned bot (none: the primary's)")
    bot_status: str = Field(description="the status of the owner, else of the primary")
    mode: str
    human: bool
    suggestions: dict[str, str] = Field(
        description="suggestions waiting for approval (none once the conversation is idle: "
        "they lapse with it)"
    )
    idle: bool = Field(
        False,
        description="no activity for longer than the idle timeout: the contact's next "
        "message ends it and starts a new conversation",
    )
    answering: str | None = Field(
        None,
        description="the bot that takes the contact's next message: the owner if it is "
        "active and serves the channel, else the primary; none when a human owns the "
        "conversation or no bot may answer",
    )
    answering_why: str = Field(
        "",
        description="why that bot, or why none (e.g. 'assigned bot sales is paused; "
        "primary takes over')",
    )


class Page(BaseModel):
    """A page of results; pass ``next_cursor`` as ``cursor`` for the next one."""

    next_cursor: str | None = None


class BotPage(Page):
    """Bots."""

    items: list[BotOut]


class ContactPage(Page):
    """Contacts."""

    items: list[ContactOut]


class ConversationPage(Page):
    """Conversations."""

    items: list[ConversationOut]


class EventOut(BaseModel):
    """One event of the log."""

    seq: int
    at: datetime
    type: str
    data: dict[str, Any]
    line: str | None = Field(
        None,
        description="the event as a transcript line; null for an event shown by another "
        "line (an intent by its flow's start, a slot by the answer) or that is plumbing "
        "(a delivery receipt): docs/events.md, 'Transcript lines'",
    )


class Span(BaseModel):
    """A stretch of the conversation one owner (a bot, or a human) held."""

    owner: str | None
    human: bool
    from_seq: int
    to_seq: int
    started_at: datetime
    ended_at: datetime


class Transcript(Page):
    """A conversation's events (a page) and, on the first page, its owner spans (of the
    whole log; later pages carry none)."""

    conversation: ConversationOut
    events: list[EventOut]
    spans: list[Span]


class ReplyOut(BaseModel):
    """A text that went out (or was stored as a suggestion)."""

    text: str
    bot_id: str | None
    sender: str
    suggestion_id: str | None = None


class FormIn(Strict):
    """A submitted form's fields."""

    fields: Fields = Field(default_factory=dict, max_length=100)


class AppointmentIn(Strict):
    """An appointment booked for a contact (by a bot, or from outside)."""

    bot_id: str | None = Field(None, min_length=1, max_length=100)
    details: dict[str, FieldValue] = Field(default_factory=dict, max_length=100)


class ChangeResult(BaseModel):
    """A contact change that ran as a turn: the contact after it, and what it did."""

    contact: ContactOut
    conversation_id: str
    events: list[str]
    replies: list[ReplyOut]


class ActionResult(BaseModel):
    """What an operator action did."""

    conversation_id: str
    events: list[str]
    replies: list[ReplyOut]
    conversation: ConversationOut


class AssignIn(Strict):
    """Make a bot the owner, optionally in a mode; it is set active for the contact, a
    stopped or paused one too."""

    bot_id: str = Field(min_length=1, max_length=100)
    mode: Literal["auto", "suggest"] | None = None
    reason: str = Field("", max_length=500)


class StatusIn(Strict):
    """Set a bot's status. Without ``bot_id``: a pause or a stop is for the bot the contact
    hears now (``answering``), ``active`` for the assigned bot, else the primary."""

    status: Literal["active", "paused", "stopped"]
    bot_id: str | None = Field(None, min_length=1, max_length=100)
    until: datetime | None = None


class ModeIn(Strict):
    """Set a bot's mode (default: the current owner)."""

    mode: Literal["auto", "suggest"]
    bot_id: str | None = Field(None, min_length=1, max_length=100)


class EscalateIn(Strict):
    """Give the conversation to a human."""

    reason: str = Field("", max_length=500)


class HumanMessageIn(Strict):
    """A human agent's message to the contact."""

    text: MessageText
    agent: str = Field("agent", min_length=1, max_length=100, pattern=VISIBLE)


class HandBackIn(Strict):
    """Give the conversation back to a bot (default: the owner, else the primary)."""

    bot_id: str | None = Field(None, min_length=1, max_length=100)


class EditIn(Strict):
    """The edited text of a suggestion."""

    text: MessageText
