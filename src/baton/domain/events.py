"""The typed, past-tense events that make up a conversation's log.

Each event is an immutable record (``baton.domain.record``) with a unique ``type``
and a ``version``.
Events are registered explicitly in ``EVENT_TYPES``; ``docs/events.md``
documents every one of them (a test keeps the two in step).
"""

from __future__ import annotations

import dataclasses
from dataclasses import field
from datetime import datetime
from typing import Any, ClassVar, get_type_hints

from baton.domain.record import record
from baton.domain.values import BotStatusName, Mode, Payload, Scope, TransferReason, Value


@record
class Event:
    """Base of every event."""

    type: ClassVar[str] = "event"
    version: ClassVar[int] = 1


@record
class ConversationStarted(Event):
    """A new conversation opened; carries contact-level state from the previous one."""

    type: ClassVar[str] = "conversation_started"
    channel: str
    statuses: dict[str, str] = field(default_factory=dict)
    paused_until: dict[str, str] = field(default_factory=dict)
    modes: dict[str, str] = field(default_factory=dict)
    contact_context: Payload = field(default_factory=dict)
    previous_conversation: str | None = None


@record
class ConversationEnded(Event):
    """The conversation closed (idle, ended by a bot or an operator)."""

    type: ClassVar[str] = "conversation_ended"
    reason: str
    by: str = "router"


@record
class MessageReceived(Event):
    """The contact sent a message.

    ``text`` is at most the project's ``max_message_chars``: a longer message is kept up to
    the limit, and the ``MessageRejected`` after it holds its full length."""

    type: ClassVar[str] = "message_received"
    text: str
    channel: str
    message_id: str | None = None


@record
class MessageRejected(Event):
    """An inbound message was refused before routing (``reason``: empty, blank, too_long,
    unsupported_type, rate_limited)."""

    type: ClassVar[str] = "message_rejected"
    reason: str
    detail: str
    length: int
    preview: str = ""


@record
class MessageSent(Event):
    """A reply went to the contact, from a bot, a human agent or the system."""

    type: ClassVar[str] = "message_sent"
    text: str
    sender: str
    bot_id: str | None = None
    kind: str = "reply"


@record
class MessageHeld(Event):
    """A message reached no bot on purpose (bot paused or stopped, human owner)."""

    type: ClassVar[str] = "message_held"
    reason: str
    bot_id: str | None = None


@record
class SuggestionCreated(Event):
    """In suggestive mode, a bot's reply was stored for a human to approve."""

    type: ClassVar[str] = "suggestion_created"
    suggestion_id: str
    bot_id: str
    text: str


@record
class SuggestionResolved(Event):
    """A human approved, edited or discarded a suggestion."""

    type: ClassVar[str] = "suggestion_resolved"
    suggestion_id: str
    outcome: str
    text: str = ""
    by: str = "operator"


@record
class BotAssigned(Event):
    """A bot was made the conversation's owner (by an operator, a workflow, or start-up);
    ``from_bot`` held it before (None: no bot did, or it was this one): an assignment that
    moves the conversation is a transfer (``baton_transfers_total``, reason ``workflow``
    or ``api``)."""

    type: ClassVar[str] = "bot_assigned"
    bot_id: str
    mode: Mode
    by: str
    reason: str = ""
    from_bot: str | None = None


@record
class BotTransferred(Event):
    """Ownership moved from one bot to another; says why and what went along.

    ``message`` is the user's message that led to it and ``intent`` what it was read as
    (for a flow's transfer step: the intent that started that flow); ``carried`` says
    whether the target handled the message itself (a step's ``with_message``) or only
    took the conversation."""

    type: ClassVar[str] = "bot_transferred"
    from_bot: str
    to_bot: str
    reason: TransferReason
    message: str = ""
    intent: str | None = None
    confidence: float | None = None
    runner_up: str | None = None
    runner_up_confidence: float | None = None
    context_keys: tuple[str, ...] = ()
    handoff_message: str | None = None
    carried: bool = True


