"""What the router hands a bot for one step of a turn, and what the bot answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from baton.domain.events import Event
from baton.domain.ports import IntentMatch
from baton.domain.record import record
from baton.domain.records import Contact
from baton.domain.state import FlowPosition, HistoryLine
from baton.domain.values import Payload, Value

EntryKind = Literal["message", "transferred", "called", "returned", "assigned"]


@record
class BotTurn:
    """Everything a bot may see when it acts: never another bot's private slots."""

    bot_id: str
    text: str
    entry: EntryKind
    slots: dict[str, Value]
    context: dict[str, Value]
    contact: Contact
    history: tuple[HistoryLine, ...] = ()
    position: FlowPosition | None = None
    intent: IntentMatch | None = None
    #: the flow to start: a call's, or the start_flow a transfer's message starts
    flow: str | None = None
    inputs: Payload = field(default_factory=dict)
    outputs: Payload = field(default_factory=dict)
    resume_flow: str | None = None
    resume_step: int = 0
    today: str = ""
    #: the contact's messages in this conversation so far (texts with variants rotate on it)
    turn: int = 0
    #: the router asked the group and no other bot clearly claims the message: act on the
    #: bot's own reading (an answer to the open question, or the bot's own intent)
    settled: bool = False


@record
class Transfer:
    """Move ownership to ``to``; with ``with_message`` the target handles the message.

    ``refused`` is said instead of the bot's fallback if the router refuses the handover.
    """

    to: str
    with_message: bool = False
    context_keys: tuple[str, ...] = ()
    refused: str | None = None


@record
class Call:
    """Run ``bot`` and come back to ``caller_flow`` after ``caller_step``."""

    bot: str
    flow: str | None
    inputs: Payload
    caller_flow: str | None
    caller_step: int
    refused: str | None = None


@record
class Return:
    """Finish a call and give ``outputs`` to the caller."""

    outputs: Payload


@record
class Escalate:
    """Hand the conversation to a human."""

    reason: str


#: how far above a bot's threshold a match must be to leave an open question (a topic
#: switch), within the bot or to another bot
SWITCH_MARGIN = 0.25
#: the threshold a clear claim is measured from is never below this: a tuned threshold of
#: 0.0 (similarity doing the gating) would make a match at 0.25 "clear" and let any vague
#: reading take an answer away from its question
CLEAR_FLOOR = 0.5


def clear_bar(threshold: float, margin: float = SWITCH_MARGIN) -> float:
    """The confidence a match needs to be a clear claim on a bot of this ``threshold``."""
    return max(threshold, CLEAR_FLOOR) + margin


#: a bot's own intent match this sure is acted on without asking the group's index whether
#: another bot claims the message more clearly (a cross-check costs a group classification,
#: 36-120 µs a message; on CLINC150, checking only matches below this still reroutes 122 of
#: the 149 foreign messages that checking every match reroutes, and moves 2 rightly answered
#: messages away instead of 5)
OWN_SURE = 0.95
#: an answer the open question accepts can still be a topic switch when it has at least this
#: many words ("Sam", "250" or "yes please" never leave; "I need a loan for my company" may)
SWITCH_MIN_WORDS = 3


@record
class Unmatched:
    """The bot has no intent for the message; collaboration may find one.

    With ``clear_switch_only`` the bot has already answered (an open question's reprompt):
    another bot takes the message only if it claims it clearly (a topic switch), and then
    the bot's answer is dropped; otherwise the answer stands and nothing else happens.
    """

    reason: str = "no_intent"
    clear_switch_only: bool = False
    #: with ``clear_switch_only``: the bot has a reading of the message (an answer its open
    #: question accepts, or one of its own intents) but has done nothing yet; unless another
    #: bot clearly claims the message, the router runs the bot again with
    #: ``BotTurn.settled`` and the bot acts on its reading
    pending: bool = False


@record
class EndConversation:
    """Close the conversation."""

    reason: str = "ended_by_bot"


Directive = Transfer | Call | Return | Escalate | Unmatched | EndConversation


@dataclass(slots=True)
class BotOutcome:
    """A bot's answer: events to record, texts to say, and what happens next."""

    events: list[Event] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    directive: Directive | None = None
    #: why the bot gave up on this step (a failed action or template): the router records
    #: ``fallback_triggered`` with it and says the bot's fallback after ``replies``
    fallback: str | None = None


class Bot(Protocol):
    """A bot the router can hand a turn to."""

    @property
    def bot_id(self) -> str:
        """The bot's id (its namespace)."""

    async def handle(self, turn: BotTurn) -> BotOutcome:
        """Act on one step of a turn."""

    def fallback(self, turn: int = 0) -> str:
        """The text said when the bot can't help (``turn``: the contact's messages so far,
        which picks among variants)."""
