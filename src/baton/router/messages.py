"""Normalized inbound messages, operator commands and turn results."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from baton.domain.errors import BatonError
from baton.domain.events import Event
from baton.domain.ids import DEFAULT_ACCOUNT
from baton.domain.record import record
from baton.domain.values import Mode, Payload, Value

#: the reason of ``/new``: end what is open, if anything
NEW_CONVERSATION = "new_conversation"


class CommandRefused(BatonError):
    """An operator command that can't be applied as given; the message says why and the fix."""


class NothingToHandBack(CommandRefused):
    """A hand-back of a conversation no human agent holds."""


class UnknownSuggestion(CommandRefused):
    """A suggestion id that names no suggestion waiting in the conversation (mistyped, or
    approved, edited or discarded already)."""


class AlreadyTakenIn(BatonError):
    """A message the channel had taken in before (a retry of one with the same id), found
    once the sender's locks were held: its turn ran, or ran meanwhile, and is not run
    again (``Router.handle``'s ``taken_in``)."""


class ConversationGone(BatonError):
    """A command meant for a conversation that ended (or that a newer one replaced) before
    the command's turn could take the contact's lock."""


@record
class Inbound:
    """A contact's message, as every channel adapter normalizes it."""

    channel: str
    address: str
    text: str
    account_id: str = DEFAULT_ACCOUNT
    message_id: str | None = None
    unsupported: str | None = None  # a message type the channel can't carry as text
    #: the sender was over its rate limit: the message is kept, rejected, not answered
    #: (a provider's batch is not refused whole for one sender, nor retried)
    rate_limited: bool = False


@record
class Reply:
    """A text that went out this turn (or was stored as a suggestion)."""

    text: str
    bot_id: str | None
    sender: str = "bot"
    kind: str = "reply"
    suggestion_id: str | None = None


@dataclass(slots=True)
class TurnResult:
    """What one turn (a message or an operator action) did."""

    conversation_id: str
    contact_id: str
    events: list[Event] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    rejected: str | None = None
    #: the conversation's version after the turn: ``events`` are its last ones, so the
    #: i-th has the log's seq ``version - len(events) + 1 + i`` (0: not known)
    version: int = 0

    @property
    def sent(self) -> list[Reply]:
        """Replies actually sent (not suggestions)."""
        return [r for r in self.replies if r.suggestion_id is None]


@record
class Assign:
    """Make ``bot_id`` the owner, in ``mode``."""

    bot_id: str
    mode: Mode | None = None
    by: str = "operator"
    reason: str = ""


@record
class SetStatus:
    """Set a bot's status for the contact. Without a bot: a pause or a stop is for the bot
    the contact hears now (the primary while the assigned bot is stopped), ``active`` for
    the assigned bot, else the primary."""

    status: Literal["active", "paused", "stopped"]
    bot_id: str | None = None
    until: str | None = None
    by: str = "operator"


@record
class SetMode:
    """Set a bot's mode for the contact (default: the current owner)."""

    mode: Mode
    bot_id: str | None = None
    by: str = "operator"


@record
class EscalateToHuman:
    """Give the conversation to a human agent."""

    reason: str = ""
    by: str = "operator"


@record
class HandBack:
    """Give the conversation back to a bot (default: the owner, else the primary)."""

    bot_id: str | None = None
    by: str = "operator"


#: suggestion ids that mean the oldest one still waiting (what a bare `/approve` takes,
#: so approving one by one sends a bot's replies in the order it wrote them) and the
#: latest (ids change on every run: a story, or an operator at the terminal, can't name
#: one in advance)
NEXT_SUGGESTION = "next"
LATEST_SUGGESTION = "last"


@record
class HumanMessage:
    """A human agent's message to the contact."""

    text: str
    agent: str = "agent"


@record
class ResolveSuggestion:
    """Approve, edit or discard a stored suggestion."""

    suggestion_id: str
    outcome: Literal["approved", "edited", "discarded"]
    text: str = ""
    by: str = "operator"


@record
class EndConversation:
    """Close the conversation; the next message starts a new one. ``/new`` is this with
    reason ``new_conversation``, and is a no-op when nothing is open (an ``/end`` then is
    refused)."""

    reason: str = "ended_by_operator"
    by: str = "operator"


@record
class AddTag:
    """Add a tag to the contact."""

    tag: str
    by: str = "operator"


@record
class RemoveTag:
    """Remove a tag from the contact."""

    tag: str
    by: str = "operator"


@record
class SetField:
    """Set a custom field of the contact."""

    name: str
    value: Value
    by: str = "operator"


@record
class SubmitForm:
    """A form submitted for the contact: its fields are stored on the contact."""

    form: str
    fields: Payload = field(default_factory=dict)
    by: str = "api"


@record
class BookAppointment:
    """Record an appointment booked for the contact."""

    bot_id: str | None = None
    details: Payload = field(default_factory=dict)
    by: str = "api"


Command = (
    Assign
    | SetStatus
    | SetMode
    | EscalateToHuman
    | HandBack
    | HumanMessage
    | ResolveSuggestion
    | EndConversation
    | AddTag
    | RemoveTag
    | SetField
    | SubmitForm
    | BookAppointment
)