@record
class TransferRefused(Event):
    """A transfer or call could not happen; the user still got an answer."""

    type: ClassVar[str] = "transfer_refused"
    from_bot: str
    to_bot: str
    reason: str
    detail: str = ""


@record
class BotCalled(Event):
    """A bot called another; the caller resumes when the callee returns."""

    type: ClassVar[str] = "bot_called"
    caller: str
    callee: str
    inputs: Payload = field(default_factory=dict)
    caller_flow: str | None = None
    caller_step: int = 0


@record
class BotReturned(Event):
    """A called bot finished and handed its outputs back to its caller."""

    type: ClassVar[str] = "bot_returned"
    from_bot: str
    to_bot: str
    outputs: Payload = field(default_factory=dict)


@record
class CallAbandoned(Event):
    """A call ended without a return: the called bot left its flow for another topic
    (``topic_switch``: it keeps the conversation) or escalated (``escalated``), or the
    caller moved on from the flow that waited for it (``caller_moved_on``), or the callee
    was stopped for the contact (``callee_stopped``); ``owner`` holds the conversation
    afterwards (the caller, unless the topic switched)."""

    type: ClassVar[str] = "call_abandoned"
    caller: str
    callee: str
    reason: str = "topic_switch"
    owner: str | None = None


@record
class BotStatusChanged(Event):
    """A bot's status for this contact changed."""

    type: ClassVar[str] = "bot_status_changed"
    bot_id: str
    status: BotStatusName
    until: str | None = None
    by: str = "operator"


@record
class ModeChanged(Event):
    """A bot's mode for this contact changed (auto-pilot or suggestive)."""

    type: ClassVar[str] = "mode_changed"
    bot_id: str
    mode: Mode
    by: str = "operator"


@record
class IntentRecognized(Event):
    """A bot's classifier matched the message (or found nothing: intent is None)."""

    type: ClassVar[str] = "intent_recognized"
    bot_id: str
    intent: str | None
    confidence: float
    runner_up: str | None = None
    runner_up_confidence: float | None = None


@record
class FallbackTriggered(Event):
    """A bot could not handle the message and answered with its fallback."""

    type: ClassVar[str] = "fallback_triggered"
    bot_id: str
    reason: str


@record
class FlowStarted(Event):
    """A bot began a flow."""

    type: ClassVar[str] = "flow_started"
    bot_id: str
    flow: str
    intent: str | None = None


@record
class QuestionAsked(Event):
    """A flow asked for a slot and waits for the answer at ``step``."""

    type: ClassVar[str] = "question_asked"
    bot_id: str
    flow: str
    step: int
    slot: str
    attempt: int = 1


@record
class AnswerRejected(Event):
    """An answer failed the slot's validation."""

    type: ClassVar[str] = "answer_rejected"
    bot_id: str
    slot: str
    reason: str
    attempt: int


@record
class FlowEnded(Event):
    """A bot's flow finished (completed, gave up, left by a transfer)."""

    type: ClassVar[str] = "flow_ended"
    bot_id: str
    flow: str
    outcome: str


@record
class SlotSet(Event):
    """A bot stored a value in one of its private slots."""

    type: ClassVar[str] = "slot_set"
    bot_id: str
    name: str
    value: Value


@record
class ContextSet(Event):
    """A bot wrote a shared-context key, namespaced ``bot.key``."""

    type: ClassVar[str] = "context_set"
    key: str
    value: Value
    bot_id: str
    scope: Scope = "conversation"


@record
class ActionCompleted(Event):
    """A project action (Python callable) ran and returned."""

    type: ClassVar[str] = "action_completed"
    bot_id: str
    action: str
    result: Payload = field(default_factory=dict)
    elapsed_ms: float = 0.0


