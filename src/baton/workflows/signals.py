"""What can start a workflow: signals derived from the events of a turn."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from baton.domain import events as ev
from baton.domain.state import ConversationState
from baton.domain.text import has_word
from baton.domain.values import Value
from baton.spec.workflow import TriggerSpec

APPOINTMENT_ACTION = "appointment_booked"


@dataclass(frozen=True, slots=True)
class Signal:
    """A trigger kind with the facts a trigger may test (``workflow``: aimed at one)."""

    kind: str
    data: dict[str, Value] = field(default_factory=dict)
    workflow: str | None = None


def signals_of(event: ev.Event, state: ConversationState) -> list[Signal]:
    """The signals an event raises (most events raise none)."""
    if isinstance(event, ev.TagAdded):
        return [Signal("tag_added", {"tag": event.tag})]
    if isinstance(event, ev.TagRemoved):
        return [Signal("tag_removed", {"tag": event.tag})]
    if isinstance(event, ev.FieldUpdated):
        data: dict[str, Value] = {"field": event.name, "value": event.value}
        return [Signal("field_updated", data | {"previous": event.previous})]
    if isinstance(event, ev.FormSubmitted):
        return [Signal("form_submitted", {"form": event.form})]
    if isinstance(event, ev.BotActionFired):
        fired = [Signal("bot_action", {"action": event.action, "bot": event.bot_id})]
        if event.action == APPOINTMENT_ACTION:
            fired.append(Signal("appointment_booked", {"bot": event.bot_id}))
        return fired
    if isinstance(event, ev.AppointmentBooked):
        return [Signal("appointment_booked", {"bot": event.bot_id})]
    if isinstance(event, ev.MessageReceived):
        first = state.turns <= 1
        return [
            Signal(
                "message_received", {"text": event.text, "channel": event.channel, "first": first}
            )
        ]
    if isinstance(event, ev.ConversationStarted):
        return [Signal("conversation_started", {"channel": event.channel})]
    if isinstance(event, ev.LanguageDetected):
        return [Signal("language_detected", {"language": event.language})]
    if isinstance(event, ev.TimerFired) and event.kind == "no_reply":
        return [Signal("no_reply", {}, workflow=event.workflow)]
    return []


def _one_of(value: Value, wanted: str | list[str] | None) -> bool:
    if wanted is None:
        return True
    options = [wanted] if isinstance(wanted, str) else wanted
    return value in options


def matches(name: str, trigger: TriggerSpec, signal: Signal) -> bool:
    """Whether ``signal`` starts the workflow ``name`` with this trigger."""
    kind = trigger.kind
    if kind != signal.kind:
        return False
    data = signal.data
    if trigger.tag_added is not None or trigger.tag_removed is not None:
        return bool(data.get("tag") == trigger.value())
    if trigger.field_updated is not None:
        spec = trigger.field_updated
        if isinstance(spec, str):
            return data.get("field") == spec
        if data.get("field") != spec.field:
            return False
        return spec.to is None or data.get("value") in (
            spec.to if isinstance(spec.to, list) else [spec.to]
        )
    if trigger.form_submitted is not None:
        return data.get("form") == trigger.form_submitted
    if trigger.bot_action is not None:
        spec_action = trigger.bot_action
        if isinstance(spec_action, str):
            return data.get("action") == spec_action
        return data.get("action") == spec_action.action and (
            spec_action.bot is None or data.get("bot") == spec_action.bot
        )
    if trigger.message_received is not None:
        return _message(trigger, data)
    if trigger.conversation_started is not None:
        return _one_of(data.get("channel"), trigger.conversation_started.channel)
    if trigger.language_detected is not None:
        spec_language = trigger.language_detected
        wanted = spec_language if isinstance(spec_language, str) else spec_language.language
        return _one_of(data.get("language"), wanted)
    if trigger.appointment_booked is not None:
        bot = trigger.appointment_booked.bot
        return bot is None or data.get("bot") == bot
    if trigger.no_reply is not None:
        return signal.workflow == name
    return False  # pragma: no cover - every kind is handled above


def _message(trigger: TriggerSpec, data: dict[str, Value]) -> bool:
    spec = trigger.message_received
    if spec is None:
        return False
    text = str(data.get("text") or "")
    if not _one_of(data.get("channel"), spec.channel):
        return False
    if spec.first and not data.get("first"):
        return False
    if spec.keyword is not None:
        words = [spec.keyword] if isinstance(spec.keyword, str) else spec.keyword
        if not any(has_word(text, w) for w in words):
            return False
    return spec.pattern is None or re.search(spec.pattern, text, re.IGNORECASE) is not None
