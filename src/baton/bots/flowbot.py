"""A flow bot: intents start flows; flows ask, say, set, branch, act and hand over."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from typing import Any

from baton.bots import program as p
from baton.bots.actions import ActionRegistry
from baton.bots.answers import InvalidAnswer, choices_named, fit_value, parse_answer
from baton.bots.templates import Template, TemplateFailed, nest_context
from baton.domain import events as ev
from baton.domain.ports import IntentClassifier, Recognition
from baton.domain.turns import (
    OWN_SURE,
    SWITCH_MIN_WORDS,
    BotOutcome,
    BotTurn,
    Call,
    EndConversation,
    Escalate,
    Return,
    Transfer,
    Unmatched,
    clear_bar,
)
from baton.domain.values import Payload, Scope, Value
from baton.spec.project import BotDefinition

log = logging.getLogger(__name__)


class FlowBot:
    """Runs a bot defined by intents and flows in a project folder."""

    def __init__(
        self,
        definition: BotDefinition,
        classifier: IntentClassifier,
        actions: ActionRegistry,
        action_timeout: float,
    ) -> None:
        self.definition = definition
        self.programs = p.compile_bot(definition)
        self.classifier = classifier
        self.actions = actions
        self.action_timeout = action_timeout

    @property
    def bot_id(self) -> str:
        """The bot's id."""
        return self.definition.bot_id

    def fallback(self, turn: int = 0) -> str:
        """The bot's fallback text (``@name``: that response, its variants in turn)."""
        return self.definition.said(self.definition.settings.fallback, turn)

    async def handle(self, turn: BotTurn) -> BotOutcome:
        """Act on one step of a turn (see ``BotTurn.entry``)."""
        run = _Run(self, turn)
        try:
            if turn.entry == "returned" and turn.resume_flow in self.programs:
                await run.resume_after_call()
            elif turn.entry == "called":
                await run.start(turn.flow or self.definition.settings.start_flow, intent=None)
            elif turn.entry == "transferred" and turn.flow is not None:
                await run.start(turn.flow, intent=None)  # the router named it (start_flow)
            elif turn.intent is not None:
                await run.start(
                    self.definition.flow_for_intent(_local(turn.intent.intent)), turn.intent.intent
                )
            elif not turn.text:
                await run.start(self.definition.settings.start_flow, intent=None)
            elif turn.position is not None and turn.position.slot is not None:
                await run.answer()
            else:
                await run.understand()
        except TemplateFailed as failed:
            run.step_failed(failed)
        return run.outcome


#: slot types whose value, found in an answer, says it is the answer: a message with a
#: phone number or an email address in it, given when asked for one, stays with the
#: asking bot however many words it has ("my number is 07700 900123" went to a sales
#: bot's port_number intent at 0.98, on the words "my number")
SELF_EVIDENT = frozenset({"phone", "email"})


def _evident(op: p.Ask, text: str) -> bool:
    """Whether the answer says it is one: a phone or email found in it, or exactly one of
    the choices asked for named as a word ("it was late" to "cold, late or wrong?" went
    to another bot's complaint intent, for its three words)."""
    if op.kind in SELF_EVIDENT:
        return True
    return op.kind == "choice" and len(choices_named(text, op.choices)) == 1


def _reads_like_request(text: str) -> bool:
    """Long enough to be a request rather than a bare answer (``SWITCH_MIN_WORDS``)."""
    return len(text.split()) >= SWITCH_MIN_WORDS


def _local(intent: str) -> str:
    return intent.partition(".")[2] or intent


