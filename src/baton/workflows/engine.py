"""Runs workflows: match triggers, test conditions, run actions, record everything.

Order and bounds:

- Signals are handled first in, first out. The workflows a signal starts run
  in the order of their names; the signals their own actions raise are handled
  after, one level deeper. A run deeper than ``max_depth`` is not started and
  ``workflow_bound_reached`` (bound ``depth``) says so.
- A conversation runs at most ``max_runs`` workflows per ``window_minutes``;
  past that, ``workflow_bound_reached`` (bound ``rate``).
- A ``wait`` action schedules a durable timer and ends the run ``waiting``; when
  the timer fires, the run goes on from the next action (conditions are not
  tested again).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from baton.domain import events as ev
from baton.domain.ids import new_id
from baton.domain.records import Contact
from baton.domain.redact import redact_urls, redacted_url
from baton.domain.state import ConversationState
from baton.domain.values import BotStatusName, Mode, Value
from baton.spec.workflow import (
    ActionSpec,
    AssignAction,
    ConditionSpec,
    WorkflowFile,
    WorkflowSettings,
)
from baton.workflows.conditions import Facts, holds
from baton.workflows.signals import Signal, matches, signals_of
from baton.workflows.webhook import WebhookSender, post_webhook

HUMAN_OWNS = "a human agent owns the conversation"
ENDED = "the conversation ended"


class Host(Protocol):
    """The turn a workflow runs in (the router provides it)."""

    state: ConversationState
    contact: Contact
    events: list[ev.Event]
    now: datetime
    conversation_id: str

    def emit(self, event: ev.Event) -> None:
        """Record an event and fold it into the state."""

    def current_bot(self) -> str | None:
        """The bot that owns the conversation now (the primary when none is assigned)."""

    def mode_of_current(self) -> str:
        """The current bot's mode for the contact (``auto`` when there is no bot)."""

    def human_owns(self) -> bool:
        """Whether a human agent owns the conversation (escalated or taken over)."""

    def has_bot(self, bot_id: str) -> bool:
        """Whether the project has this bot."""

    def serves(self, bot_id: str) -> bool:
        """Whether the bot serves the conversation's channel."""

    async def assign(self, bot_id: str, mode: Mode | None, by: str) -> None:
        """Make ``bot_id`` the owner (the router decides whether it speaks now)."""

    async def send(self, text: str, by: str) -> None:
        """Send a text to the contact."""


class ActionError(Exception):
    """An action that could not be done; the run stops and records why."""


