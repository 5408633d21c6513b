"""The whole-project check run by ``baton check`` and by every load.

Checks, each reported with the file, the line and a fix:

- baton.yml: channels are known; the ``actions`` file exists; the project has bots;
- primary bots: at least one; at most one per channel; every channel has one;
- bot.yml: channels are the project's; ``start_flow`` exists; ``context.reads``
  are ``bot.key`` keys that their bot writes; ``context.writes`` are own keys;
- intents.yml: the flow an intent starts exists;
- flows.yml: every flow is reachable (an intent, ``start_flow`` or a ``call``
  with ``flow:``), and the step checks of :mod:`baton.project.flowcheck`.
"""

from __future__ import annotations

from baton.domain.errors import Problem
from baton.project.flowcheck import FlowChecker
from baton.project.hints import closest, did_you_mean, listing
from baton.project.steps import walk_flows
from baton.project.workflowcheck import check_workflows
from baton.spec.flow import AskStep, CallStep
from baton.spec.project import BotDefinition, Project
from baton.spec.settings import CHANNELS
from baton.spec.yamlfile import Locator, Sources

BATON = "baton.yml"


def check_project(project: Project, sources: Sources | None = None) -> list[Problem]:
    """Every semantic problem in ``project``, sorted by file and line.

    ``sources`` are the parsed files the project was loaded from (for lines);
    files not given are read from ``project.root`` when a line is needed.
    """
    at = Locator(project.root, sources)
    problems = [*_settings(project, at), *_primaries(project, at)]
    called = _called_flows(project)
    for bot in project.bots.values():
        problems += _bot_settings(project, bot, at)
        problems += _intents(bot, at)
        problems += _reachability(bot, called, at)
        problems += FlowChecker(project, bot, at).check()
    problems += check_workflows(project, at)
    return sorted(problems, key=lambda p: (p.file, p.line, p.message))


def _settings(project: Project, at: Locator) -> list[Problem]:
    problems: list[Problem] = []
    for i, channel in enumerate(project.settings.channels):
        if channel not in CHANNELS:
            fix = did_you_mean(channel, CHANNELS, f"known channels: {listing(CHANNELS)}")
            problems.append(at.problem(BATON, ("channels", i), f"unknown channel '{channel}'", fix))
    actions = project.settings.actions
    if actions is not None and not (project.root / actions).is_file():
        message = f"actions file '{actions}' does not exist"
        fix = f"create {actions} next to baton.yml, or remove `actions:`"
        problems.append(at.problem(BATON, ("actions",), message, fix))
    if not project.bots:
        fix = "create bots/<bot_id>/bot.yml with at least `name:` and `primary: true`"
        problems.append(at.problem(BATON, (), "the project has no bots", fix))
    return problems


def _channels(project: Project, bot: BotDefinition) -> list[str]:
    return bot.settings.channels or project.settings.channels


def _primaries(project: Project, at: Locator) -> list[Problem]:
    primaries = sorted((b for b in project.bots.values() if b.settings.primary), key=_id)
    if not project.bots:
        return []
    if not primaries:
        message = "no bot is primary, so messages not routed elsewhere have no bot"
        fix = "set `primary: true` in the bot.yml of the bot that greets users"
        return [at.problem(BATON, (), message, fix)]
    problems: list[Problem] = []
    clashes: dict[tuple[str, str], list[str]] = {}
    for channel in project.settings.channels:
        serving = [b.bot_id for b in primaries if channel in _channels(project, b)]
        for other in serving[1:]:
            clashes.setdefault((serving[0], other), []).append(channel)
        if not serving and channel != "cli":
            message = f"no primary bot serves channel '{channel}'"
            fix = f"add '{channel}' to a primary bot's channels, or remove it from baton.yml"
            loc = ("channels", project.settings.channels.index(channel))
            problems.append(at.problem(BATON, loc, message, fix))
    for (first, other), channels in clashes.items():
        message = (
            f"bots '{first}' and '{other}' are both primary on channel(s) {', '.join(channels)}"
        )
        fix = "keep one primary bot per channel: set `primary: false` here or split `channels:`"
        problems.append(at.problem(f"bots/{other}/bot.yml", ("primary",), message, fix))
    return problems