class _Run:
    """One bot step: the outcome under construction and the template names."""

    def __init__(self, bot: FlowBot, turn: BotTurn) -> None:
        self.bot = bot
        self.turn = turn
        self.outcome = BotOutcome()
        self.slots: dict[str, Value] = dict(turn.slots)
        self.context: dict[str, Value] = dict(turn.context)
        self.result: Payload = {}
        #: the template names, built on first use; dropped when context or result change
        #: (``slots`` is the live dict, so a slot's change shows without a rebuild)
        self._names: dict[str, Any] | None = None
        #: the program and step being run, for the record of a step that fails
        self._at: tuple[p.Program, int] | None = None

    # -- entry points -------------------------------------------------------

    async def understand(self) -> None:
        recognition = self.bot.classifier.classify(self.turn.text)
        self._record(recognition)
        best = recognition.best
        flow = self.bot.definition.flow_for_intent(_local(best.intent)) if best else None
        if best is None or flow is None:
            self.outcome.directive = Unmatched(
                "no_intent" if best is None else "intent_without_flow"
            )
            return
        if (
            not self.turn.settled
            and self.turn.entry == "message"
            and best.confidence < OWN_SURE
            and self.bot.definition.settings.group
        ):
            # the bot knows only its own intents: the group may know the message better
            self.outcome.directive = Unmatched("own_intent", clear_switch_only=True, pending=True)
            return
        await self.start(flow, best.intent)

    async def answer(self) -> None:
        position = self.turn.position
        if position is None or position.slot is None:
            return
        program = self.bot.programs.get(position.flow)
        op = program.ops[position.step] if program and position.step < len(program.ops) else None
        if program is None or not isinstance(op, p.Ask):
            await self.understand()
            return
        try:
            value = parse_answer(
                op.kind,
                self.turn.text,
                choices=list(op.choices),
                minimum=op.minimum,
                maximum=op.maximum,
                today=date.fromisoformat(self.turn.today) if self.turn.today else None,
            )
        except InvalidAnswer as invalid:
            if await self._switched_topic(position.flow):
                return
            await self._retry(program, op, position.step, position.attempt, invalid.reason)
            if self.outcome.directive is None:  # another bot may still clearly claim it
                self.outcome.directive = Unmatched("invalid_answer", clear_switch_only=True)
            return
        if (
            not self.turn.settled
            and not _evident(op, self.turn.text)
            and _reads_like_request(self.turn.text)
        ):
            if await self._switched_topic(position.flow):
                return
            if self.bot.definition.settings.group:  # another bot may claim it: ask first
                self.outcome.directive = Unmatched(
                    "answer_or_switch", clear_switch_only=True, pending=True
                )
                return
        self._set_slot(op.slot, value)
        await self.execute(program, op.next_at)

    async def start(self, flow: str | None, intent: str | None) -> None:
        if flow is None or flow not in self.bot.programs:
            return
        if self.turn.position is not None and self.turn.entry == "message":
            self._emit(ev.FlowEnded(self.bot.bot_id, self.turn.position.flow, "interrupted"))
        self._emit(ev.FlowStarted(self.bot.bot_id, flow, intent))
        await self.execute(self.bot.programs[flow], 0)

    async def resume_after_call(self) -> None:
        program = self.bot.programs[self.turn.resume_flow or ""]
        op = program.ops[self.turn.resume_step]
        if isinstance(op, p.CallBot):
            for name in op.outputs:
                if name in self.turn.outputs:
                    self._set_slot(name, self.turn.outputs[name])
                elif self.slots.get(name) is not None:  # not an earlier call's answer
                    self._set_slot(name, None)
        await self.execute(program, self.turn.resume_step + 1)

    # -- the interpreter ----------------------------------------------------

    async def execute(self, program: p.Program, pc: int) -> None:
        ops = program.ops
        while pc < len(ops):
            op = ops[pc]
            self._at = (program, pc)
            if isinstance(op, p.Say):
                # variants rotate with the contact's messages (and a text said twice in one
                # turn moves on): each is said in turn, the first to the first message, and
                # a story can know which. The history's length was always odd when a bot
                # spoke: one variant in two never came up.
                spoken = max(self.turn.turn - 1, 0) + len(self.outcome.replies)
                variant = op.variants[spoken % len(op.variants)]
                said = self._text(variant)
                if not said.strip() and not variant.plain and "{%" not in variant.source:
                    # only empty values to show (an action's empty answer): the user would
                    # hear nothing and no event said why; a {% %} block may mean silence
                    raise TemplateFailed(variant.source, ValueError("it rendered no text"))
                self._say(said)
            elif isinstance(op, p.Ask):
                self._say(self._text(op.prompt))
                self._emit(ev.QuestionAsked(self.bot.bot_id, program.name, pc, op.slot, 1))
                return
            elif isinstance(op, p.SetValue):
                self._set(op)
            elif isinstance(op, p.JumpUnless):
                if not op.condition.holds(self.names()):
                    pc = op.target
                    continue
            elif isinstance(op, p.Jump):
                pc = op.target
                continue
            elif isinstance(op, p.RunAction):
                if not await self._action(program, op):
                    return
            elif isinstance(op, p.FireAction):
                payload = self._render_all(op.payload)
                self._emit(ev.BotActionFired(self.bot.bot_id, op.name, payload))
            elif isinstance(op, p.TransferTo):
                self._end(program, "transferred")
                refused = self._text(op.refused) if op.refused else None
                self.outcome.directive = Transfer(op.to, op.with_message, op.context, refused)
                return
            elif isinstance(op, p.CallBot):
                inputs = self._render_all(op.inputs)
                refused = self._text(op.refused) if op.refused else None
                self.outcome.directive = Call(op.bot, op.flow, inputs, program.name, pc, refused)
                return
            elif isinstance(op, p.ReturnOutputs):
                self._end(program, "completed")
                self.outcome.directive = Return(self._render_all(op.outputs))
                return
            elif isinstance(op, p.EscalateToHuman):
                if op.message is not None:
                    self._say(self._text(op.message))
                self._end(program, "escalated")
                self.outcome.directive = Escalate(op.reason)
                return
            elif isinstance(op, p.EndFlow):
                self._end(program, op.outcome)
                if op.conversation:
                    self.outcome.directive = EndConversation()
                return
            pc += 1
        self._end(program, "completed")

    def step_failed(self, failed: TemplateFailed) -> None:
        """A step's template or condition raised: like a failed action, the bot says its
        fallback and the flow ends; the turn and the conversation go on."""
        program, step = self._at or (None, -1)
        flow = program.name if program else (self.turn.position.flow if self.turn.position else "")
        log.warning(
            "bot %s, flow %s, step %d: template %s failed: %s",
            self.bot.bot_id,
            flow,
            step,
            failed.source,
            failed.error,
        )
        self.outcome.directive = None
        self._emit(ev.StepFailed(self.bot.bot_id, flow, step, failed.source, failed.error))
        self.outcome.fallback = f"flow {flow} step {step} failed" if flow else "step failed"
        if flow:
            self._emit(ev.FlowEnded(self.bot.bot_id, flow, "step_failed"))

    # -- pieces -------------------------------------------------------------

    async def _retry(
        self, program: p.Program, op: p.Ask, step: int, attempt: int, reason: str
    ) -> None:
        attempt = max(attempt, 1)
        self._emit(ev.AnswerRejected(self.bot.bot_id, op.slot, reason, attempt))
        if attempt > op.max_retries:
            await self.execute(program, op.fail_at)
            return
        again = self._text(op.reprompt) if op.reprompt else f"Sorry, {reason}."
        self._say(again)
        if op.reprompt is None:
            self._say(self._text(op.prompt))
        self._emit(ev.QuestionAsked(self.bot.bot_id, program.name, step, op.slot, attempt + 1))

    async def _switched_topic(self, current_flow: str) -> bool:
        recognition = self.bot.classifier.classify(self.turn.text)
        best = recognition.best
        if best is None or best.confidence < clear_bar(self.bot.definition.settings.threshold):
            return False
        flow = self.bot.definition.flow_for_intent(_local(best.intent))
        if flow is None or flow == current_flow:
            return False
        self._record(recognition)
        await self.start(flow, best.intent)
        return True

    async def _action(self, program: p.Program, op: p.RunAction) -> bool:
        inputs = self._render_all(op.inputs)
        ran = await self.bot.actions.run(op.name, inputs, op.timeout or self.bot.action_timeout)
        stored: Value = None
        if ran.error is None and op.save_as is not None:
            unfit = self._unfit(op.save_as, ran.result)
            if isinstance(unfit, str):
                ran = replace(ran, error=unfit, kind="bad_result")
            else:
                stored = unfit[0]
        if ran.error is not None:
            log.warning("action %s of bot %s failed: %s", op.name, self.bot.bot_id, ran.error)
            self._emit(ev.ActionFailed(self.bot.bot_id, op.name, ran.error, ran.kind))
            self.outcome.fallback = f"action {op.name} failed"
            self._end(program, "action_failed")
            return False
        self.result = ran.result
        self._names = None
        self._emit(
            ev.ActionCompleted(self.bot.bot_id, op.name, _scalars(ran.result), ran.elapsed_ms)
        )
        if op.save_as is not None:
            self._set_slot(op.save_as, stored)
        return True

    def _unfit(self, slot: str, result: dict[str, Any]) -> str | tuple[Value]:
        """Why an action's result can't go into its ``save_as`` slot, or the value it
        holds there (``fit_value``: "40" for a number is 40): no ``value``, or one the
        slot's type does not take ("lots" for a number), is refused."""
        if "value" not in result:
            return f"returned no `value` for save_as {slot} (it returned {sorted(result)})"
        spec = self.bot.definition.slot(slot)
        value = _scalar(result["value"])
        try:
            return (
                fit_value(
                    spec.type, value, choices=spec.choices, minimum=spec.min, maximum=spec.max
                ),
            )
        except InvalidAnswer as exc:
            return f"returned {value!r} for slot {slot} ({spec.type}): {exc.reason}"

    def _set(self, op: p.SetValue) -> None:
        value = op.value.value(self.names()) if isinstance(op.value, Template) else op.value
        if op.slot is not None:
            self._set_slot(op.slot, value)
        if op.context is not None:
            key = f"{self.bot.bot_id}.{op.context}"
            contract = self.bot.definition.settings.context
            scope: Scope = "contact" if op.context in contract.contact else "conversation"
            self.context[key] = value
            self._names = None
            self._emit(ev.ContextSet(key, value, self.bot.bot_id, scope))

    def _set_slot(self, name: str, value: Value) -> None:
        self.slots[name] = value
        self._emit(ev.SlotSet(self.bot.bot_id, name, value))

    def _render_all(self, items: dict[str, Template | Value]) -> Payload:
        names = self.names()
        return {k: v.value(names) if isinstance(v, Template) else v for k, v in items.items()}

    def _end(self, program: p.Program, outcome: str) -> None:
        self._emit(ev.FlowEnded(self.bot.bot_id, program.name, outcome))

    def _say(self, text: str) -> None:
        if text.strip():
            self.outcome.replies.append(text)

    def _emit(self, event: ev.Event) -> None:
        self.outcome.events.append(event)

    def _record(self, recognition: Recognition) -> None:
        best, second = recognition.best, recognition.runner_up
        top = best or (recognition.ranking[0] if recognition.ranking else None)
        self._emit(
            ev.IntentRecognized(
                self.bot.bot_id,
                best.intent if best else None,
                round(top.confidence, 4) if top else 0.0,
                second.intent if second else None,
                round(second.confidence, 4) if second else None,
            )
        )

    def _text(self, template: Template) -> str:
        """Render a template; plain text skips building the names (most of a render's cost)."""
        return template.source if template.plain else template.render(self.names())

    def names(self) -> dict[str, Any]:
        if self._names is not None:
            return self._names
        contact = self.turn.contact
        self._names = names = {
            "slots": self.slots,
            "context": nest_context(self.context),
            "contact": {
                "tags": list(contact.tags),
                "fields": contact.fields,
                "language": contact.language,
            },
            "message": self.turn.text,
            "inputs": self.turn.inputs,
            "outputs": self.turn.outputs,
            "result": self.result,
            # what the bot's history policy shows of the conversation (router.views)
            "history": self.turn.history,
        }
        return names


def _scalar(value: object) -> Value:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _scalars(values: Mapping[str, object]) -> Payload:
    return {k: _scalar(v) for k, v in values.items()}
