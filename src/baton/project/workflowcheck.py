"""Checks of ``workflows/*.yml``: names, values, and loops between workflows.

Known tags are those declared in ``baton.yml`` (``workflows.tags``) and those a
workflow action adds; known fields are the declared ones, those a ``set_field``
action sets, the fields of declared forms, and ``language``. A tag or field
that a trigger or condition tests but nothing declares or sets is flagged,
since that workflow could never run (most often a typo). Values are checked as
the runtime reads them: a pause's ``until`` as ``datetime.fromisoformat`` does,
times of day as ``HH:MM`` on a 24-hour clock, languages as the API's codes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from baton.domain.errors import Problem
from baton.project import workflowvalues as values
from baton.project.hints import did_you_mean, listing
from baton.project.steps import walk_flows
from baton.project.workflowloops import check_loops
from baton.spec.flow import FireSpec, FireStep
from baton.spec.project import Project
from baton.spec.settings import CHANNELS
from baton.spec.workflow import (
    ActionSpec,
    AssignAction,
    BotActionTrigger,
    ConditionSpec,
    FieldTrigger,
    LanguageTrigger,
    WorkflowFile,
)
from baton.spec.yamlfile import Loc, Locator


def check_workflows(project: Project, at: Locator) -> list[Problem]:
    """Every problem of the project's workflows, with file, line and fix."""
    known = _Known(project)
    problems: list[Problem] = []
    for name, workflow in project.workflows.items():
        problems += _Checker(project, known, at, f"workflows/{name}.yml").check(workflow)
    problems += known.check_declared(at)
    problems += check_loops(project, at)
    return problems


def known_names(project: Project) -> tuple[set[str], set[str]]:
    """The project's known tags and fields: declared in baton.yml (fields of forms and
    ``language`` included), or added and set by a workflow's actions."""
    settings = project.settings.workflows
    tags = set(settings.tags)
    fields = set(settings.fields) | {"language"}
    for form in settings.forms.values():
        fields.update(form.fields)
    for workflow in project.workflows.values():
        for action in workflow.actions:
            if action.add_tag is not None:
                tags.add(action.add_tag)
            if action.set_field is not None:
                fields.add(action.set_field.name)
    return tags, fields


class _Known:
    def __init__(self, project: Project) -> None:
        self.tags, self.fields = known_names(project)
        self.forms = project.settings.workflows.forms
        self.fired: dict[str, set[str]] = {}
        for bot in project.bots.values():
            for _, _, step in walk_flows(bot.flows):
                if isinstance(step, FireStep):
                    fire = (
                        step.fire if isinstance(step.fire, FireSpec) else FireSpec(name=step.fire)
                    )
                    self.fired.setdefault(bot.bot_id, set()).add(fire.name)
        self.project = project

    def check_declared(self, at: Locator) -> list[Problem]:
        """Problems of the names and codes declared under ``workflows:`` in baton.yml."""
        return [
            at.problem("baton.yml", ("workflows", *loc), message, fix)
            for loc, message, fix in values.declared(self.project.settings.workflows)
        ]


