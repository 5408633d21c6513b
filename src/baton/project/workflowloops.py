"""Loops between workflows: actions that start again the workflows that ran them.

At run time a tag or field action raises a signal only when it changes the
contact (``change_tag`` and ``set_field`` in ``baton.workflows.engine``): adding
a tag the contact has, or setting a field to the value it holds, triggers
nothing. So a chain of workflows that trigger each other repeats only when its
changes are undone along the way (a tag removed and added again, a field set to
two values in turn), by the chain's workflows or those they trigger. Those
chains are reported; the others stop by themselves after one round and are not.
Conditions are assumed to hold: a loop that only a condition stops is one edit
away from looping.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from baton.domain.errors import Problem
from baton.spec.project import Project
from baton.spec.workflow import FieldTrigger, WorkflowFile
from baton.spec.yamlfile import Locator
from baton.workflows.signals import Signal, matches


@dataclass(frozen=True, slots=True)
class _Effect:
    """A change one action makes to the contact, as the signal it raises."""

    workflow: str
    index: int
    signal: Signal
    after_wait: bool

    def undoes(self, other: _Effect) -> bool:
        """Whether this change lets ``other`` change the contact again."""
        mine, theirs = self.signal, other.signal
        if {mine.kind, theirs.kind} == {"tag_added", "tag_removed"}:
            return mine.data["tag"] == theirs.data["tag"]
        return (
            mine.kind == theirs.kind == "field_updated"
            and mine.data["field"] == theirs.data["field"]
            and mine.data["value"] != theirs.data["value"]
        )

    def describe(self) -> str:
        """What the action does, in words."""
        data = self.signal.data
        if self.signal.kind == "field_updated":
            return f"sets field {data['field']} to {data['value']!r}"
        verb = "adds" if self.signal.kind == "tag_added" else "removes"
        return f"{verb} tag {data['tag']}"


def check_loops(project: Project, at: Locator) -> list[Problem]:
    """One problem per group of workflows that can keep re-triggering each other."""
    workflows = {n: w for n, w in sorted(project.workflows.items()) if w.enabled}
    effects = {name: _effects(name, w) for name, w in workflows.items()}
    edges = {
        source: {
            target: [e for e in effects[source] if matches(target, w.trigger, e.signal)]
            for target, w in workflows.items()
        }
        for source in workflows
    }
    edges = {s: {t: found for t, found in targets.items() if found} for s, targets in edges.items()}
    reach = {name: _reachable(name, edges) for name in workflows}
    problems: list[Problem] = []
    done: set[str] = set()
    for name in workflows:
        group = {other for other in reach[name] if name in reach[other]}
        if name in done or not group:
            continue
        done |= group
        closure = set().union(*(reach[member] for member in group)) | group
        undoers = [e for member in sorted(closure) for e in effects[member]]
        cycle = _shortest_cycle(sorted(group), edges, undoers)
        if cycle:
            problems.append(_problem(project, at, cycle, undoers))
    return problems


def _effects(name: str, workflow: WorkflowFile) -> list[_Effect]:
    found: list[_Effect] = []
    waited = False
    for index, action in enumerate(workflow.actions):
        if action.end is not None:
            break  # nothing after an `end` runs
        if action.wait is not None:
            waited = True
        signal = None
        if action.add_tag is not None:
            signal = Signal("tag_added", {"tag": action.add_tag})
        elif action.remove_tag is not None:
            signal = Signal("tag_removed", {"tag": action.remove_tag})
        elif action.set_field is not None:
            spec = action.set_field
            signal = Signal("field_updated", {"field": spec.name, "value": spec.value})
        if signal is not None:
            found.append(_Effect(name, index, signal, waited))
    return found


def _reachable(start: str, edges: dict[str, dict[str, list[_Effect]]]) -> set[str]:
    """The workflows a run of ``start`` can trigger, directly or not."""
    seen: set[str] = set()
    todo = list(edges[start])
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(edges[name])
    return seen


Step = tuple[str, _Effect]


def _shortest_cycle(
    group: list[str], edges: dict[str, dict[str, list[_Effect]]], undoers: list[_Effect]
) -> list[Step]:
    """The shortest loop in ``group`` whose every change can be undone (empty if none)."""

    def repeatable(source: str, target: str) -> _Effect | None:
        for effect in edges[source].get(target, []):
            if any(u.undoes(effect) for u in undoers):
                return effect
        return None

    best: list[Step] = []
    for start in group:
        previous: dict[str, Step] = {}
        queue = deque([start])
        while queue:
            name = queue.popleft()
            for target in sorted(edges[name]):
                effect = repeatable(name, target)
                if effect is None or target not in group or target in previous:
                    continue
                previous[target] = (name, effect)
                if target == start:
                    queue.clear()
                    break
                queue.append(target)
        if start not in previous:
            continue
        cycle: list[Step] = []
        node = start
        while True:
            source, effect = previous[node]
            cycle.append((source, effect))
            node = source
            if node == start:
                break
        cycle.reverse()
        if not best or len(cycle) < len(best):
            best = cycle
    return best


def _problem(project: Project, at: Locator, cycle: list[Step], undoers: list[_Effect]) -> Problem:
    def where(name: str) -> str:
        file = f"workflows/{name}.yml"
        return f"{file}:{at.line(file, ('trigger', project.workflows[name].trigger.kind))}"

    def action_line(effect: _Effect) -> int:
        file = f"workflows/{effect.workflow}.yml"
        return at.line(file, ("actions", effect.index))

    first = cycle[0][0]
    steps = " → ".join(
        f"{source} ({where(source)}, on {_trigger(project.workflows[source])}) "
        f"{effect.describe()} at line {action_line(effect)}"
        for source, effect in cycle
    )
    undone = []
    for _, effect in cycle:
        undo = next(u for u in undoers if u.undoes(effect))
        file = f"workflows/{undo.workflow}.yml"
        undone.append(f"{undo.workflow} {undo.describe()} ({file}:{action_line(undo)})")
    chain = f"{steps} → {first} again; each round changes the contact anew because " + (
        " and ".join(dict.fromkeys(undone))
    )
    alone = len(cycle) == 1
    head = "this workflow re-triggers itself" if alone else "these workflows re-trigger each other"
    settings = project.settings.workflows
    if any(effect.after_wait for _, effect in cycle):
        outcome = (
            "it goes on after each `wait`, in later turns, until the conversation's rate bound "
            f"({settings.max_runs} runs per {settings.window_minutes:g} minutes) stops it with "
            "workflow_bound_reached (rate)"
        )
    else:
        outcome = (
            f"every turn that starts it runs it {settings.max_depth} levels deep "
            "(workflows.max_depth) until workflow_bound_reached (depth) stops it"
        )
    message = f"{head}: {chain}; {outcome}"
    fix = (
        "break the loop: drop the action that undoes the change, or add a condition that "
        "fails the second time round (e.g. `not: {tag: ...}`)"
    )
    file = f"workflows/{first}.yml"
    return at.problem(file, ("trigger", project.workflows[first].trigger.kind), message, fix)


def _trigger(workflow: WorkflowFile) -> str:
    trigger = workflow.trigger
    value = trigger.value()
    if isinstance(value, FieldTrigger):
        to = "" if value.to is None else f" to {value.to!r}"
        return f"field_updated: {value.field}{to}"
    return f"{trigger.kind}: {value}"