@record
class ActionFailed(Event):
    """A project action raised or timed out, or returned what its ``save_as`` slot can't
    hold (``kind`` ``bad_result``: no ``value``, or one of another type); the bot sent its
    fallback."""

    type: ClassVar[str] = "action_failed"
    bot_id: str
    action: str
    error: str
    kind: str = "error"


@record
class StepFailed(Event):
    """A flow step's template or condition could not be evaluated (a comparison with a
    value not set yet, say); the bot sent its fallback and the flow ended."""

    type: ClassVar[str] = "step_failed"
    bot_id: str
    flow: str
    step: int
    source: str
    error: str


@record
class BotActionFired(Event):
    """A flow fired a named bot action, for workflows to react to."""

    type: ClassVar[str] = "bot_action_fired"
    bot_id: str
    action: str
    payload: Payload = field(default_factory=dict)


@record
class Escalated(Event):
    """The conversation went to a human; bots stay silent until handed back."""

    type: ClassVar[str] = "escalated"
    by: str
    reason: str = ""
    bot_id: str | None = None


@record
class HandedBack(Event):
    """A human handed the conversation back to a bot."""

    type: ClassVar[str] = "handed_back"
    to_bot: str
    by: str = "operator"


@record
class TagAdded(Event):
    """A tag was added to the contact (by an operator, a form, a workflow)."""

    type: ClassVar[str] = "tag_added"
    tag: str
    by: str = "operator"


@record
class TagRemoved(Event):
    """A tag was removed from the contact."""

    type: ClassVar[str] = "tag_removed"
    tag: str
    by: str = "operator"


@record
class FieldUpdated(Event):
    """A custom field of the contact changed (``previous`` is the old value)."""

    type: ClassVar[str] = "field_updated"
    name: str
    value: Value
    previous: Value = None
    by: str = "operator"


@record
class LanguageDetected(Event):
    """The contact's language was detected from a message (and stored on the contact)."""

    type: ClassVar[str] = "language_detected"
    language: str
    confidence: float
    previous: str | None = None


@record
class FormSubmitted(Event):
    """A form was submitted for the contact; its fields were stored on the contact."""

    type: ClassVar[str] = "form_submitted"
    form: str
    fields: Payload = field(default_factory=dict)
    by: str = "api"


@record
class AppointmentBooked(Event):
    """An appointment was booked for the contact (by a bot's action or through the API)."""

    type: ClassVar[str] = "appointment_booked"
    bot_id: str | None = None
    details: Payload = field(default_factory=dict)
    by: str = "api"


@record
class HumanTookOver(Event):
    """A human agent spoke to the contact; the bot is paused (until ``until``, if set)."""

    type: ClassVar[str] = "human_took_over"
    agent: str
    bot_id: str | None = None
    until: str | None = None


@record
class WorkflowTriggered(Event):
    """A workflow's trigger matched and its conditions held; its actions run next."""

    type: ClassVar[str] = "workflow_triggered"
    workflow: str
    trigger: str
    at: str
    depth: int = 0
    conditions: tuple[str, ...] = ()
    detail: Payload = field(default_factory=dict)


@record
class WorkflowSkipped(Event):
    """A workflow's trigger matched but it did not run (conditions failed, disabled)."""

    type: ClassVar[str] = "workflow_skipped"
    workflow: str
    trigger: str
    reason: str
    failed: tuple[str, ...] = ()


@record
class WorkflowBoundReached(Event):
    """A workflow was not run: the re-trigger depth or the conversation's rate was reached."""

    type: ClassVar[str] = "workflow_bound_reached"
    workflow: str
    trigger: str
    bound: str
    limit: int
    detail: str = ""


@record
class WorkflowActionRan(Event):
    """One action of a workflow ran; ``detail`` says what it did."""

    type: ClassVar[str] = "workflow_action_ran"
    workflow: str
    index: int
    action: str
    detail: Payload = field(default_factory=dict)


@record
class WorkflowActionSkipped(Event):
    """One action of a workflow did not run, on purpose (e.g. a human owns the conversation)."""

    type: ClassVar[str] = "workflow_action_skipped"
    workflow: str
    index: int
    action: str
    reason: str


