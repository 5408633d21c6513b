"""A conversation's state: a fold of its events, snapshotted for speed.

The records a state holds are immutable (``@record``): an event replaces them, never changes
them in place, so ``ConversationState.copy()`` shares them and copies only
the containers (a few microseconds, where a deep copy costs half a
millisecond).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from baton.domain import events as ev
from baton.domain.record import record
from baton.domain.values import Payload, Value

#: messages a conversation keeps for bots' ``history`` (the snapshot carries them)
HISTORY_KEPT = 50
TRANSFERS_KEPT = 10
RUNS_KEPT = 200


@record
class FlowPosition:
    """Where a bot's active flow stands: the step it waits at, if any."""

    flow: str
    step: int = 0
    slot: str | None = None
    attempt: int = 0


#: a call frame's ``owner`` when it was not recorded: the return gives the conversation
#: to the caller (as returns did before frames kept the owner)
CALLER = "\x00caller"


@record
class CallFrame:
    """A suspended caller, resumed when its callee returns; ``inputs`` are the call's,
    readable by the callee (``inputs.*``) until it returns, whatever turn it is in."""

    caller: str
    callee: str
    caller_flow: str | None
    caller_step: int
    inputs: Payload = field(default_factory=dict)
    #: the conversation's owner when the call began, given back on the return (None: the
    #: primary was answering unassigned, and stays so); ``CALLER`` in older snapshots
    owner: str | None = CALLER


@record
class StatusEntry:
    """A bot's status for this contact, with an optional release time (ISO 8601), and who
    set it (``human_takeover``: a human agent's message paused it for this conversation)."""

    status: str
    until: str | None = None
    by: str = ""


#: the status of a bot nobody changed (immutable, so one instance serves every state)
ACTIVE = StatusEntry("active")


@record
class HistoryLine:
    """One message in the conversation as bots may see it."""

    role: str
    text: str
    bot_id: str | None = None


@record
class TransferMark:
    """A past transfer, kept to detect ping-pong."""

    turn: int
    from_bot: str
    to_bot: str


@record
class PendingTimer:
    """A durable timer not yet fired or cancelled (due_at is ISO 8601)."""

    kind: str
    workflow: str
    due_at: str
    resume_at: int = 0


@dataclass(slots=True)
class ConversationState:
    """Everything a turn needs to know, derived only from the event log."""

    version: int = 0
    channel: str = ""
    owner: str | None = None
    statuses: dict[str, StatusEntry] = field(default_factory=dict)
    modes: dict[str, str] = field(default_factory=dict)
    call_stack: list[CallFrame] = field(default_factory=list)
    slots: dict[str, dict[str, Value]] = field(default_factory=dict)
    context: dict[str, Value] = field(default_factory=dict)
    contact_context: dict[str, Value] = field(default_factory=dict)
    flows: dict[str, FlowPosition] = field(default_factory=dict)
    escalated: bool = False
    ended: bool = False
    turns: int = 0
    history: list[HistoryLine] = field(default_factory=list)
    transfers: list[TransferMark] = field(default_factory=list)
    suggestions: dict[str, str] = field(default_factory=dict)
    timers: dict[str, PendingTimer] = field(default_factory=dict)
    workflow_runs: list[str] = field(default_factory=list)
    human: str | None = None
    human_until: str | None = None

    def apply(self, event: ev.Event) -> None:
        """Fold one event into the state."""
        handler = _APPLY.get(type(event))
        if handler is not None:
            handler(self, event)

    def apply_all(self, events: list[ev.Event]) -> None:
        """Fold events in order."""
        for event in events:
            self.apply(event)

    def copy(self) -> ConversationState:
        """Return an independent copy (for a turn to work on).

        Every container is new; the records in them (statuses, frames, flow
        positions, history lines, transfer marks, timers) are immutable, and the
        values are scalars, so they are shared.
        """
        return ConversationState(
            version=self.version,
            channel=self.channel,
            owner=self.owner,
            statuses=dict(self.statuses),
            modes=dict(self.modes),
            call_stack=list(self.call_stack),
            slots={bot: dict(values) for bot, values in self.slots.items()},
            context=dict(self.context),
            contact_context=dict(self.contact_context),
            flows=dict(self.flows),
            escalated=self.escalated,
            ended=self.ended,
            turns=self.turns,
            history=list(self.history),
            transfers=list(self.transfers),
            suggestions=dict(self.suggestions),
            timers=dict(self.timers),
            workflow_runs=list(self.workflow_runs),
            human=self.human,
            human_until=self.human_until,
        )

    def to_dict(self) -> dict[str, Any]:
        """Serialize for a snapshot."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConversationState:
        """Rebuild from a snapshot."""
        return cls(
            version=data["version"],
            channel=data["channel"],
            owner=data["owner"],
            statuses={k: StatusEntry(**v) for k, v in data["statuses"].items()},
            modes=dict(data["modes"]),
            call_stack=[CallFrame(**f) for f in data["call_stack"]],
            slots={k: dict(v) for k, v in data["slots"].items()},
            context=dict(data["context"]),
            contact_context=dict(data["contact_context"]),
            flows={k: FlowPosition(**v) for k, v in data["flows"].items()},
            escalated=data["escalated"],
            ended=data["ended"],
            turns=data["turns"],
            history=[HistoryLine(**h) for h in data["history"]],
            transfers=[TransferMark(**t) for t in data["transfers"]],
            suggestions=dict(data["suggestions"]),
            timers={k: PendingTimer(**v) for k, v in data.get("timers", {}).items()},
            workflow_runs=list(data.get("workflow_runs", [])),
            human=data.get("human"),
            human_until=data.get("human_until"),
        )

    def status_of(self, bot_id: str) -> StatusEntry:
        """The bot's status for this contact (active unless changed)."""
        return self.statuses.get(bot_id) or ACTIVE

    def mode_of(self, bot_id: str, default: str) -> str:
        """The bot's mode for this contact, or its project default."""
        return self.modes.get(bot_id, default)