def _id(bot: BotDefinition) -> str:
    return bot.bot_id


def _bot_settings(project: Project, bot: BotDefinition, at: Locator) -> list[Problem]:
    file = f"bots/{bot.bot_id}/bot.yml"
    settings = bot.settings
    problems: list[Problem] = []
    served = project.settings.channels
    for i, channel in enumerate(settings.channels):
        if channel not in served:
            message = f"channel '{channel}' is not one of the project's channels"
            otherwise = f"add it to `channels:` in baton.yml (now {listing(served)})"
            problems.append(
                at.problem(file, ("channels", i), message, did_you_mean(channel, served, otherwise))
            )
    if settings.start_flow is not None and settings.start_flow not in bot.flows:
        message = f"start_flow '{settings.start_flow}' is not a flow of this bot"
        otherwise = f"define it in bots/{bot.bot_id}/flows.yml (flows: {listing(bot.flows)})"
        fix = did_you_mean(settings.start_flow, bot.flows, otherwise)
        problems.append(at.problem(file, ("start_flow",), message, fix))
    asked_as = {
        step.ask.slot
        for _flow, _loc, step in walk_flows(bot.flows)
        if isinstance(step, AskStep) and step.ask.type is not None
    }
    for name, slot in settings.slots.items():
        if slot.min is not None and slot.max is not None and slot.min > slot.max:
            message = f"slot '{name}' has min {slot.min:g} above max {slot.max:g}: no answer fits"
            fix = "swap them, or fix the one that is wrong"
            problems.append(at.problem(file, ("slots", name, "min"), message, fix))
        if name in asked_as:  # an ask that reads it as a number or a choice uses them
            continue
        ignored = [key for key in ("min", "max") if getattr(slot, key) is not None]
        ignored = ignored if slot.type != "number" else []
        ignored += ["choices"] if slot.choices and slot.type != "choice" else []
        for key in ignored:  # only a number has bounds, only a choice has choices
            message = f"slot '{name}' is of type {slot.type}, which ignores `{key}`"
            want = "number" if key in ("min", "max") else "choice"
            fix = f"write `type: {want}` if it is meant, or remove `{key}`"
            problems.append(at.problem(file, ("slots", name, key), message, fix))
    problems += _group(project, bot, at)
    problems += _contract(project, bot, at)
    return problems


def _group(project: Project, bot: BotDefinition, at: Locator) -> list[Problem]:
    """A group no other bot is in, named like another group: a typo that would turn
    collaboration off for this bot without a word."""
    group = bot.settings.group
    if group is None or len(project.group_members(group)) > 1:
        return []
    shared = sorted(
        {b.settings.group for b in project.bots.values() if b.settings.group and b is not bot}
    )
    close = closest(group, [g for g in shared if g != group])
    if close is None:
        return []
    message = f"no other bot is in collaboration group '{group}', so none can take over here"
    return [
        at.problem(f"bots/{bot.bot_id}/bot.yml", ("group",), message, f"did you mean '{close}'?")
    ]


