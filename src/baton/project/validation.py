"""Validation of a YAML document against a spec model, with errors a user can act on.

Pydantic's error locations name union members as well as keys: a step error
reads ``('flows', 'x', 'steps', 1, 'say', 'extra')`` where the first ``say`` is
the tag of the step union, and ``('…', 'action', 'ActionSpec', 'name')`` names
the member tried. Such parts are dropped, the union member that fits the
written value is kept, and what remains is a path into the YAML document.
"""

from __future__ import annotations

import datetime
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from baton.domain.errors import Problem
from baton.project.hints import did_you_mean, listing
from baton.spec.base import CLOCK_PATTERN
from baton.spec.flow import STEP_KINDS, step_kind
from baton.spec.yamlfile import Loc, YamlDocument

M = TypeVar("M", bound=BaseModel)

_TYPE_NAMES = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}
_MEMBER_NAMES = {
    "str": "text",
    "constrained-str": "text",
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
}


@dataclass
class _Issue:
    loc: Loc
    type: str
    msg: str
    input: object
    ctx: dict[str, Any] = field(default_factory=dict)
    expected: list[str] = field(default_factory=list)


def validate(model: type[M], doc: YamlDocument) -> tuple[M | None, list[Problem]]:
    """Validate ``doc`` as ``model``; on failure, one problem per mistake."""
    name = PurePosixPath(doc.file).name
    if not isinstance(doc.data, dict):
        got = _describe(doc.data)
        fix = f"start {name} with keys, e.g. `name: ...`"
        return None, [
            Problem(doc.file, doc.line_of(()), f"{name} must be a mapping, got {got}", fix)
        ]
    try:
        return model.model_validate(doc.data), []
    except ValidationError as error:
        issues = [
            _Issue(
                _strip_step_tags(e["loc"], doc.data),
                e["type"],
                e["msg"],
                e["input"],
                e.get("ctx") or {},
            )
            for e in error.errors()
        ]
        problems = [_problem(model, doc, issue) for issue in _settle_unions(issues, doc.data)]
        return None, _unique(problems)


def _unique(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


def _strip_step_tags(loc: tuple[int | str, ...], data: object) -> Loc:
    """Drop the tag pydantic inserts after the index of a step in a list of steps."""
    kept: list[str | int] = []
    skipped = False
    cursor: object = data
    for i, part in enumerate(loc):
        is_last = i == len(loc) - 1
        after_index = bool(kept) and isinstance(kept[-1], int) and not skipped
        skipped = False
        if after_index and not is_last and isinstance(cursor, dict) and part == step_kind(cursor):
            skipped = True
            continue
        kept.append(part)
        cursor = _child(cursor, part)
    return tuple(kept)


def _child(value: object, part: str | int) -> object:
    if isinstance(value, dict) and isinstance(part, str):
        return value.get(part)
    if isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
        return value[part]
    return None


def _has(value: object, part: str | int) -> bool:
    if isinstance(value, dict):
        return part in value
    return isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value)


def _split(issue: _Issue, data: object) -> tuple[Loc, str | None, Loc]:
    """(path written in the file, union member named next or None, the rest of the loc)."""
    cursor = data
    for i, part in enumerate(issue.loc):
        if _has(cursor, part):
            cursor = _child(cursor, part)
            continue
        if i == len(issue.loc) - 1 and issue.type == "missing":
            break
        return issue.loc[:i], str(part), issue.loc[i + 1 :]
    return issue.loc, None, ()


def _settle_unions(issues: list[_Issue], data: object) -> list[_Issue]:
    """Keep the errors of the union member that fits the value; else one 'expected' error."""
    for _ in range(16):
        groups: dict[Loc, list[tuple[str, Loc, _Issue]]] = {}
        settled: list[_Issue] = []
        for issue in issues:
            path, member, rest = _split(issue, data)
            if member is None:
                settled.append(issue)
            else:
                groups.setdefault(path, []).append((member, rest, issue))
        if not groups:
            return settled
        for path, entries in groups.items():
            settled.extend(_settle_group(path, entries, _value_at(data, path)))
        issues = settled
    return issues


def _settle_group(path: Loc, entries: list[tuple[str, Loc, _Issue]], value: object) -> list[_Issue]:
    members = list(dict.fromkeys(member for member, _, _ in entries))
    if isinstance(value, dict):  # a model, maybe behind validators: function-after[..., Model]
        fitting = [m for m in members if m[:1].isupper() or m.startswith("function-")]
    elif isinstance(value, list):
        fitting = [m for m in members if m.startswith("list[")]
    elif isinstance(value, str):  # a text that breaks a text's own rule (empty)
        fitting = [m for m in members if m == "constrained-str"]
    else:
        fitting = []
    if fitting:
        chosen = fitting[0]
        return [
            _Issue((*path, *rest), issue.type, issue.msg, issue.input, issue.ctx)
            for member, rest, issue in entries
            if member == chosen
        ]
    expected = [_member_name(m) for m in members]
    return [_Issue(path, "union_type", "", value, expected=list(dict.fromkeys(expected)))]


