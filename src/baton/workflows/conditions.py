"""Composable conditions (all, any, not) over what is known of the contact and conversation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from baton.domain.values import Value
from baton.spec.workflow import ConditionSpec, FieldCondition, TimeCondition

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class Facts:
    """What conditions may test."""

    tags: frozenset[str]
    fields: dict[str, Value]
    language: str | None
    channel: str
    bot: str | None
    status_of: Callable[[str], str]
    now: datetime
    human: bool = False
    mode: str = "auto"
    #: the bot assigned to the conversation (``bot`` falls back to the primary)
    assigned: str | None = None


def holds(condition: ConditionSpec, facts: Facts, trace: list[str]) -> bool:
    """Evaluate ``condition``; append one line per test (``✓ …`` or ``✗ …``) to ``trace``."""
    if condition.all_ is not None:
        return all([holds(c, facts, trace) for c in condition.all_])
    if condition.any_ is not None:
        tried: list[str] = []
        for child in condition.any_:
            own: list[str] = []
            if holds(child, facts, own):
                trace.extend(own)  # the alternative that held, not the ones that failed
                return True
            tried.extend(own)
        trace.extend(tried)
        return False
    if condition.not_ is not None:
        inner: list[str] = []
        result = not holds(condition.not_, facts, inner)
        trace.append(f"{'✓' if result else '✗'} not ({'; '.join(s[2:] for s in inner)})")
        return result
    result, text = _test(condition, facts)
    trace.append(f"{'✓' if result else '✗'} {text}")
    return result


def _test(c: ConditionSpec, facts: Facts) -> tuple[bool, str]:
    if c.tag is not None:
        return c.tag in facts.tags, f"tag {c.tag}"
    if c.field is not None:
        return _field(c.field, facts.fields.get(c.field.name)), f"field {c.field.name}"
    if c.channel is not None:
        options = [c.channel] if isinstance(c.channel, str) else c.channel
        return facts.channel in options, f"channel in {options} (is {facts.channel})"
    if c.language is not None:
        options = [c.language] if isinstance(c.language, str) else c.language
        return facts.language in options, f"language in {options} (is {facts.language})"
    if c.bot == "none":  # no bot assigned (the primary answering by default is none)
        return facts.assigned is None, f"bot none (assigned: {facts.assigned or 'none'})"
    if c.bot is not None:
        return facts.bot == c.bot, f"bot {c.bot} (is {facts.bot})"
    if c.bot_status is not None:
        bot = c.bot_status.bot or facts.bot
        status = facts.status_of(bot) if bot else "none"
        return status == c.bot_status.is_, f"bot {bot} is {c.bot_status.is_} (is {status})"
    if c.mode is not None:
        return facts.mode == c.mode, f"mode {c.mode} (is {facts.mode})"
    if c.human is not None:
        owner = "a human owns it" if facts.human else "no human owns it"
        return facts.human == c.human, f"human {str(c.human).lower()} ({owner})"
    if c.time is not None:
        return _time(c.time, facts.now)
    return False, "empty condition"  # pragma: no cover - the spec forbids it


def _field(spec: FieldCondition, value: Value) -> bool:
    if spec.exists is not None and (value is not None) != spec.exists:
        return False
    if spec.equals is not None and value != spec.equals:
        return False
    if spec.not_equals is not None and value == spec.not_equals:
        return False
    if spec.in_ is not None and value not in spec.in_:
        return False
    number = _number(value)
    if spec.gt is not None and (number is None or number <= spec.gt):
        return False
    if spec.lt is not None and (number is None or number >= spec.lt):
        return False
    tested = (spec.exists, spec.equals, spec.not_equals, spec.in_, spec.gt, spec.lt)
    return any(t is not None for t in tested) or value is not None


def _number(value: Value) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _time(spec: TimeCondition, now: datetime) -> tuple[bool, str]:
    local = now.astimezone(ZoneInfo(spec.timezone))
    clock = local.strftime("%H:%M")
    day = DAYS[local.weekday()]
    ok = True
    if spec.days and day not in spec.days:
        ok = False
    if spec.after is not None and spec.before is not None and spec.after > spec.before:
        ok = ok and (clock >= spec.after or clock < spec.before)  # across midnight
    else:
        if spec.after is not None and clock < spec.after:
            ok = False
        if spec.before is not None and clock >= spec.before:
            ok = False
    window = f"{spec.after or '00:00'}-{spec.before or '24:00'}"
    return ok, f"time {window} {spec.timezone} {'/'.join(spec.days)} (is {day} {clock})".replace(
        "  ", " "
    )