def _contract(project: Project, bot: BotDefinition, at: Locator) -> list[Problem]:
    file = f"bots/{bot.bot_id}/bot.yml"
    problems: list[Problem] = []
    for i, key in enumerate(bot.settings.context.writes):
        if "." in key:
            message = f"context.writes lists '{key}'; a bot writes only its own keys"
            fix = f"write the key without a bot prefix: '{key.rpartition('.')[2]}'"
            problems.append(at.problem(file, ("context", "writes", i), message, fix))
    writes = bot.settings.context.writes
    for i, key in enumerate(bot.settings.context.contact):
        if key in writes:
            continue
        own = key.rpartition(".")[2] if key.startswith(f"{bot.bot_id}.") else key
        if own in writes:
            message = f"context.contact lists '{key}'; keys are named without the bot prefix"
            fix = f"write '{own}'"
        else:
            message = f"context.contact lists '{key}', which this bot does not write"
            fix = did_you_mean(key, writes, f"add '{key}' to context.writes, or remove it here")
        problems.append(at.problem(file, ("context", "contact", i), message, fix))
    for i, read in enumerate(bot.settings.context.reads):
        loc = ("context", "reads", i)
        owner, dot, key = read.partition(".")
        if not dot or not owner or not key:
            fix = "name the key with its bot, e.g. 'assessment.risk'"
            problems.append(at.problem(file, loc, f"context read '{read}' is not 'bot.key'", fix))
        elif owner not in project.bots:
            fix = did_you_mean(owner, project.bots, f"bots: {listing(project.bots)}")
            problems.append(
                at.problem(file, loc, f"reads a key of bot '{owner}', which does not exist", fix)
            )
        elif key not in project.bots[owner].settings.context.writes:
            writes = project.bots[owner].settings.context.writes
            message = f"reads '{read}', a key that no bot writes"
            otherwise = f"add '{key}' to context.writes of bots/{owner}/bot.yml"
            problems.append(at.problem(file, loc, message, did_you_mean(key, writes, otherwise)))
    return problems


def _intents(bot: BotDefinition, at: Locator) -> list[Problem]:
    file = f"bots/{bot.bot_id}/intents.yml"
    problems: list[Problem] = []
    first: dict[str, str] = {}  # an example (case and spacing aside) -> its first intent
    for name, spec in bot.intents.items():
        own: set[str] = set()
        for k, example in enumerate(spec.examples):
            key = " ".join(example.lower().split())
            if key in own:
                message = f"'{example}' is an example of intent '{name}' twice"
                fix = "remove this one: a repeat only weighs the example more"
                problems.append(at.problem(file, ("intents", name, "examples", k), message, fix))
                continue
            own.add(key)
            other = first.setdefault(key, name)
            if other != name:
                message = (
                    f"'{example}' is an example of intents '{other}' and '{name}': "
                    "the classifier can't tell them apart on it"
                )
                fix = "keep it in the one intent it means"
                problems.append(at.problem(file, ("intents", name, "examples", k), message, fix))
    for name, spec in bot.intents.items():
        flow = spec.flow or name
        if flow in bot.flows:
            continue
        loc = ("intents", name, "flow") if spec.flow else ("intents", name)
        message = f"intent '{name}' starts flow '{flow}', which bots/{bot.bot_id}/flows.yml lacks"
        otherwise = f"add a flow '{flow}', or set `flow:` to one of: {listing(bot.flows)}"
        problems.append(at.problem(file, loc, message, did_you_mean(flow, bot.flows, otherwise)))
    return problems


def _called_flows(project: Project) -> set[tuple[str, str]]:
    """(bot, flow) pairs that some ``call`` step starts by name."""
    called: set[tuple[str, str]] = set()
    for bot in project.bots.values():
        for _, _, step in walk_flows(bot.flows):
            if isinstance(step, CallStep) and not isinstance(step.call, str) and step.call.flow:
                called.add((step.call.bot, step.call.flow))
    return called


def _reachability(bot: BotDefinition, called: set[tuple[str, str]], at: Locator) -> list[Problem]:
    started = {spec.flow or name for name, spec in bot.intents.items()}
    if bot.settings.start_flow:
        started.add(bot.settings.start_flow)
    problems: list[Problem] = []
    for name in bot.flows:
        if name in started or (bot.bot_id, name) in called:
            continue
        message = f"flow '{name}' is never started"
        fix = (
            f"start it from an intent (an intent named '{name}' or `flow: {name}`), "
            "make it the bot's start_flow, call it from another bot, or delete it"
        )
        problems.append(at.problem(f"bots/{bot.bot_id}/flows.yml", ("flows", name), message, fix))
    return problems