def _either(names: list[str]) -> str:
    """``text, a number or true or false`` (a whole number is a number)."""
    if "a number" in names:
        names = [n for n in names if n != "a whole number"]
    if len(names) < 2:
        return "".join(names)
    return f"{', '.join(names[:-1])} or {names[-1]}"


def _member_name(member: str) -> str:
    if member in _MEMBER_NAMES:
        return _MEMBER_NAMES[member]
    if member.startswith("list["):
        return "a list of texts" if member in ("list[str]", "list[constrained-str]") else "a list"
    if member.startswith("literal["):
        return " or ".join(v.lower() for v in member[8:-1].split(","))
    return "a mapping"


def _value_at(data: object, path: Loc) -> object:
    for part in path:
        data = _child(data, part)
    return data


def _problem(model: type[BaseModel], doc: YamlDocument, issue: _Issue) -> Problem:
    name = PurePosixPath(doc.file).name
    line = doc.line_of(issue.loc)
    key = _label(issue.loc, name)
    if issue.type == "extra_forbidden":
        return _unknown_key(model, doc, issue.loc, line)
    if issue.type == "missing":
        parent, field_name = issue.loc[:-1], str(issue.loc[-1])
        where = f"in {name}" if not parent else f"under '{_label(parent, name)}'"
        hint = _description(model, doc.data, issue.loc)
        return Problem(doc.file, line, f"missing required key '{field_name}' {where}", hint)
    if issue.type == "unknown_step":
        return _unknown_step(doc.file, line, issue.input)
    got = _describe(issue.input)
    if issue.type == "string_type" and isinstance(issue.input, datetime.date):
        written = issue.input.isoformat()
        message = f"'{key}': YAML reads {written} unquoted as a date, not as the text wanted"
        return Problem(doc.file, line, message, f"quote it: '{written}'")
    if issue.type == "union_type" or issue.type in _TYPE_NAMES:
        expected = _either(issue.expected) or _TYPE_NAMES[issue.type]
        message = f"wrong value for '{key}': expected {expected}, got {got}"
        return Problem(doc.file, line, message, f"write {expected} for '{key}'")
    if issue.type == "literal_error":
        allowed = re.findall(r"'([^']*)'", str(issue.ctx.get("expected", "")))
        message = f"{got} is not allowed for '{key}'"
        otherwise = f"use one of: {listing(allowed)}" if allowed else str(issue.ctx.get("expected"))
        return Problem(doc.file, line, message, did_you_mean(str(issue.input), allowed, otherwise))
    if issue.type == "string_pattern_mismatch" and "examples" in issue.loc:
        message = f"'{key}' is an empty example: it teaches the classifier nothing"
        return Problem(doc.file, line, message, "write the example, or remove the line")
    if issue.type == "string_pattern_mismatch" and issue.ctx.get("pattern") == r"\S":
        message = f"'{key}' is an empty text: the user would get a blank message"
        return Problem(doc.file, line, message, "write the text, or remove the line")
    if issue.type == "too_short":
        least = issue.ctx.get("min_length", 1)
        message = f"'{key}' needs at least {least} item(s), got {got if issue.input else 'none'}"
        return Problem(doc.file, line, message, f"add at least {least} item(s) under '{key}'")
    if issue.type == "string_pattern_mismatch" and issue.ctx.get("pattern") == CLOCK_PATTERN:
        hours, _, minutes = str(issue.input).partition(":")
        example = f"{hours.zfill(2)}:{minutes.zfill(2)}" if hours.isdigit() else "09:00"
        message = f"'{key}' is not a time of day as HH:MM, got {got}"
        return Problem(doc.file, line, message, f"write '{example}' (two digits each)")
    detail = issue.msg.replace("Input should be", "must be").replace("Value error, ", "")
    if issue.type in ("less_than_equal", "greater_than_equal", "less_than", "greater_than"):
        fix = f"write a number {detail.removeprefix('must be ')} for '{key}'"
        return Problem(doc.file, line, f"wrong value for '{key}': {detail}, got {got}", fix)
    if issue.type == "value_error" and "; fix: " in detail:  # the validator's own words
        said, fix = detail.split("; fix: ", 1)
        return Problem(doc.file, line, f"wrong value for '{key}': {said}", fix)
    return Problem(
        doc.file, line, f"wrong value for '{key}': {detail}, got {got}", f"change '{key}'"
    )


