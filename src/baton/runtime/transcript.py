"""A conversation's log as readable lines, with bot spans and the reasons for handovers."""

from __future__ import annotations

from baton.domain import events as ev

_SHOWN = (
    ev.MessageReceived,
    ev.MessageSent,
    ev.MessageRejected,
    ev.MessageHeld,
    ev.SuggestionCreated,
    ev.BotTransferred,
    ev.TransferRefused,
    ev.BotCalled,
    ev.BotReturned,
    ev.BotAssigned,
    ev.BotStatusChanged,
    ev.ModeChanged,
    ev.Escalated,
    ev.HandedBack,
    ev.FallbackTriggered,
    ev.ActionFailed,
    ev.ConversationStarted,
    ev.ConversationEnded,
    ev.TagAdded,
    ev.TagRemoved,
    ev.FieldUpdated,
    ev.LanguageDetected,
    ev.FormSubmitted,
    ev.AppointmentBooked,
    ev.HumanTookOver,
    ev.WorkflowTriggered,
    ev.WorkflowSkipped,
    ev.WorkflowBoundReached,
    ev.WorkflowActionSkipped,
    ev.WorkflowActionFailed,
    ev.TimerScheduled,
    ev.TimerFired,
)


def describe(event: ev.Event) -> str | None:
    """One line for the events a person reads in a transcript (None for the rest)."""
    if isinstance(event, ev.MessageReceived):
        return f"user: {event.text}"
    if isinstance(event, ev.MessageSent):
        who = event.bot_id or event.sender
        return f"  [{who}] {event.text}"
    if isinstance(event, ev.SuggestionCreated):
        return f"  [{event.bot_id}] (suggestion {event.suggestion_id}) {event.text}"
    if isinstance(event, ev.MessageRejected):
        return f"  ! message rejected: {event.detail}"
    if isinstance(event, ev.MessageHeld):
        return f"  · held: {event.reason}"
    if isinstance(event, ev.BotTransferred):
        intent = f", intent {event.intent} ({event.confidence})" if event.intent else ""
        return f"  → {event.from_bot} transferred to {event.to_bot} ({event.reason}{intent})"
    if isinstance(event, ev.TransferRefused):
        return f"  ✗ {event.from_bot} → {event.to_bot} refused: {event.detail or event.reason}"
    if isinstance(event, ev.BotCalled):
        return f"  ↳ {event.caller} called {event.callee}"
    if isinstance(event, ev.BotReturned):
        return f"  ↲ {event.from_bot} returned to {event.to_bot} {event.outputs or ''}".rstrip()
    if isinstance(event, ev.BotAssigned):
        return f"  ⚑ {event.bot_id} assigned ({event.mode}) by {event.by}"
    if isinstance(event, ev.BotStatusChanged):
        until = f" until {event.until}" if event.until else ""
        return f"  ⚑ {event.bot_id} is now {event.status}{until} ({event.by})"
    if isinstance(event, ev.ModeChanged):
        return f"  ⚑ {event.bot_id} mode {event.mode}"
    if isinstance(event, ev.Escalated):
        return f"  ☎ escalated to a human by {event.by}: {event.reason}".rstrip(": ")
    if isinstance(event, ev.HandedBack):
        return f"  ☎ handed back to {event.to_bot}"
    if isinstance(event, ev.FallbackTriggered):
        return f"  ? {event.bot_id} fallback: {event.reason}"
    if isinstance(event, ev.ActionFailed):
        return f"  ! action {event.action} failed: {event.error}"
    if isinstance(event, ev.ConversationStarted):
        return f"— conversation started on {event.channel}"
    if isinstance(event, ev.ConversationEnded):
        return f"— conversation ended ({event.reason})"
    return _contact_and_workflow(event)


def _contact_and_workflow(event: ev.Event) -> str | None:
    if isinstance(event, ev.TagAdded | ev.TagRemoved):
        sign = "+" if isinstance(event, ev.TagAdded) else "-"
        return f"  # tag {sign}{event.tag} ({event.by})"
    if isinstance(event, ev.FieldUpdated):
        return f"  # field {event.name} = {event.value!r} ({event.by})"
    if isinstance(event, ev.LanguageDetected):
        return f"  # language {event.language} ({event.confidence:.2f})"
    if isinstance(event, ev.FormSubmitted):
        return f"  # form {event.form} submitted {event.fields}"
    if isinstance(event, ev.AppointmentBooked):
        return f"  # appointment booked {event.details} ({event.by})"
    if isinstance(event, ev.HumanTookOver):
        until = f" until {event.until}" if event.until else ""
        return f"  ☎ {event.agent} took over; {event.bot_id or 'the bot'} paused{until}"
    if isinstance(event, ev.WorkflowTriggered):
        return f"  ⚙ workflow {event.workflow} ({event.trigger}, depth {event.depth})"
    if isinstance(event, ev.WorkflowSkipped):
        failed = f": {'; '.join(event.failed)}" if event.failed else ""
        return f"  ⚙ workflow {event.workflow} skipped ({event.reason}{failed})"
    if isinstance(event, ev.WorkflowBoundReached):
        return f"  ! workflow {event.workflow} not run: {event.bound} bound {event.limit}"
    if isinstance(event, ev.WorkflowActionSkipped):
        return f"  ⚙ {event.workflow}: {event.action} skipped ({event.reason})"
    if isinstance(event, ev.WorkflowActionFailed):
        return f"  ! {event.workflow}: {event.action} failed: {event.error}"
    if isinstance(event, ev.TimerScheduled):
        return f"  ⏲ {event.kind} timer for {event.workflow} due {event.due_at}"
    if isinstance(event, ev.TimerFired):
        return f"  ⏲ {event.kind} timer for {event.workflow} fired"
    return None


def render(events: list[ev.Event]) -> list[str]:
    """The readable lines of a log."""
    return [line for e in events if isinstance(e, _SHOWN) and (line := describe(e))]