class _Checker:
    def __init__(self, project: Project, known: _Known, at: Locator, file: str) -> None:
        self.project = project
        self.known = known
        self.at = at
        self.file = file
        self.problems: list[Problem] = []

    def add(self, loc: Loc, message: str, fix: str) -> None:
        self.problems.append(self.at.problem(self.file, loc, message, fix))

    def add_all(self, findings: Iterable[values.Finding]) -> None:
        for loc, message, fix in findings:
            self.add(loc, message, fix)

    def check(self, workflow: WorkflowFile) -> list[Problem]:
        self._trigger(workflow)
        if workflow.conditions is not None:
            listed = workflow.conditions
            if isinstance(listed, list):
                for i, condition in enumerate(listed):
                    self._conditions(condition, ("conditions", i))
            else:
                self._conditions(listed, ("conditions",))
        for i, action in enumerate(workflow.actions):
            self._action(action, ("actions", i, action.kind))
        self.add_all(values.after_end(workflow.actions))
        return self.problems

    # -- names ------------------------------------------------------------------

    def bot(self, bot: str, loc: Loc) -> None:
        if bot not in self.project.bots:
            fix = did_you_mean(bot, self.project.bots, f"bots: {listing(self.project.bots)}")
            self.add(loc, f"unknown bot '{bot}'", fix)

    def named(self, what: str, name: str, loc: Loc) -> bool:
        """Whether ``name`` is not blank (a blank one is flagged)."""
        self.add_all(values.blank(what, name, loc))
        return bool(name.strip())

    def tag(self, tag: str, loc: Loc) -> None:
        if not self.named("tag", tag, loc):
            return
        if tag not in self.known.tags:
            otherwise = "declare it under `workflows: {tags: [...]}` in baton.yml"
            self.add(loc, f"unknown tag '{tag}'", did_you_mean(tag, self.known.tags, otherwise))

    def field(self, field: str, loc: Loc) -> None:
        if not self.named("field", field, loc):
            return
        if field not in self.known.fields:
            otherwise = "declare it under `workflows: {fields: [...]}` in baton.yml"
            message = f"unknown field '{field}'"
            self.add(loc, message, did_you_mean(field, self.known.fields, otherwise))

    def channels(self, channels: str | list[str] | None, loc: Loc) -> None:
        # Any known channel: the server takes messages on channels baton.yml doesn't
        # list (they are held, `message_held`), and workflows run on them.
        for channel in [channels] if isinstance(channels, str) else channels or []:
            if channel not in CHANNELS:
                fix = did_you_mean(channel, CHANNELS, f"known channels: {listing(CHANNELS)}")
                self.add(loc, f"unknown channel '{channel}'", fix)

    # -- parts --------------------------------------------------------------------

    def _trigger(self, workflow: WorkflowFile) -> None:
        trigger = workflow.trigger
        loc: Loc = ("trigger", trigger.kind)
        if trigger.tag_added is not None:
            self.tag(trigger.tag_added, loc)
        if trigger.tag_removed is not None:
            self.tag(trigger.tag_removed, loc)
        if trigger.field_updated is not None:
            spec = trigger.field_updated
            name = spec.field if isinstance(spec, FieldTrigger) else spec
            self.field(name, loc)
        if trigger.form_submitted is not None and trigger.form_submitted not in self.known.forms:
            form = trigger.form_submitted
            otherwise = (
                "declare it under `workflows: {forms: {NAME: {fields: [...]}}}` in baton.yml"
            )
            fix = did_you_mean(form, self.known.forms, otherwise)
            self.add(loc, f"unknown form '{form}'", fix)
        if trigger.bot_action is not None:
            self._bot_action(trigger.bot_action, loc)
        if trigger.appointment_booked is not None and trigger.appointment_booked.bot:
            self.bot(trigger.appointment_booked.bot, (*loc, "bot"))
        if trigger.message_received is not None:
            spec_message = trigger.message_received
            self.channels(spec_message.channel, (*loc, "channel"))
            if spec_message.pattern is not None:
                try:
                    re.compile(spec_message.pattern)
                except re.error as error:
                    fix = "write a Python regular expression (quote it in YAML)"
                    self.add((*loc, "pattern"), f"bad pattern: {error}", fix)
        if trigger.conversation_started is not None:
            self.channels(trigger.conversation_started.channel, (*loc, "channel"))
        if trigger.language_detected is not None:
            self._detected(trigger.language_detected, loc)

    def _detected(self, spec: LanguageTrigger | str, loc: Loc) -> None:
        wanted = spec.language if isinstance(spec, LanguageTrigger) else spec
        if isinstance(spec, LanguageTrigger):
            loc = (*loc, "language")
        detection = self.project.settings.workflows.language_detection
        self.add_all(values.detected(wanted, detection, loc))

    def _bot_action(self, spec: BotActionTrigger | str, loc: Loc) -> None:
        action = spec if isinstance(spec, str) else spec.action
        bot = None if isinstance(spec, str) else spec.bot
        if bot is not None:
            self.bot(bot, (*loc, "bot"))
            if bot not in self.project.bots:
                return
        sources = [bot] if bot else list(self.known.fired)
        fired = {name for b in sources for name in self.known.fired.get(b, set())}
        if action not in fired:
            where = f"bot '{bot}'" if bot else "any bot"
            message = f"no `fire: {action}` step in {where}'s flows, so this never triggers"
            self.add(loc, message, did_you_mean(action, fired, f"fired actions: {listing(fired)}"))

    def _conditions(self, condition: ConditionSpec, loc: Loc) -> None:
        for child_loc, child in _walk(condition, loc):
            here = (*child_loc, child.kind)
            if child.tag is not None:
                self.tag(child.tag, here)
            if child.field is not None:
                self.field(child.field.name, (*here, "name"))
            if child.bot is not None and child.bot != "none":
                self.bot(child.bot, here)
            if child.bot_status is not None and child.bot_status.bot is not None:
                self.bot(child.bot_status.bot, (*here, "bot"))
            if child.channel is not None:
                self.channels(child.channel, here)
            if child.language is not None:
                self.add_all(values.languages(child.language, here))
            if child.time is not None:
                self.add_all(values.time_window(child.time, here))

    def _action(self, action: ActionSpec, loc: Loc) -> None:
        self._literal_texts(action, loc)
        if action.assign is not None:
            spec = action.assign
            bot = spec.bot if isinstance(spec, AssignAction) else spec
            self.bot(bot, (*loc, "bot") if isinstance(spec, AssignAction) else loc)
        if action.set_status is not None:
            if action.set_status.bot is not None:
                self.bot(action.set_status.bot, (*loc, "bot"))
            self.add_all(values.status(action.set_status, loc))
        if action.add_tag is not None:
            self.named("tag", action.add_tag, loc)
        if action.remove_tag is not None:
            self.tag(action.remove_tag, loc)
        if action.set_field is not None:
            self.named("field", action.set_field.name, (*loc, "name"))
        if action.wait is not None and action.wait.total_minutes <= 0:
            self.add(loc, "a wait needs a duration", "set minutes:, hours: or days:")
        if action.webhook is not None:
            url = action.webhook.url
            if not url.startswith(("http://", "https://")):
                self.add((*loc, "url"), f"webhook url '{url}' is not http(s)", "use https://...")

    def _literal_texts(self, action: ActionSpec, loc: Loc) -> None:
        """A workflow's texts are used as written (no template is rendered in them):
        ``{{ payload.size }}`` in a `send` reached the contact as typed. (A webhook's
        payload goes to a machine, which may do its own templating: left alone.)"""
        texts: list[tuple[Loc, object]] = [((*loc, "send"), action.send)]
        if action.set_field is not None:
            texts.append(((*loc, "set_field", "value"), action.set_field.value))
        for where, text in texts:
            if isinstance(text, str) and ("{{" in text or "{%" in text):
                message = "a workflow's texts are used as written, so this {{ }} would be too"
                fix = (
                    "write it as plain text; to say something built from the conversation, "
                    "assign a bot whose flow says it (a flow's `say` can use templates)"
                )
                self.add(where, message, fix)


def _walk(condition: ConditionSpec, loc: Loc) -> Iterator[tuple[Loc, ConditionSpec]]:
    yield loc, condition
    for key, children in (("all", condition.all_), ("any", condition.any_)):
        for i, child in enumerate(children or []):
            yield from _walk(child, (*loc, key, i))
    if condition.not_ is not None:
        yield from _walk(condition.not_, (*loc, "not"))