def _unknown_key(model: type[BaseModel], doc: YamlDocument, loc: Loc, line: int) -> Problem:
    name = PurePosixPath(doc.file).name
    key, parent = str(loc[-1]), loc[:-1]
    owner = _model_at(model, doc.data, parent)
    allowed = _keys(owner) if owner else []
    if owner is not None and owner.__name__.endswith("Step"):
        kind = allowed[0] if allowed else "?"
        # "an 'ask' step", "a 'user' step" (a "yoo" sound: the letter alone misleads)
        vowel = kind[:1] in "aeio" or (kind[:1] == "u" and not kind.startswith(("us", "un")))
        where = f"{'an' if vowel else 'a'} '{kind}' step"
        if key in STEP_KINDS:
            fix = f"one step per list item: start '{key}' on its own line with '- {key}:'"
            return Problem(doc.file, line, f"unknown key '{key}' in {where}", fix)
        if key in _inner_keys(owner, kind):
            fix = f"indent '{key}' under '{kind}:', with the step's other settings"
            return Problem(doc.file, line, f"unknown key '{key}' in {where}", fix)
    else:
        where = name if not parent else f"'{_label(parent, name)}'"
    otherwise = f"allowed keys here: {listing(allowed)}"
    return Problem(
        doc.file, line, f"unknown key '{key}' in {where}", did_you_mean(key, allowed, otherwise)
    )


def _inner_keys(step: type[BaseModel], kind: str) -> list[str]:
    """The keys the mapping under a step's kind takes (``slot``, ``prompt``... for ``ask``)."""
    info = _field(step, kind)
    members = typing.get_args(info.annotation) if info is not None else ()
    for member in (*members, info.annotation if info is not None else None):
        if isinstance(member, type) and issubclass(member, BaseModel):
            return _keys(member)
    return []


def _unknown_step(file: str, line: int, value: object) -> Problem:
    kinds = ", ".join(STEP_KINDS)
    if isinstance(value, dict) and value:
        kind = str(next(iter(value)))
        fix = did_you_mean(kind, STEP_KINDS, f"a step starts with one of: {kinds}")
        return Problem(file, line, f"unknown step kind '{kind}'", fix)
    if isinstance(value, str) and value.strip() in STEP_KINDS:
        kind = value.strip()
        written = {"return": "`- return:` (its outputs are optional)", "end": "`- end: true`"}
        fix = f"'{kind}' is a step kind: write " + written.get(kind, f"`- {kind}: ...`")
    elif isinstance(value, str):
        fix = f"to send this text, write `- say: {value}`; a step starts with one of: {kinds}"
    else:
        fix = f"write a step as `- KIND: ...` with KIND one of: {kinds}"
    return Problem(file, line, f"a step must be a mapping, got {_describe(value)}", fix)


def _description(model: type[BaseModel], data: object, loc: Loc) -> str:
    owner = _model_at(model, data, loc[:-1])
    info = _field(owner, str(loc[-1])) if owner else None
    text = f" ({info.description})" if info and info.description else ""
    return f"add `{loc[-1]}: ...`{text}"


def _keys(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def _field(model: type[BaseModel], key: str) -> Any:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return info
    return None


def _model_at(root: type[BaseModel], data: object, loc: Loc) -> type[BaseModel] | None:
    """The model that validates the mapping found at ``loc``, if any."""
    annotation: Any = root
    for part in loc:
        annotation = _pick(annotation, data)
        data = _child(data, part)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            info = _field(annotation, str(part))
            if info is None:
                return None
            annotation = info.annotation
            continue
        args = typing.get_args(annotation)
        if typing.get_origin(annotation) in (list, dict) and args:
            annotation = args[-1]
            continue
        return None
    picked = _pick(annotation, data)
    return picked if isinstance(picked, type) and issubclass(picked, BaseModel) else None


def _pick(annotation: Any, data: object) -> Any:
    """Unwrap Annotated and unions, choosing the model whose keys best fit ``data``."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return annotation
    members = [_pick(arg, data) for arg in typing.get_args(annotation)]
    models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
    if isinstance(data, dict) and models:
        return max(models, key=lambda m: len(set(_keys(m)) & set(data)))
    if isinstance(data, list):
        lists = [m for m in members if typing.get_origin(m) is list]
        if lists:
            return lists[0]
    return members[0]


def _label(loc: Loc, fallback: str) -> str:
    """``flows.greet.steps[1].say`` for a path; ``fallback`` for the root."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or fallback


def _describe(value: object) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return repr(value)
    return str(value)
