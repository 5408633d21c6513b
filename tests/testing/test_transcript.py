"""Transcript lines: every event a person reads in /history or a failing story has one."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from baton.domain import events as ev
from baton.runtime.transcript import SILENT, describe, render

DOC = (Path(__file__).parents[2] / "docs" / "events.md").read_text()


def _sample(cls: type[ev.Event]) -> ev.Event:
    required: dict[str, object] = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING:
            continue
        text = str(f.type)
        if "str" in text or "Value" in text:
            required[f.name] = "auto" if "Mode" in text else "x"
        elif "float" in text:
            required[f.name] = 0.5
        elif text.startswith("int"):
            required[f.name] = 3
        elif "tuple" in text:
            required[f.name] = ()
        else:
            required[f.name] = {}
    return cls(**required)  # type: ignore[arg-type]


def test_every_event_has_a_line_or_is_silent_on_purpose() -> None:
    for cls in ev.EVENT_TYPES.values():
        if cls is ev.WorkflowActionRan:
            continue  # a line only when its effect has none: tested below
        line = describe(_sample(cls))
        if issubclass(cls, SILENT):
            assert line is None, f"{cls.type} is listed as silent but has a line"
        else:
            assert line, f"{cls.type} has no transcript line and is not listed as silent"


def test_docs_say_why_each_silent_event_is_silent() -> None:
    section = DOC.split("## Transcript lines", 1)[1]
    for cls in SILENT:
        assert f"`{cls.type}`" in section, f"docs/events.md doesn't say why {cls.type} is silent"


def test_flow_lines_name_the_flow_the_intent_and_unusual_ends() -> None:
    assert describe(ev.FlowStarted("sales", "book_demo", "sales.book_demo")) == (
        "  ▸ sales flow book_demo (intent sales.book_demo)"
    )
    assert describe(ev.FlowStarted("support", "open_ticket", None)) == (
        "  ▸ support flow open_ticket"
    )
    assert describe(ev.FlowEnded("sales", "book_demo", "interrupted")) == (
        "  ▪ sales flow book_demo interrupted"
    )
    assert describe(ev.FlowEnded("sales", "book_demo", "gave_up")) == (
        "  ▪ sales flow book_demo gave up"
    )
    # the reply that completes a flow, and the transfer line, say these already
    assert describe(ev.FlowEnded("sales", "book_demo", "completed")) is None
    assert describe(ev.FlowEnded("sales", "need_support", "transferred")) is None
    assert describe(ev.AnswerRejected("sales", "email", "that isn't an email", 1)) == (
        "  ? sales rejected the answer for email: that isn't an email"
    )
    assert describe(ev.BotActionFired("sales", "demo_requested", {})) == (
        "  · sales fired demo_requested"
    )


def test_suggestions_timers_and_deliveries() -> None:
    assert describe(ev.SuggestionResolved("s1", "edited", "Hello!", "ana")) == (
        "  ⚑ suggestion s1 edited by ana"
    )
    assert describe(ev.TimerCancelled("t1", "contact_replied")) == (
        "  ⏲ timer cancelled (contact replied)"
    )
    assert describe(ev.DeliveryFailed(7, "sms", "HTTP 400: invalid number", 3)) == (
        "  ! reply #7 not delivered on sms (3 attempts): HTTP 400: invalid number"
    )


def test_a_workflow_action_has_a_line_only_when_nothing_else_shows_it() -> None:
    webhook = ev.WorkflowActionRan(
        "notify", 0, "webhook", {"url": "https://x.test/h", "status": 200, "attempts": 2}
    )
    assert describe(webhook) == "  ⚙ notify: webhook https://x.test/h answered 200 after 2 attempts"
    unchanged = ev.WorkflowActionRan("vip", 1, "add_tag", {"tag": "vip", "changed": False})
    assert describe(unchanged) == "  ⚙ vip: add_tag vip: the contact already has it"
    kept = ev.WorkflowActionRan(
        "stage", 0, "set_field", {"name": "stage", "value": "won", "changed": False}
    )
    assert describe(kept) == "  ⚙ stage: field stage already 'won'"
    # a tag that changed, a message, an assignment: their own events have the line
    tagged = ev.WorkflowActionRan("vip", 1, "add_tag", {"tag": "vip", "changed": True})
    sent = ev.WorkflowActionRan("hello", 0, "send", {"text": "Hi"})
    assert describe(tagged) is None and describe(sent) is None
    log: list[ev.Event] = [ev.TagAdded("vip", "workflow:vip"), tagged]
    assert render(log) == ["  # tag +vip (workflow:vip)"]
