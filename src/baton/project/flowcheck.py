"""Checks of one bot's flows: slots, context keys, targets, branches, templates, responses."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from jinja2 import TemplateSyntaxError

from baton.bots.answers import InvalidAnswer, fit_value
from baton.domain.errors import Problem
from baton.project.hints import did_you_mean, listing
from baton.project.steps import Text, step_texts, walk_flows
from baton.project.templates import CONTACT_KEYS, RUNTIME_NAMES, TemplateReader
from baton.spec.flow import (
    ActionStep,
    AskStep,
    BranchStep,
    CallStep,
    EndStep,
    EscalateStep,
    ReturnStep,
    SetStep,
    Step,
    TransferStep,
)
from baton.spec.project import BotDefinition, Project
from baton.spec.yamlfile import Loc, Locator

#: steps after which a flow goes no further (a ``call`` comes back, so it is not one)
_LEAVING: dict[type, str] = {
    TransferStep: "transfer",
    ReturnStep: "return",
    EscalateStep: "escalate",
    EndStep: "end",
}
_RESPONSE_REF = re.compile(r"@([A-Za-z_][\w.-]*)")


class FlowChecker:
    """Finds the mistakes in one bot's flows and responses."""

    def __init__(self, project: Project, bot: BotDefinition, at: Locator) -> None:
        self.project = project
        self.bot = bot
        self.at = at
        self.reader = TemplateReader()
        self.flows_file = f"bots/{bot.bot_id}/flows.yml"
        self.bot_file = f"bots/{bot.bot_id}/bot.yml"
        self.problems: list[Problem] = []

    def check(self) -> list[Problem]:
        """Every problem in the bot's flows and responses."""
        for _, loc, step in walk_flows(self.bot.flows):
            self._step(step, loc)
            for text in step_texts(step, loc):
                self._text(text, self.flows_file)
        for name, flow in self.bot.flows.items():
            self._unreached(flow.steps, ("flows", name, "steps"))
        settings = self.bot.settings
        for key, said in (
            ("fallback", settings.fallback),
            ("handoff_message", settings.handoff_message),
        ):
            ref = _RESPONSE_REF.fullmatch(said.strip()) if said else None
            bot_file = f"bots/{self.bot.bot_id}/bot.yml"
            if ref:
                self._response(ref.group(1), (key,), bot_file)
            texts = self.bot.responses.get(ref.group(1), []) if ref else [said or ""]
            if any("{{" in text or "{%" in text for text in texts):
                message = f"`{key}` is said as written, so its {{{{ }}}} would reach the user"
                fix = "write it as plain text (a flow's `say` can use templates)"
                self._add((key,), message, fix, bot_file)
        for name, variants in self.bot.responses.items():
            file = f"bots/{self.bot.bot_id}/responses.yml"
            for j, variant in enumerate(variants):
                where: Loc = ("responses", name) if len(variants) == 1 else ("responses", name, j)
                if _RESPONSE_REF.fullmatch(variant.strip()):  # sent as written, '@' and all
                    message = f"response '{name}' refers to another response ({variant.strip()})"
                    self._add(where, message, "write the text itself here", file)
                    continue
                self._text(Text(where, variant), file)
        return self.problems

    def _unreached(self, steps: list[Step], loc: Loc) -> None:
        """Steps after one that leaves the flow (transfer, return, escalate, end) never run."""
        for i, step in enumerate(steps):
            if isinstance(step, AskStep):
                self._unreached(step.ask.on_fail, (*loc, i, "ask", "on_fail"))
            elif isinstance(step, BranchStep):
                for k, case in enumerate(step.branch):
                    self._unreached(case.then, (*loc, i, "branch", k, "then"))
                    if case.else_ is not None:
                        self._unreached(case.else_, (*loc, i, "branch", k, "else"))
            kind = _LEAVING.get(type(step))
            if kind is not None and i + 1 < len(steps):
                message = f"this step never runs: the `{kind}` before it leaves the flow"
                fix = f"move it before the `{kind}`, or delete it"
                self._add((*loc, i + 1), message, fix)
                return

    def _add(self, loc: Loc, message: str, fix: str, file: str | None = None) -> None:
        self.problems.append(self.at.problem(file or self.flows_file, loc, message, fix))

    def _step(self, step: Step, loc: Loc) -> None:
        if isinstance(step, AskStep):
            self._slot(step.ask.slot, (*loc, "ask", "slot"))
            self._choices(step, loc)
        elif isinstance(step, SetStep):
            self._set(step, loc)
        elif isinstance(step, BranchStep):
            self._branch(step, loc)
        elif isinstance(step, ActionStep) and not isinstance(step.action, str):
            if step.action.save_as is not None:
                self._slot(step.action.save_as, (*loc, "action", "save_as"))
        elif isinstance(step, TransferStep):
            target = step.transfer if isinstance(step.transfer, str) else step.transfer.to
            where = (
                (*loc, "transfer") if isinstance(step.transfer, str) else (*loc, "transfer", "to")
            )
            self._target(target, where, "transfers")
            if not isinstance(step.transfer, str):
                for j, key in enumerate(step.transfer.context):
                    self._cited(key, (*loc, "transfer", "context", j))
        elif isinstance(step, CallStep):
            self._call(step, loc)

    def _cited(self, key: str, loc: Loc) -> None:
        """A context key a transfer cites: ``bot.key``, a key that bot writes."""
        owner, dot, name = key.partition(".")
        bots = self.project.bots
        if not dot or not owner or not name:
            writers = sorted(b for b, bot in bots.items() if key in bot.settings.context.writes)
            mine = self.bot.bot_id if self.bot.bot_id in writers else None
            fix = (
                f"did you mean '{mine or writers[0]}.{key}'?"
                if writers
                else f"write the bot and the key, e.g. '{self.bot.bot_id}.{key}'"
            )
            self._add(loc, f"cites context key '{key}', which is not 'bot.key'", fix)
        elif owner not in bots:
            fix = did_you_mean(owner, bots, f"bots: {listing(bots)}")
            self._add(loc, f"cites a context key of bot '{owner}', which does not exist", fix)
        elif name not in bots[owner].settings.context.writes:
            writes = bots[owner].settings.context.writes
            otherwise = f"add '{name}' to context.writes of bots/{owner}/bot.yml"
            self._add(
                loc,
                f"cites context key '{key}', which bot '{owner}' does not write",
                did_you_mean(name, writes, otherwise),
            )

    def _slot(self, name: str, loc: Loc) -> None:
        declared = self.bot.settings.slots
        if name in declared:
            return
        add = f"declare it under `slots:` in {self.bot_file}, e.g. `{name}: {{type: text}}`"
        fix = did_you_mean(name, declared, add)
        self._add(loc, f"slot '{name}' is not declared in {self.bot_file}", fix)

    def _choices(self, step: AskStep, loc: Loc) -> None:
        slot = self.bot.settings.slots.get(step.ask.slot)
        ask = step.ask
        if slot is not None and ask.type is not None and slot.type not in ("text", ask.type):
            message = (
                f"asks for slot '{ask.slot}' as {ask.type}, but bot.yml declares it {slot.type}"
            )
            fix = f"remove `type: {ask.type}` here, or change the slot's type in {self.bot_file}"
            self._add((*loc, "ask", "type"), message, fix)
        if slot is not None and ask.choices and slot.choices:
            extra = [c for c in ask.choices if c not in slot.choices]
            if extra:
                message = f"offers {listing(extra)}, which slot '{ask.slot}' does not allow"
                fix = f"offer some of {listing(slot.choices)}, or add them to the slot in bot.yml"
                self._add((*loc, "ask", "choices"), message, fix)
        kind = step.ask.type or (slot.type if slot else "text")
        if kind != "choice" or step.ask.choices or (slot and slot.choices):
            return
        where = (*loc, "ask", "type") if step.ask.type else (*loc, "ask")
        message = f"asks for slot '{step.ask.slot}' of type choice without choices"
        fix = f"add `choices: [...]` to this ask step or to slot '{step.ask.slot}' in bot.yml"
        self._add(where, message, fix)

    def _set(self, step: SetStep, loc: Loc) -> None:
        spec = step.set
        if (spec.slot is None) == (spec.context is None):
            message = "a set step needs exactly one of `slot:` or `context:`"
            fix = "write `set: {slot: NAME, value: ...}` or `set: {context: KEY, value: ...}`"
            self._add((*loc, "set"), message, fix)
        if spec.slot is not None:
            self._slot(spec.slot, (*loc, "set", "slot"))
            self._fits(spec.slot, spec.value, (*loc, "set", "value"))
        if spec.context is not None:
            self._write(spec.context, (*loc, "set", "context"))

    def _fits(self, name: str, value: object, loc: Loc) -> None:
        """A literal set into a typed slot must be a value the slot takes ("abc" into a
        number broke the first comparison of it, at run time)."""
        slot = self.bot.settings.slots.get(name)
        if slot is None or slot.type == "text" or value is None:
            return
        if isinstance(value, str) and "{{" in value:
            return  # a template: known only at run time
        scalar = value if isinstance(value, str | int | float | bool) else str(value)
        try:
            fit_value(slot.type, scalar, choices=slot.choices, minimum=slot.min, maximum=slot.max)
        except InvalidAnswer as exc:
            message = (
                f"sets slot '{name}' ({slot.type}) to {value!r}, which it can't hold: {exc.reason}"
            )
            fix = f"set a value the slot takes, or change its type in {self.bot_file}"
            self._add(loc, message, fix)

    def _write(self, key: str, loc: Loc) -> None:
        bot_id = self.bot.bot_id
        owner, dot, own_key = key.partition(".")
        if dot and owner != bot_id:
            message = f"writes context key '{key}' of another bot"
            fix = (
                f"a bot writes only its own keys: write '{own_key}' (stored as {bot_id}.{own_key})"
            )
            self._add(loc, message, fix)
            return
        name = own_key if dot else key
        writes = self.bot.settings.context.writes
        if name not in writes:
            message = f"writes context key '{name}', which context.writes does not list"
            add = f"add '{name}' under `context: writes:` in {self.bot_file}"
            self._add(loc, message, did_you_mean(name, writes, add))

    def _branch(self, step: BranchStep, loc: Loc) -> None:
        last = len(step.branch) - 1
        for k, case in enumerate(step.branch):
            here = (*loc, "branch", k)
            if case.else_ is not None:
                if k != last:
                    message = "`else` must be the last case of a branch"
                    self._add((*here, "else"), message, "move the else case to the end")
                if case.if_ is not None or case.then:
                    message = "a branch case has both `else` and `if`/`then`"
                    fix = "split it: `- if: ...` with `then: [...]`, then `- else: [...]`"
                    self._add(here, message, fix)
            elif case.if_ is None:
                message = "a branch case needs `if:` (or is the final `else:`)"
                fix = "write `- if: CONDITION` with `then: [...]`, or `- else: [...]` last"
                self._add(here, message, fix)

    def _target(self, target: str, loc: Loc, verb: str) -> bool:
        bots = self.project.bots
        if target == self.bot.bot_id:
            self._add(loc, f"{verb} to itself ('{target}')", "name another bot, or use a flow step")
            return False
        if target in bots:
            self._shared_channel(target, loc, verb)
            return True
        otherwise = f"bots in this project: {listing(bots)}"
        self._add(
            loc,
            f"{verb} to bot '{target}', which does not exist",
            did_you_mean(target, bots, otherwise),
        )
        return False

    def _shared_channel(self, target: str, loc: Loc, verb: str) -> None:
        """A handover to a bot that serves none of this bot's channels is refused every
        time (the target must serve the conversation's channel); ``cli`` is every bot's."""
        project = self.project.settings.channels
        mine = set(self.bot.settings.channels or project) - {"cli"}
        theirs = set(self.project.bots[target].settings.channels or project) - {"cli"}
        if mine and theirs and not mine & theirs:
            message = (
                f"{verb} to bot '{target}', which serves none of this bot's channels "
                f"({listing(sorted(mine))}; it serves {listing(sorted(theirs))}): the "
                "handover would be refused every time"
            )
            fix = (
                f"add one of them to `channels:` in bots/{target}/bot.yml, or hand over to a "
                "bot that serves them"
            )
            self._add(loc, message, fix)

    def _call(self, step: CallStep, loc: Loc) -> None:
        if isinstance(step.call, str):
            if self._target(step.call, (*loc, "call"), "calls"):
                self._called(step.call, None, (*loc, "call"))
            return
        spec = step.call
        found = self._target(spec.bot, (*loc, "call", "bot"), "calls")
        if found and spec.flow is not None:
            flows = self.project.bots[spec.bot].flows
            if spec.flow not in flows:
                message = f"calls flow '{spec.flow}' of bot '{spec.bot}', which does not exist"
                otherwise = f"flows of '{spec.bot}': {listing(flows)}"
                self._add(
                    (*loc, "call", "flow"), message, did_you_mean(spec.flow, flows, otherwise)
                )
                found = False
        if found:
            self._called(spec.bot, spec.flow, (*loc, "call"), spec.outputs)
            self._inputs(spec.bot, spec.flow, spec.inputs, (*loc, "call"))
        for j, name in enumerate(spec.outputs):
            self._slot(name, (*loc, "call", "outputs", j))

    def _inputs(self, bot_id: str, flow: str | None, given: Mapping[str, object], loc: Loc) -> None:
        """A call that passes inputs the called flow never reads while the flow reads
        inputs the call does not pass: the names don't match (``postcode`` given,
        ``inputs.post_code`` read), and the flow works on nothing. An input read but not
        passed by a call that passes nothing else is left alone: it may be optional."""
        called = self.project.bots[bot_id]
        flow = flow or called.settings.start_flow
        if flow is None or flow not in called.flows:
            return
        read: set[str] = set()
        for _, step_loc, step in walk_flows({flow: called.flows[flow]}):
            for text in step_texts(step, step_loc):
                try:
                    read |= self.reader.read(text.text, is_condition=text.is_condition).inputs
                except TemplateSyntaxError:
                    continue  # reported where the callee's file is checked
        unused = [name for name in given if name not in read]
        missing = sorted(read - set(given))
        if not unused or not missing:
            return
        for name in unused:
            message = (
                f"passes input '{name}', which flow '{flow}' of bot '{bot_id}' never reads; "
                f"it reads {listing(missing)}, which this call does not pass"
            )
            fix = did_you_mean(name, missing, f"name it as the flow reads it: {listing(missing)}")
            self._add((*loc, "inputs", name), message, fix)

    def _called(self, bot_id: str, flow: str | None, loc: Loc, outputs: Sequence[str] = ()) -> None:
        """The called flow exists and returns every output the call takes."""
        called = self.project.bots[bot_id]
        flow = flow or called.settings.start_flow
        if flow is None:
            message = f"calls bot '{bot_id}', which has no start_flow, so the call does nothing"
            fix = f"name the flow: `call: {{bot: {bot_id}, flow: ...}}`, or give it a start_flow"
            self._add(loc, message, fix)
            return
        returned = {
            key
            for _, _, step in walk_flows({flow: called.flows[flow]})
            if isinstance(step, ReturnStep) and step.return_ is not None
            for key in step.return_.outputs
        }
        for j, name in enumerate(outputs):
            if name not in returned:
                message = (
                    f"takes output '{name}', which flow '{flow}' of bot '{bot_id}' never returns"
                )
                otherwise = (
                    f"return it there: `- return: {{outputs: {{{name}: ...}}}}`"
                    if not returned
                    else f"it returns: {listing(returned)}"
                )
                self._add((*loc, "outputs", j), message, did_you_mean(name, returned, otherwise))

    def _text(self, text: Text, file: str) -> None:
        ref = _RESPONSE_REF.fullmatch(text.text.strip())
        if ref and not text.is_condition:
            self._response(ref.group(1), text.loc, file)
            return
        try:
            use = self.reader.read(text.text, is_condition=text.is_condition)
        except TemplateSyntaxError as error:
            self._syntax(text, file, error)
            return
        known = self.reader.known_names
        for name in sorted(use.names - known):
            otherwise = f"templates can use: {listing(RUNTIME_NAMES)}"
            fix = did_you_mean(name, known, otherwise)
            self._add(text.loc, f"unknown name '{name}' in template", fix, file)
        for name in sorted(use.slots):
            self._slot_read(name, text.loc, file)
        for name in sorted(use.contact - CONTACT_KEYS):
            fix = did_you_mean(name, CONTACT_KEYS, f"contact holds {listing(CONTACT_KEYS)}")
            self._add(text.loc, f"unknown contact attribute '{name}' in template", fix, file)
        for bot, key in sorted(use.reads, key=lambda r: (r[0], r[1] or "")):
            self._read(bot, key, text.loc, file)

    def _syntax(self, text: Text, file: str, error: TemplateSyntaxError) -> None:
        said = error.message or ""
        unknown_filter = re.match(r"No filter named '([^']+)'", said)
        if unknown_filter:
            name = unknown_filter.group(1)
            filters = sorted(self.reader.filters)
            message = f"unknown filter '{name}'"
            fix = did_you_mean(name, filters, f"filters: {', '.join(filters)}")
        elif text.is_condition:
            detail = said.replace("unexpected 'end of template'", "the condition ends too early")
            message = f"invalid condition: {detail}"
            fix = "write a bare Jinja expression without {{ }}, e.g. `slots.age >= 18`"
            if re.search(r"[^=!<>]=[^=]", text.text):
                fix = "compare with `==` (a single `=` assigns), e.g. `slots.size == 'small'`"
        else:
            message = f"invalid template: {said}"
            fix = "close every {{ with }} and every {% with %}"
        self._add(text.loc, message, fix, file)

    def _slot_read(self, name: str, loc: Loc, file: str) -> None:
        declared = self.bot.settings.slots
        if name not in declared:
            message = f"template reads slot '{name}', which {self.bot_file} does not declare"
            add = f"declare it under `slots:` in {self.bot_file}"
            self._add(loc, message, did_you_mean(name, declared, add), file)

    def _read(self, bot: str, key: str | None, loc: Loc, file: str) -> None:
        if bot == self.bot.bot_id:
            return
        reads = self.bot.settings.context.reads
        if key is None:
            if any(r.startswith(f"{bot}.") for r in reads):
                return
            message = f"template reads context of bot '{bot}', but context.reads lists none of it"
            fix = (
                f"read a declared key, e.g. context.{bot}.KEY, and add '{bot}.KEY' to context.reads"
            )
            self._add(loc, message, fix, file)
            return
        if f"{bot}.{key}" in reads:
            return
        message = f"template reads context key '{bot}.{key}', which context.reads does not list"
        add = f"add '{bot}.{key}' under `context: reads:` in {self.bot_file}"
        self._add(loc, message, did_you_mean(f"{bot}.{key}", reads, add), file)

    def _response(self, name: str, loc: Loc, file: str) -> None:
        responses = self.bot.responses
        if name in responses:
            return
        message = f"response '@{name}' is not defined in bots/{self.bot.bot_id}/responses.yml"
        add = f"add `{name}: ...` under `responses:` in bots/{self.bot.bot_id}/responses.yml"
        self._add(loc, message, did_you_mean(name, responses, add), file)