class WorkflowEngine:
    """The project's workflows, ready to react to a turn's events."""

    def __init__(
        self,
        workflows: Mapping[str, WorkflowFile],
        settings: WorkflowSettings,
        webhook: WebhookSender | None = None,
    ) -> None:
        self.workflows = dict(sorted(workflows.items()))
        self.settings = settings
        self.webhook: WebhookSender = webhook or post_webhook

    def uses(self, trigger: str) -> bool:
        """Whether some enabled workflow has this kind of trigger."""
        return any(w.enabled and w.trigger.kind == trigger for w in self.workflows.values())

    def no_reply_watches(self) -> dict[str, float]:
        """Workflows triggered by no reply, with their durations in minutes."""
        return {
            name: w.trigger.no_reply.minutes
            for name, w in self.workflows.items()
            if w.enabled and w.trigger.no_reply is not None
        }

    def uses_language(self) -> bool:
        """Whether a workflow triggers on, or tests, the contact's language."""
        if self.uses("language_detected"):
            return True
        return any(_tests_language(w.conditions) for w in self.workflows.values())

    async def react(self, host: Host, events: list[ev.Event], depth: int = 0) -> None:
        """Run the workflows that ``events`` trigger, and those their actions trigger."""
        queue: deque[tuple[Signal, int]] = deque(
            (signal, depth) for event in events for signal in signals_of(event, host.state)
        )
        while queue:
            signal, level = queue.popleft()
            for name, workflow in self.workflows.items():
                if not matches(name, workflow.trigger, signal):
                    continue
                start = len(host.events)
                await self._start(host, name, workflow, signal, level)
                for event in host.events[start:]:
                    queue.extend((s, level + 1) for s in signals_of(event, host.state))

    async def resume(self, host: Host, name: str, index: int) -> None:
        """Go on with a waiting run from action ``index`` (its timer fired)."""
        workflow = self.workflows.get(name)
        if workflow is None:
            host.emit(ev.WorkflowCompleted(name, "failed", 0))
            return
        start = len(host.events)
        await self._actions(host, name, workflow, index)
        await self.react(host, host.events[start:], depth=1)

    # -- one run --------------------------------------------------------------

    async def _start(
        self, host: Host, name: str, workflow: WorkflowFile, signal: Signal, depth: int
    ) -> None:
        trigger = signal.kind
        if not workflow.enabled:
            host.emit(ev.WorkflowSkipped(name, trigger, "disabled"))
            return
        if host.state.ended:  # an earlier run of this turn ended it: nothing more is said
            host.emit(ev.WorkflowSkipped(name, trigger, "ended"))
            return
        limit = self.settings.max_depth
        if depth >= limit:
            detail = f"triggered {depth} levels deep by other workflows' actions"
            host.emit(ev.WorkflowBoundReached(name, trigger, "depth", limit, detail))
            return
        recent = self._recent_runs(host)
        if recent >= self.settings.max_runs:
            detail = f"{recent} workflow runs in the last {self.settings.window_minutes:g} minutes"
            host.emit(
                ev.WorkflowBoundReached(name, trigger, "rate", self.settings.max_runs, detail)
            )
            return
        trace: list[str] = []
        if not self._conditions_hold(workflow.conditions, host, trace):
            failed = tuple(line[2:] for line in trace if line.startswith("✗"))
            host.emit(ev.WorkflowSkipped(name, trigger, "conditions", failed))
            return
        held = tuple(line[2:] for line in trace)
        facts = {k: v for k, v in signal.data.items() if k != "text"}
        at = host.now.isoformat()
        host.emit(ev.WorkflowTriggered(name, trigger, at, depth, held, facts))
        await self._actions(host, name, workflow, 0)

    def _recent_runs(self, host: Host) -> int:
        since = host.now - timedelta(minutes=self.settings.window_minutes)
        count = 0
        for at in host.state.workflow_runs:
            try:
                if datetime.fromisoformat(at) > since:
                    count += 1
            except ValueError:
                continue
        return count

    def _conditions_hold(
        self, conditions: ConditionSpec | list[ConditionSpec] | None, host: Host, trace: list[str]
    ) -> bool:
        if conditions is None:
            return True
        facts = Facts(
            tags=frozenset(host.contact.tags),
            fields=dict(host.contact.fields),
            language=host.contact.language,
            channel=host.state.channel,
            bot=host.current_bot(),
            status_of=lambda bot: host.state.status_of(bot).status,
            now=host.now,
            human=host.human_owns(),
            mode=host.mode_of_current(),
            assigned=host.state.owner,
        )
        listed = conditions if isinstance(conditions, list) else [conditions]
        return all([holds(c, facts, trace) for c in listed])

    async def _actions(self, host: Host, name: str, workflow: WorkflowFile, start: int) -> None:
        ran = 0
        for index in range(start, len(workflow.actions)):
            action = workflow.actions[index]
            if host.state.ended:  # an `end` before this one (or another run's) closed it
                host.emit(ev.WorkflowActionSkipped(name, index, action.kind, ENDED))
                continue
            try:
                outcome = await self._action(host, name, index, action)
            except ActionError as error:
                host.emit(ev.WorkflowActionFailed(name, index, action.kind, str(error)))
                host.emit(ev.WorkflowCompleted(name, "failed", ran))
                return
            if outcome == "skipped":
                continue
            ran += 1
            if outcome == "waiting":
                host.emit(ev.WorkflowCompleted(name, "waiting", ran))
                return
        host.emit(ev.WorkflowCompleted(name, "completed", ran))

    # -- actions --------------------------------------------------------------

    async def _action(
        self, host: Host, name: str, index: int, action: ActionSpec
    ) -> Literal["ran", "skipped", "waiting"]:
        by = f"workflow:{name}"
        kind = action.kind

        def ran(**detail: Value) -> Literal["ran"]:
            host.emit(ev.WorkflowActionRan(name, index, kind, dict(detail)))
            return "ran"

        def skipped(reason: str) -> Literal["skipped"]:
            host.emit(ev.WorkflowActionSkipped(name, index, kind, reason))
            return "skipped"

        if action.send is not None:
            await host.send(action.send, by)
            return ran(text=action.send)
        if action.assign is not None:
            spec = action.assign
            assign = spec if isinstance(spec, AssignAction) else AssignAction(bot=spec)
            if not host.has_bot(assign.bot):
                raise ActionError(f"the project has no bot {assign.bot!r}")
            if host.human_owns():
                return skipped(HUMAN_OWNS)
            if not host.serves(assign.bot):
                return skipped(f"bot {assign.bot} doesn't serve this conversation's channel")
            await host.assign(assign.bot, assign.mode, by)
            return ran(bot=assign.bot, mode=assign.mode)
        if action.set_status is not None:
            return ran(**self._status(host, action, by))
        if action.add_tag is not None:
            return ran(tag=action.add_tag, changed=self._tag(host, action.add_tag, True, by))
        if action.remove_tag is not None:
            tag = action.remove_tag
            return ran(tag=tag, changed=self._tag(host, tag, False, by))
        if action.set_field is not None:
            spec_field = action.set_field
            changed = set_field(host, spec_field.name, spec_field.value, by)
            return ran(name=spec_field.name, value=spec_field.value, changed=changed)
        if action.wait is not None:
            due = _later(host.now, action.wait.total_minutes, "wait")
            timer = new_id("timer")
            host.emit(ev.TimerScheduled(timer, "wait", name, due.isoformat(), index + 1))
            ran(timer_id=timer, due_at=due.isoformat())
            return "waiting"
        if action.webhook is not None:
            return ran(**await self._webhook(host, name, index, action))
        if action.escalate is not None:
            spec_escalate = action.escalate
            reason = spec_escalate if isinstance(spec_escalate, str) else spec_escalate.reason
            if host.state.escalated:
                return skipped("already escalated")
            host.emit(ev.Escalated(by=by, reason=reason, bot_id=host.state.owner))
            return ran(reason=reason)
        if action.end is not None:
            reason = action.end if isinstance(action.end, str) else "ended_by_workflow"
            host.emit(ev.ConversationEnded(reason, by))
            return ran(reason=reason)
        raise ActionError(f"unknown action {kind!r}")  # pragma: no cover

    def _status(self, host: Host, action: ActionSpec, by: str) -> dict[str, Value]:
        spec = action.set_status
        if spec is None:
            raise ActionError("set_status action without settings")
        bot = spec.bot or host.current_bot()
        if bot is None or not host.has_bot(bot):
            raise ActionError(f"no bot to set the status of ({bot!r})")
        until = spec.until
        if spec.status == "paused" and spec.minutes is not None:
            until = _later(host.now, spec.minutes, "pause").isoformat()
        if spec.status != "paused":
            until = None
        if until is not None:
            _check_iso(until)
        status: BotStatusName = spec.status
        host.emit(ev.BotStatusChanged(bot, status, until, by))
        return {"bot": bot, "status": status, "until": until}

    def _tag(self, host: Host, tag: str, add: bool, by: str) -> bool:
        return change_tag(host, tag, add, by)

    async def _webhook(
        self, host: Host, name: str, index: int, action: ActionSpec
    ) -> dict[str, Value]:
        spec = action.webhook
        if spec is None:
            raise ActionError("webhook action without settings")
        secret = spec.secret
        if spec.secret_env:
            secret = os.environ.get(spec.secret_env)
            if not secret:
                raise ActionError(f"environment variable {spec.secret_env} is not set")
        contact = host.contact
        body: dict[str, Any] = {
            "workflow": name,
            "account_id": contact.account_id,
            "contact_id": contact.contact_id,
            "conversation_id": host.conversation_id,
            "at": host.now.isoformat(),
            "contact": {
                "tags": list(contact.tags),
                "fields": dict(contact.fields),
                "language": contact.language,
            },
            "bot": host.current_bot(),
            "payload": dict(spec.payload),
        }
        # The seq the next event will have: unique in the conversation's log (counting the
        # runs was not: that list is capped), the same on each HTTP retry of the call. A
        # turn retried after a concurrent write (another process appended first) runs
        # at a later seq, so its call carries a new key: the receiver sees it twice.
        seq = host.state.version + len(host.events) + 1
        key = f"{host.conversation_id}:{name}:{index}:{seq}"
        result = await self.webhook(
            spec.url, body, secret=secret, timeout=spec.timeout, retries=spec.retries, key=key
        )
        shown = redacted_url(spec.url)  # stored in the log for good: no token in it
        if not result.ok:
            raise ActionError(
                f"POST {shown} failed after {result.attempts} attempt(s): "
                f"{redact_urls(result.error)}"
            )
        return {"url": shown, "status": result.status, "attempts": result.attempts}


