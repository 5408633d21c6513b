"""Walks the steps of a bot's flows, with each step's path in ``flows.yml``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from baton.spec.flow import (
    ActionStep,
    AskStep,
    BranchStep,
    CallStep,
    EscalateStep,
    FireStep,
    FlowSpec,
    ReturnStep,
    SayStep,
    Scalar,
    SetStep,
    Step,
    TransferStep,
)
from baton.spec.yamlfile import Loc


@dataclass(frozen=True, slots=True)
class Text:
    """A template (or, with ``is_condition``, a bare Jinja expression) inside a step."""

    loc: Loc
    text: str
    is_condition: bool = False


def walk_flows(flows: Mapping[str, FlowSpec]) -> Iterator[tuple[str, Loc, Step]]:
    """Every step of every flow, nested ones included: (flow name, path, step)."""
    for name, flow in flows.items():
        for loc, step in walk_steps(flow.steps, ("flows", name, "steps")):
            yield name, loc, step


def walk_steps(steps: list[Step], loc: Loc) -> Iterator[tuple[Loc, Step]]:
    """The steps of a list and the steps nested in them, in order."""
    for i, step in enumerate(steps):
        here = (*loc, i)
        yield here, step
        if isinstance(step, AskStep):
            yield from walk_steps(step.ask.on_fail, (*here, "ask", "on_fail"))
        elif isinstance(step, BranchStep):
            for k, case in enumerate(step.branch):
                yield from walk_steps(case.then, (*here, "branch", k, "then"))
                if case.else_ is not None:
                    yield from walk_steps(case.else_, (*here, "branch", k, "else"))


def step_texts(step: Step, loc: Loc) -> Iterator[Text]:
    """The templates and conditions written in one step (not in its nested steps)."""
    if isinstance(step, SayStep):
        if isinstance(step.say, str):
            yield Text((*loc, "say"), step.say)
        else:
            yield from (Text((*loc, "say", j), s) for j, s in enumerate(step.say))
    elif isinstance(step, AskStep):
        yield Text((*loc, "ask", "prompt"), step.ask.prompt)
        if step.ask.reprompt is not None:
            yield Text((*loc, "ask", "reprompt"), step.ask.reprompt)
    elif isinstance(step, SetStep):
        if isinstance(step.set.value, str):
            yield Text((*loc, "set", "value"), step.set.value)
    elif isinstance(step, BranchStep):
        for k, case in enumerate(step.branch):
            if case.if_ is not None:
                yield Text((*loc, "branch", k, "if"), case.if_, is_condition=True)
    else:
        yield from _value_texts(step, loc)


def _value_texts(step: Step, loc: Loc) -> Iterator[Text]:
    values: dict[str, dict[str, Scalar]] = {}
    kind = ""
    if isinstance(step, ActionStep) and not isinstance(step.action, str):
        kind, values = "action", {"inputs": step.action.inputs}
    elif isinstance(step, FireStep) and not isinstance(step.fire, str):
        kind, values = "fire", {"payload": step.fire.payload}
    elif isinstance(step, CallStep) and not isinstance(step.call, str):
        kind, values = "call", {"inputs": step.call.inputs}
        if step.call.refused is not None:
            yield Text((*loc, "call", "refused"), step.call.refused)
    elif isinstance(step, TransferStep) and not isinstance(step.transfer, str):
        if step.transfer.refused is not None:
            yield Text((*loc, "transfer", "refused"), step.transfer.refused)
    elif isinstance(step, ReturnStep) and step.return_ is not None:
        kind, values = "return", {"outputs": step.return_.outputs}
    elif (
        isinstance(step, EscalateStep)
        and not isinstance(step.escalate, str)
        and step.escalate.message is not None
    ):
        yield Text((*loc, "escalate", "message"), step.escalate.message)
    for group, mapping in values.items():
        for key, value in mapping.items():
            if isinstance(value, str):
                yield Text((*loc, kind, group, key), value)