@record
class WorkflowActionFailed(Event):
    """One action of a workflow failed; the workflow stopped there."""

    type: ClassVar[str] = "workflow_action_failed"
    workflow: str
    index: int
    action: str
    error: str


@record
class WorkflowCompleted(Event):
    """A workflow run finished: ``completed``, ``waiting`` (on a timer) or ``failed``."""

    type: ClassVar[str] = "workflow_completed"
    workflow: str
    outcome: str
    ran: int = 0


@record
class TimerScheduled(Event):
    """A durable timer was set: a workflow's ``wait``, or a ``no_reply`` watch."""

    type: ClassVar[str] = "timer_scheduled"
    timer_id: str
    kind: str
    workflow: str
    due_at: str
    resume_at: int = 0


@record
class TimerFired(Event):
    """A timer came due and fired (once: the append of this event is the claim)."""

    type: ClassVar[str] = "timer_fired"
    timer_id: str
    kind: str
    workflow: str


@record
class TimerCancelled(Event):
    """A pending timer was dropped (the contact replied, it was replaced)."""

    type: ClassVar[str] = "timer_cancelled"
    timer_id: str
    reason: str


@record
class MessageDelivered(Event):
    """The provider accepted a reply queued in the outbox (``seq`` is its ``message_sent``)."""

    type: ClassVar[str] = "message_delivered"
    seq: int
    channel: str
    provider_id: str = ""
    idempotency_key: str = ""


@record
class DeliveryFailed(Event):
    """A reply could not be delivered after its retries, or the provider refused it."""

    type: ClassVar[str] = "delivery_failed"
    seq: int
    channel: str
    reason: str
    attempts: int = 1


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (
        ConversationStarted,
        ConversationEnded,
        MessageReceived,
        MessageRejected,
        MessageSent,
        MessageHeld,
        SuggestionCreated,
        SuggestionResolved,
        BotAssigned,
        BotTransferred,
        TransferRefused,
        BotCalled,
        BotReturned,
        CallAbandoned,
        BotStatusChanged,
        ModeChanged,
        IntentRecognized,
        FallbackTriggered,
        FlowStarted,
        QuestionAsked,
        AnswerRejected,
        FlowEnded,
        SlotSet,
        ContextSet,
        ActionCompleted,
        ActionFailed,
        StepFailed,
        BotActionFired,
        Escalated,
        HandedBack,
        TagAdded,
        TagRemoved,
        FieldUpdated,
        LanguageDetected,
        FormSubmitted,
        AppointmentBooked,
        HumanTookOver,
        WorkflowTriggered,
        WorkflowSkipped,
        WorkflowBoundReached,
        WorkflowActionRan,
        WorkflowActionSkipped,
        WorkflowActionFailed,
        WorkflowCompleted,
        TimerScheduled,
        TimerFired,
        TimerCancelled,
        MessageDelivered,
        DeliveryFailed,
    )
}


@record
class RecordedEvent:
    """An event as stored: its place in the log and when it was appended."""

    seq: int
    at: datetime
    event: Event


def event_to_dict(event: Event) -> dict[str, Any]:
    """Serialize an event's fields (without its type) to JSON-ready data."""
    return {f.name: _plain(getattr(event, f.name)) for f in dataclasses.fields(event)}


def event_from_dict(type_name: str, data: dict[str, Any]) -> Event:
    """Build an event from its type name and stored fields."""
    cls = EVENT_TYPES[type_name]
    hints = _hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            value = data[f.name]
            if isinstance(value, list) and "tuple" in str(hints[f.name]):
                value = tuple(value)
            kwargs[f.name] = value
    return cls(**kwargs)


_HINTS: dict[type[Event], dict[str, Any]] = {}


def _hints(cls: type[Event]) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = get_type_hints(cls)
    return _HINTS[cls]


def _plain(value: object) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value