def _later(now: datetime, minutes: float, what: str) -> datetime:
    """``now`` plus ``minutes``; a span past the calendar's end is an action error."""
    try:
        return now + timedelta(minutes=minutes)
    except (OverflowError, ValueError) as exc:
        raise ActionError(f"a {what} of {minutes:g} minutes ends past the year 9999") from exc


def _check_iso(until: str) -> None:
    """A pause's ``until`` must be an ISO time: any other text would never run out."""
    try:
        datetime.fromisoformat(until)
    except ValueError as exc:
        raise ActionError(
            f"`until` {until!r} is not an ISO time (e.g. 2026-12-01T09:00:00+00:00); "
            "the bot was not paused"
        ) from exc


def change_tag(host: Host, tag: str, add: bool, by: str) -> bool:
    """Add or remove a contact tag; record it when it changed."""
    tags = host.contact.tags
    if (tag in tags) == add:
        return False
    new = (*tags, tag) if add else tuple(t for t in tags if t != tag)
    host.contact = replace(host.contact, tags=new)
    host.emit(ev.TagAdded(tag, by) if add else ev.TagRemoved(tag, by))
    return True


def set_field(host: Host, name: str, value: Value, by: str) -> bool:
    """Set a contact field (``None`` removes it); record it when it changed."""
    fields = host.contact.fields
    previous = fields.get(name)
    if (name in fields and previous == value) or (value is None and name not in fields):
        return False
    if value is None:
        changed = {k: v for k, v in fields.items() if k != name}
    else:
        changed = {**fields, name: value}
    host.contact = replace(host.contact, fields=changed)
    host.emit(ev.FieldUpdated(name, value, previous, by))
    return True


def _tests_language(conditions: ConditionSpec | list[ConditionSpec] | None) -> bool:
    if conditions is None:
        return False
    for condition in conditions if isinstance(conditions, list) else [conditions]:
        if condition.language is not None:
            return True
        nested = [*(condition.all_ or []), *(condition.any_ or [])]
        if condition.not_ is not None:
            nested.append(condition.not_)
        if _tests_language(nested):
            return True
    return False
