"""A conversation's log as readable lines, with bot spans and the reasons for handovers."""

from __future__ import annotations

from baton.domain import events as ev

#: events with no line of their own: what they record is on another line, or is plumbing
#: (docs/events.md, "Transcript lines", says why for each)
SILENT = (
    ev.IntentRecognized,
    ev.QuestionAsked,
    ev.SlotSet,
    ev.ContextSet,
    ev.ActionCompleted,
    ev.WorkflowCompleted,
    ev.MessageDelivered,
)
#: flow ends a reader sees anyway: the reply that completes it, the transfer line
_PLAIN_ENDS = ("completed", "transferred")
#: workflow actions whose effect has its own line (a message, a tag, an assignment...)
_SHOWN_BY_EFFECT = ("send", "assign", "set_status", "wait", "escalate", "end")


def describe(event: ev.Event) -> str | None:
    """One line for an event a person reads in a transcript (None: ``SILENT``, or a workflow
    action whose effect has its own line)."""
    if isinstance(event, ev.MessageReceived):
        return f"user: {event.text}"
    if isinstance(event, ev.MessageSent):
        who = event.bot_id or event.sender
        return f"  [{who}] {event.text}"
    if isinstance(event, ev.SuggestionCreated):
        return f"  [{event.bot_id}] (suggestion {event.suggestion_id}) {event.text}"
    if isinstance(event, ev.SuggestionResolved):
        return f"  ⚑ suggestion {event.suggestion_id} {event.outcome} by {event.by}"
    if isinstance(event, ev.MessageRejected):
        return f"  ! message rejected: {event.detail}"
    if isinstance(event, ev.MessageHeld):
        return f"  · held: {event.reason}"
    if isinstance(event, ev.BotTransferred):
        sure = f" ({event.confidence})" if event.confidence is not None else ""
        intent = f", intent {event.intent}{sure}" if event.intent else ""
        return f"  → {event.from_bot} transferred to {event.to_bot} ({event.reason}{intent})"
    if isinstance(event, ev.TransferRefused):
        return f"  ✗ {event.from_bot} → {event.to_bot} refused: {event.detail or event.reason}"
    if isinstance(event, ev.BotCalled):
        return f"  ↳ {event.caller} called {event.callee}"
    if isinstance(event, ev.BotReturned):
        return f"  ↲ {event.from_bot} returned to {event.to_bot} {event.outputs or ''}".rstrip()
    if isinstance(event, ev.BotAssigned):
        moved = f", from {event.from_bot}" if event.from_bot else ""
        return f"  ⚑ {event.bot_id} assigned ({event.mode}) by {event.by}{moved}"
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
    if isinstance(event, ev.CallAbandoned):
        return f"  ↯ {event.callee} left the call of {event.caller} ({event.reason})"
    if isinstance(event, ev.StepFailed):
        return f"  ! {event.bot_id} flow {event.flow} step {event.step}: {event.error}"
    if isinstance(event, ev.DeliveryFailed):
        tries = f"{event.attempts} attempt{'s' if event.attempts != 1 else ''}"
        return f"  ! reply #{event.seq} not delivered on {event.channel} ({tries}): {event.reason}"
    if isinstance(event, ev.ConversationStarted):
        return f"— conversation started on {event.channel}"
    if isinstance(event, ev.ConversationEnded):
        return f"— conversation ended ({event.reason})"
    return _flow(event) or _contact_and_workflow(event)


def _flow(event: ev.Event) -> str | None:
    if isinstance(event, ev.FlowStarted):
        intent = f" (intent {event.intent})" if event.intent else ""
        return f"  ▸ {event.bot_id} flow {event.flow}{intent}"
    if isinstance(event, ev.FlowEnded):
        if event.outcome in _PLAIN_ENDS:
            return None
        return f"  ▪ {event.bot_id} flow {event.flow} {event.outcome.replace('_', ' ')}"
    if isinstance(event, ev.AnswerRejected):
        return f"  ? {event.bot_id} rejected the answer for {event.slot}: {event.reason}"
    if isinstance(event, ev.BotActionFired):
        return f"  · {event.bot_id} fired {event.action}"
    return None


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
        with_bot = f" with {event.bot_id}" if event.bot_id else ""
        return f"  # appointment booked{with_bot} {event.details} ({event.by})"
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
    if isinstance(event, ev.WorkflowActionRan):
        return _action_ran(event)
    if isinstance(event, ev.WorkflowActionSkipped):
        return f"  ⚙ {event.workflow}: {event.action} skipped ({event.reason})"
    if isinstance(event, ev.WorkflowActionFailed):
        return f"  ! {event.workflow}: {event.action} failed: {event.error}"
    if isinstance(event, ev.TimerScheduled):
        return f"  ⏲ {event.kind} timer for {event.workflow} due {event.due_at}"
    if isinstance(event, ev.TimerFired):
        return f"  ⏲ {event.kind} timer for {event.workflow} fired"
    if isinstance(event, ev.TimerCancelled):
        return f"  ⏲ timer cancelled ({event.reason.replace('_', ' ')})"
    return None


def _action_ran(event: ev.WorkflowActionRan) -> str | None:
    """A line for the workflow actions that left no other trace (a webhook, a no-op)."""
    detail = event.detail
    if event.action == "webhook":
        tries = detail.get("attempts")
        return (
            f"  ⚙ {event.workflow}: webhook {detail.get('url')} answered {detail.get('status')}"
            + (f" after {tries} attempts" if isinstance(tries, int) and tries > 1 else "")
        )
    if event.action in _SHOWN_BY_EFFECT or detail.get("changed", True):
        return None
    if event.action == "set_field":
        return f"  ⚙ {event.workflow}: field {detail.get('name')} already {detail.get('value')!r}"
    has = "already has" if event.action == "add_tag" else "does not have"
    return f"  ⚙ {event.workflow}: {event.action} {detail.get('tag')}: the contact {has} it"


def render(events: list[ev.Event]) -> list[str]:
    """The readable lines of a log."""
    return [line for e in events if (line := describe(e))]