def fold(events: list[ev.Event], start: ConversationState | None = None) -> ConversationState:
    """Return the state after ``events`` (on top of ``start`` if given)."""
    state = start.copy() if start is not None else ConversationState()
    state.apply_all(events)
    return state


def _remember(state: ConversationState, line: HistoryLine) -> None:
    state.history.append(line)
    if len(state.history) > HISTORY_KEPT:
        del state.history[0]


def _started(s: ConversationState, e: ev.ConversationStarted) -> None:
    s.channel = e.channel
    # carried from the contact's previous conversation: they last again at the next end
    s.statuses = {
        k: StatusEntry(v, e.paused_until.get(k), "carried") for k, v in e.statuses.items()
    }
    s.modes = dict(e.modes)
    s.contact_context = dict(e.contact_context)


def _ended(s: ConversationState, e: ev.ConversationEnded) -> None:
    s.ended = True
    s.timers.clear()


def _received(s: ConversationState, e: ev.MessageReceived) -> None:
    s.turns += 1
    _remember(s, HistoryLine("user", e.text))


def _sent(s: ConversationState, e: ev.MessageSent) -> None:
    _remember(s, HistoryLine(e.sender, e.text, e.bot_id))


def _assigned(s: ConversationState, e: ev.BotAssigned) -> None:
    s.owner = e.bot_id
    s.modes[e.bot_id] = e.mode
    s.statuses[e.bot_id] = ACTIVE
    s.call_stack.clear()


def _transferred(s: ConversationState, e: ev.BotTransferred) -> None:
    s.owner = e.to_bot
    s.call_stack.clear()  # a transfer leaves any open call: nobody returns to its caller
    s.transfers.append(TransferMark(s.turns, e.from_bot, e.to_bot))
    if len(s.transfers) > TRANSFERS_KEPT:
        del s.transfers[0]


def _called(s: ConversationState, e: ev.BotCalled) -> None:
    frame = CallFrame(e.caller, e.callee, e.caller_flow, e.caller_step, e.inputs, s.owner)
    s.call_stack.append(frame)
    s.owner = e.callee


def _returned(s: ConversationState, e: ev.BotReturned) -> None:
    """The caller holds the conversation again as it did before the call: a primary that
    was answering unassigned is not made the assigned bot by calling another."""
    frame = s.call_stack.pop() if s.call_stack else None
    restored = frame is not None and frame.caller == e.to_bot and frame.owner != CALLER
    s.owner = frame.owner if frame is not None and restored else e.to_bot


