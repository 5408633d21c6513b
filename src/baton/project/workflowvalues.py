"""Values in workflows checked as the runtime reads them: times, pauses, languages, names.

Each check yields findings, ``(loc, message, fix)``, for the caller to place in
its file. A pause's ``until`` is read with ``datetime.fromisoformat`` (no zone:
UTC), as the engine reads it; a time of day is ``HH:MM`` on a 24-hour clock,
``before: "24:00"`` being midnight (the engine compares the texts); a language
is a code as the API takes one, and the detector names only the lower-case
ISO 639 codes listed in ``workflows.language_detection.languages``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from baton.domain.state import RUNS_KEPT
from baton.project.hints import did_you_mean, listing
from baton.spec.base import LANGUAGE_PATTERN
from baton.spec.workflow import (
    ActionSpec,
    LanguageDetection,
    StatusAction,
    TimeCondition,
    WorkflowSettings,
)
from baton.spec.yamlfile import Loc
from baton.workflows.language import DETECTABLE

#: a language code as the API takes one: en, pt-BR, zh-Hant
LANGUAGE = re.compile(LANGUAGE_PATTERN)
#: the detector (py3langid) names a language by its ISO 639 code alone: en, es, yue
DETECTOR_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
CLOCK = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$")

Finding = tuple[Loc, str, str]


def declared(settings: WorkflowSettings) -> Iterator[Finding]:
    """Names and codes under ``workflows:`` in baton.yml (locs below ``workflows``)."""
    if settings.max_runs > RUNS_KEPT:  # a conversation remembers no more runs than that
        message = (
            f"max_runs {settings.max_runs} is never reached: a conversation remembers its "
            f"last {RUNS_KEPT} workflow runs"
        )
        yield ("max_runs",), message, f"set it to {RUNS_KEPT} or less"
    for i, field in enumerate(settings.fields):
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", field):
            fix = "name fields with letters, digits and '_'"
            yield ("fields", i), f"bad field name '{field}'", fix
    for i, tag in enumerate(settings.tags):
        if not tag.strip():
            yield ("tags", i), "an empty tag name", "name the tag, or remove the empty item"
    for name, form in settings.forms.items():
        for i, field in enumerate(form.fields):
            if not field.strip():
                message = f"an empty field name in form '{name}'"
                yield ("forms", name, "fields", i), message, "name the field, or remove it"
    for i, language in enumerate(settings.language_detection.languages):
        if not DETECTOR_LANGUAGE.match(language):
            message = (
                f"'{language}' is not a language the detector can name: it names "
                "languages by their lower-case ISO 639 code alone"
            )
            fix = "write a code such as en, es, pt or yue (no region: pt, not pt-BR)"
            yield ("language_detection", "languages", i), message, fix
        elif language not in DETECTABLE:
            message = (
                f"'{language}' is not among the {len(DETECTABLE)} languages the detector "
                "knows: detection would fail on the first message"
            )
            fix = did_you_mean(
                language,
                sorted(DETECTABLE),
                "use an ISO 639 code the detector knows (en, es, pt, zh ...), or remove it",
            )
            yield ("language_detection", "languages", i), message, fix


def blank(what: str, name: str, loc: Loc) -> Iterator[Finding]:
    """An empty tag or field name."""
    if not name.strip():
        yield loc, f"an empty {what} name", f"write the {what}'s name"


def languages(codes: str | list[str] | None, loc: Loc) -> Iterator[Finding]:
    """Codes that are not language codes."""
    for code in [codes] if isinstance(codes, str) else codes or []:
        if not LANGUAGE.match(code):
            fix = "write a language code such as en, es or pt-BR"
            yield loc, f"'{code}' is not a language code", fix


def detected(
    codes: str | list[str] | None, detection: LanguageDetection, loc: Loc
) -> Iterator[Finding]:
    """A ``language_detected`` trigger on languages the detector never names."""
    if detection.enabled is False:
        message = "language detection is off in baton.yml, so this never triggers"
        yield loc, message, "remove `enabled: false` under `workflows: {language_detection: ...}`"
        return
    yield from languages(codes, loc)
    detectable = detection.languages or sorted(DETECTABLE)  # none listed: any it knows
    for code in [codes] if isinstance(codes, str) else codes or []:
        if code in detectable or not LANGUAGE.match(code):
            continue
        among = listing(detectable) if detection.languages else "the languages its model knows"
        message = (
            f"the detector never names '{code}' (it chooses among {among}), so this never triggers"
        )
        bare = code.split("-")[0].lower()
        settings = "`workflows: {language_detection: {languages: [...]}}` in baton.yml"
        if bare in detectable:
            fix = f"write '{bare}': the detector names a language by its lower-case code alone"
        elif DETECTOR_LANGUAGE.match(code) and code not in DETECTABLE:
            fix = did_you_mean(code, sorted(DETECTABLE), "write a code the detector knows")
        elif DETECTOR_LANGUAGE.match(code):
            fix = f"add '{code}' to {settings}"
        else:
            fix = f"write '{bare}' (the detector names no region) and add it to {settings}"
        yield loc, message, fix


def time_window(time: TimeCondition, loc: Loc) -> Iterator[Finding]:
    """A time condition's zone and times of day."""
    try:
        ZoneInfo(time.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        fix = "use an IANA name such as Europe/Madrid or UTC"
        yield (*loc, "timezone"), f"unknown timezone '{time.timezone}'", fix
    fix = "write HH:MM on a 24-hour clock, 00:00 to 23:59 (`before: '24:00'` is midnight)"
    for key, clock in (("after", time.after), ("before", time.before)):
        if clock is None or CLOCK.match(clock) or (key == "before" and clock == "24:00"):
            continue
        yield (*loc, key), f"'{clock}' is not a time of day", fix
    after = time.after or "00:00"  # no `after`: from midnight
    if after == time.before:
        message = f"the window {after}-{time.before} is empty (`after` and `before` are the same)"
        if time.after is None:
            message = f"`before: '{time.before}'` alone is an empty window (from 00:00)"
        yield (*loc, "before"), message, "widen the window, or leave out `before` (until midnight)"


def status(spec: StatusAction, loc: Loc) -> Iterator[Finding]:
    """A ``set_status`` whose duration the engine would ignore or fail on."""
    if spec.minutes is not None and spec.status != "paused":
        fix = "remove `minutes:`, or set `status: paused`"
        yield (*loc, "minutes"), "only a pause can last for a duration", fix
    if spec.until is None:
        return
    here = (*loc, "until")
    if spec.status != "paused":
        message = f"`until` only goes with a pause: with status {spec.status} it is ignored"
        yield here, message, "remove `until:`, or set `status: paused`"
    elif spec.minutes is not None:
        message = (
            f"a pause with both `minutes` and `until`: it lasts {spec.minutes:g} minutes "
            "and `until` is ignored"
        )
        yield here, message, "keep one of `minutes:` and `until:`"
    elif not _is_iso(spec.until):
        message = (
            f"`until` '{spec.until}' is not an ISO time: the action would fail "
            "and the bot would not be paused"
        )
        fix = "write a quoted ISO time such as '2026-12-01T09:00:00+01:00' (no zone: UTC)"
        yield here, message, fix


def after_end(actions: list[ActionSpec]) -> Iterator[Finding]:
    """Actions after an ``end``: the engine skips them."""
    ends = [i for i, action in enumerate(actions) if action.end is not None]
    if not ends or ends[0] == len(actions) - 1:
        return
    first = ends[0] + 1
    count = len(actions) - first
    what = "the action" if count == 1 else f"the {count} actions"
    them = "it" if count == 1 else "them"
    message = (
        f"{what} after `end` never {'runs' if count == 1 else 'run'}: the conversation "
        "has ended by then (the run records workflow_action_skipped)"
    )
    yield ("actions", first), message, f"move {them} before `end`, or remove {them}"


def _is_iso(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True
