"""Flows compiled to flat programs, so a paused flow resumes at a step number.

Branches become conditional jumps; an ask's ``on_fail`` steps are laid out
right after it. A step number in ``QuestionAsked`` or ``BotCalled`` is an
index into the program.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from baton.bots.templates import Condition, Template, literal
from baton.domain.values import Value
from baton.spec import flow as f
from baton.spec.project import BotDefinition


@dataclass(frozen=True, slots=True)
class Say:
    variants: tuple[Template, ...]


@dataclass(frozen=True, slots=True)
class Ask:
    slot: str
    prompt: Template
    reprompt: Template | None
    kind: str
    choices: tuple[str, ...]
    minimum: float | None
    maximum: float | None
    max_retries: int
    fail_at: int = 0
    next_at: int = 0


@dataclass(frozen=True, slots=True)
class SetValue:
    slot: str | None
    context: str | None
    value: Template | Value


@dataclass(frozen=True, slots=True)
class JumpUnless:
    condition: Condition
    target: int = 0


@dataclass(frozen=True, slots=True)
class Jump:
    target: int = 0


@dataclass(frozen=True, slots=True)
class RunAction:
    name: str
    inputs: dict[str, Template | Value]
    save_as: str | None
    timeout: float | None


@dataclass(frozen=True, slots=True)
class FireAction:
    name: str
    payload: dict[str, Template | Value]


@dataclass(frozen=True, slots=True)
class TransferTo:
    to: str
    with_message: bool
    context: tuple[str, ...]
    refused: Template | None


@dataclass(frozen=True, slots=True)
class CallBot:
    bot: str
    flow: str | None
    inputs: dict[str, Template | Value]
    outputs: tuple[str, ...]
    refused: Template | None


@dataclass(frozen=True, slots=True)
class ReturnOutputs:
    outputs: dict[str, Template | Value]


@dataclass(frozen=True, slots=True)
class EscalateToHuman:
    reason: str
    message: Template | None


@dataclass(frozen=True, slots=True)
class EndFlow:
    conversation: bool
    outcome: str = "completed"


Op = (
    Say
    | Ask
    | SetValue
    | JumpUnless
    | Jump
    | RunAction
    | FireAction
    | TransferTo
    | CallBot
    | ReturnOutputs
    | EscalateToHuman
    | EndFlow
)


@dataclass
class Program:
    """A flow's steps as a flat list of operations."""

    name: str
    ops: list[Op] = field(default_factory=list)


def compile_bot(bot: BotDefinition) -> dict[str, Program]:
    """Compile every flow of a bot."""
    return {name: _Compiler(bot, name).build(spec.steps) for name, spec in bot.flows.items()}


def _template(text: str | None) -> Template | None:
    return Template(text) if text else None


class _Compiler:
    def __init__(self, bot: BotDefinition, name: str) -> None:
        self.bot = bot
        self.program = Program(name)

    def build(self, steps: list[f.Step]) -> Program:
        self.emit_all(steps)
        return self.program

    def emit_all(self, steps: list[f.Step]) -> None:
        for step in steps:
            self.emit(step)

    def here(self) -> int:
        return len(self.program.ops)

    def add(self, op: Op) -> int:
        self.program.ops.append(op)
        return len(self.program.ops) - 1

    def patch(self, index: int, op: Op) -> None:
        self.program.ops[index] = op

    def emit(self, step: f.Step) -> None:
        if isinstance(step, f.SayStep):
            texts = step.say if isinstance(step.say, list) else [step.say]
            self.add(Say(tuple(Template(t) for t in self._responses(texts))))
        elif isinstance(step, f.AskStep):
            self._ask(step.ask)
        elif isinstance(step, f.SetStep):
            self.add(SetValue(step.set.slot, step.set.context, literal(step.set.value)))
        elif isinstance(step, f.BranchStep):
            self._branch(step.branch)
        elif isinstance(step, f.ActionStep):
            spec = (
                step.action
                if isinstance(step.action, f.ActionSpec)
                else f.ActionSpec(name=step.action)
            )
            inputs = {k: literal(v) for k, v in spec.inputs.items()}
            self.add(RunAction(spec.name, inputs, spec.save_as, spec.timeout))
        elif isinstance(step, f.FireStep):
            fire = step.fire if isinstance(step.fire, f.FireSpec) else f.FireSpec(name=step.fire)
            self.add(FireAction(fire.name, {k: literal(v) for k, v in fire.payload.items()}))
        elif isinstance(step, f.TransferStep):
            t = (
                step.transfer
                if isinstance(step.transfer, f.TransferSpec)
                else f.TransferSpec(to=step.transfer)
            )
            self.add(TransferTo(t.to, t.with_message, tuple(t.context), _template(t.refused)))
        elif isinstance(step, f.CallStep):
            c = step.call if isinstance(step.call, f.CallSpec) else f.CallSpec(bot=step.call)
            inputs = {k: literal(v) for k, v in c.inputs.items()}
            self.add(CallBot(c.bot, c.flow, inputs, tuple(c.outputs), _template(c.refused)))
        elif isinstance(step, f.ReturnStep):
            outputs = step.return_.outputs if step.return_ else {}
            self.add(ReturnOutputs({k: literal(v) for k, v in outputs.items()}))
        elif isinstance(step, f.EscalateStep):
            e = (
                step.escalate
                if isinstance(step.escalate, f.EscalateSpec)
                else f.EscalateSpec(reason=step.escalate)
            )
            self.add(EscalateToHuman(e.reason, _template(e.message)))
        elif isinstance(step, f.EndStep):
            self.add(EndFlow(conversation=step.end == "conversation"))

    def _responses(self, texts: list[str]) -> list[str]:
        out: list[str] = []
        for text in texts:
            if text.startswith("@") and text[1:] in self.bot.responses:
                out.extend(self.bot.responses[text[1:]])
            else:
                out.append(text)
        return out

    def _ask(self, spec: f.AskSpec) -> None:
        slot = self.bot.slot(spec.slot)
        kind = spec.type or slot.type
        choices = tuple(spec.choices or slot.choices)
        prompt = Template(self._responses([spec.prompt])[0])
        reprompt = Template(self._responses([spec.reprompt])[0]) if spec.reprompt else None
        at = self.add(Jump())
        if spec.on_fail:
            self.emit_all(spec.on_fail)
        else:
            fallback = self._responses([self.bot.settings.fallback])  # @name: its variants
            self.add(Say(tuple(Template(text) for text in fallback)))
        self.add(EndFlow(conversation=False, outcome="gave_up"))
        ask = Ask(
            spec.slot,
            prompt,
            reprompt,
            kind,
            choices,
            slot.min,
            slot.max,
            spec.max_retries,
            fail_at=at + 1,
            next_at=self.here(),
        )
        self.patch(at, ask)

    def _branch(self, cases: list[f.BranchCase]) -> None:
        ends: list[int] = []
        for case in cases:
            if case.if_ is None:
                self.emit_all(case.else_ or case.then)
                continue
            test = self.add(JumpUnless(Condition(case.if_)))
            self.emit_all(case.then)
            ends.append(self.add(Jump()))
            self.patch(test, JumpUnless(Condition(case.if_), self.here()))
        for index in ends:
            self.patch(index, Jump(self.here()))