def _call_abandoned(s: ConversationState, e: ev.CallAbandoned) -> None:
    if s.call_stack and s.call_stack[-1].callee == e.callee:
        s.call_stack.pop()
    if e.owner is not None:
        s.owner = e.owner


def _status(s: ConversationState, e: ev.BotStatusChanged) -> None:
    s.statuses[e.bot_id] = StatusEntry(e.status, e.until, e.by)
    if e.status == "active" and s.human is not None and e.bot_id == (s.owner or e.bot_id):
        s.human = None
        s.human_until = None


def _took_over(s: ConversationState, e: ev.HumanTookOver) -> None:
    s.human = e.agent
    s.human_until = e.until


def _workflow_ran(s: ConversationState, e: ev.WorkflowTriggered) -> None:
    s.workflow_runs.append(e.at)
    if len(s.workflow_runs) > RUNS_KEPT:
        del s.workflow_runs[0]


def _timer_set(s: ConversationState, e: ev.TimerScheduled) -> None:
    s.timers[e.timer_id] = PendingTimer(e.kind, e.workflow, e.due_at, e.resume_at)


def _timer_done(s: ConversationState, e: ev.TimerFired | ev.TimerCancelled) -> None:
    s.timers.pop(e.timer_id, None)


def _mode(s: ConversationState, e: ev.ModeChanged) -> None:
    s.modes[e.bot_id] = e.mode


def _flow_started(s: ConversationState, e: ev.FlowStarted) -> None:
    s.flows[e.bot_id] = FlowPosition(e.flow)


def _asked(s: ConversationState, e: ev.QuestionAsked) -> None:
    s.flows[e.bot_id] = FlowPosition(e.flow, e.step, e.slot, e.attempt)


def _rejected_answer(s: ConversationState, e: ev.AnswerRejected) -> None:
    position = s.flows.get(e.bot_id)
    if position is not None:
        s.flows[e.bot_id] = dataclasses.replace(position, attempt=e.attempt)


def _flow_ended(s: ConversationState, e: ev.FlowEnded) -> None:
    s.flows.pop(e.bot_id, None)


def _slot(s: ConversationState, e: ev.SlotSet) -> None:
    s.slots.setdefault(e.bot_id, {})[e.name] = e.value


def _context(s: ConversationState, e: ev.ContextSet) -> None:
    s.context[e.key] = e.value
    if e.scope == "contact":
        s.contact_context[e.key] = e.value


def _escalated(s: ConversationState, e: ev.Escalated) -> None:
    s.escalated = True


def _handed_back(s: ConversationState, e: ev.HandedBack) -> None:
    s.escalated = False
    s.human = None
    s.human_until = None
    s.owner = e.to_bot
    s.statuses[e.to_bot] = ACTIVE


def _suggested(s: ConversationState, e: ev.SuggestionCreated) -> None:
    s.suggestions[e.suggestion_id] = e.text


def _resolved(s: ConversationState, e: ev.SuggestionResolved) -> None:
    s.suggestions.pop(e.suggestion_id, None)


_APPLY: dict[type[ev.Event], Any] = {
    ev.ConversationStarted: _started,
    ev.ConversationEnded: _ended,
    ev.MessageReceived: _received,
    ev.MessageSent: _sent,
    ev.BotAssigned: _assigned,
    ev.BotTransferred: _transferred,
    ev.BotCalled: _called,
    ev.BotReturned: _returned,
    ev.CallAbandoned: _call_abandoned,
    ev.BotStatusChanged: _status,
    ev.ModeChanged: _mode,
    ev.FlowStarted: _flow_started,
    ev.QuestionAsked: _asked,
    ev.AnswerRejected: _rejected_answer,
    ev.FlowEnded: _flow_ended,
    ev.SlotSet: _slot,
    ev.ContextSet: _context,
    ev.Escalated: _escalated,
    ev.HandedBack: _handed_back,
    ev.SuggestionCreated: _suggested,
    ev.SuggestionResolved: _resolved,
    ev.HumanTookOver: _took_over,
    ev.WorkflowTriggered: _workflow_ran,
    ev.TimerScheduled: _timer_set,
    ev.TimerFired: _timer_done,
    ev.TimerCancelled: _timer_done,
}
