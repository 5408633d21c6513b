"""One YAML file read with the line of every key and item, so errors can point at them.

A document keeps its plain data (dicts, lists, scalars) and a map from each
path (``("flows", "greet", "steps", 1, "say")``) to the 1-based line of that
mapping key or sequence item. Mapping keys are always kept as the text written
(``no:`` is the key ``"no"``, not ``False``), since every key in a project file
is a name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from baton.domain.errors import Problem

Loc = tuple[str | int, ...]

_QUOTING_FIX = (
    "check the indentation (spaces, not tabs) near this line; quote texts that contain ': ' "
    "or start with one of @ ` { [ * & ! | > % ' \""
)


#: more keys and items than any project file needs: a file of aliases that expands past it is
#: refused before it eats the memory
MAX_VALUES = 200_000


class _TooBig(Exception):
    """The document expands past ``MAX_VALUES``; ``line`` is where it was noticed."""

    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


class _Loader(yaml.SafeLoader):
    """A safe loader used only to compose nodes and build scalars (no custom tags)."""


@dataclass(frozen=True, slots=True)
class YamlDocument:
    """A parsed YAML file: its data and the line of every key and item in it."""

    file: str
    data: object
    lines: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Loc) -> int:
        """The line of the deepest part of ``loc`` found in the file (skipping unknown parts)."""
        path: Loc = ()
        line = self.lines.get((), 1)
        for part in loc:
            candidate = (*path, part)
            if candidate in self.lines:
                path = candidate
                line = self.lines[candidate]
        return line

    def has(self, loc: Loc) -> bool:
        """Whether ``loc`` names a key or item written in the file."""
        return loc in self.lines


Sources = dict[str, YamlDocument]
"""Parsed files by path relative to the project root (``bots/billing/flows.yml``)."""


def load_yaml(path: Path, file: str) -> tuple[YamlDocument, list[Problem]]:
    """Read ``path`` (shown as ``file``); an empty file is ``{}``; problems are returned."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        fix = "save the file as UTF-8"
        return YamlDocument(file, {}), [Problem(file, 1, f"not UTF-8 text ({error.reason})", fix)]
    except OSError as error:
        fix = "check that the file exists and can be read"
        return YamlDocument(file, {}), [Problem(file, 0, f"can't read: {error.strerror}", fix)]
    return parse_yaml(text, file)


def parse_yaml(text: str, file: str) -> tuple[YamlDocument, list[Problem]]:
    """Parse YAML ``text`` from ``file``; an empty document is ``{}``."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as error:
        return YamlDocument(file, {}), [_syntax_problem(file, error)]
    finally:
        loader.dispose()
    if node is None:
        return YamlDocument(file, {}, {(): 1}), []
    builder = _Builder(file, loader)
    try:
        data = builder.build(node, ())
    except yaml.MarkedYAMLError as error:
        return YamlDocument(file, {}), [_syntax_problem(file, error)]
    except _TooBig as error:
        message = f"the file expands to more than {MAX_VALUES:,} values (YAML aliases of aliases)"
        fix = "write the values out instead of repeating aliases (*name)"
        return YamlDocument(file, {}), [Problem(file, error.line, message, fix)]
    return YamlDocument(file, data, builder.lines), builder.problems


def _syntax_problem(file: str, error: yaml.MarkedYAMLError) -> Problem:
    mark = error.problem_mark or error.context_mark
    line = mark.line + 1 if mark else 0
    problem = error.problem or "malformed YAML"
    message = f"invalid YAML: {problem}"
    if error.context:
        message += f" ({error.context})"
    fix = _QUOTING_FIX
    if "'\\t'" in problem:
        fix = "indent with spaces; YAML does not allow tabs"
    elif "'@'" in problem or "'`'" in problem:
        fix = 'quote the text, e.g. say: "@greeting"'
    elif "another document" in problem:
        fix = "keep one document per file: remove the extra '---' line"
    elif "mapping values are not allowed" in problem:
        fix = _mapping_values_fix(mark)
    unclosed = _unclosed_quote(error)
    if unclosed is not None:
        line, quote = unclosed
        fix = (
            f"close the quote: the text on this line starts with {quote} and does not end "
            f"with one, so YAML read on into the lines below (an apostrophe inside a text "
            f"quoted with ' is written ''; or quote the text with the other kind)"
        )
    return Problem(file, line, message, fix)


def _unclosed_quote(error: yaml.MarkedYAMLError) -> tuple[int, str] | None:
    """The line (1-based) of a quoted text left open, which YAML reports where it finally
    gave up (the end of the file, or a later line), and its quote character."""
    mark = error.problem_mark
    if mark is None or not isinstance(mark.buffer, str):
        return None
    context = error.context_mark
    first = context.line if context is not None else 0
    lines = mark.buffer.split("\n")
    for number in range(first, min(mark.line + 1, len(lines))):
        value = lines[number].strip().removeprefix("- ").split(": ", 1)[-1].strip()
        if value[:1] in ("'", '"') and not _closes(value):
            return number + 1, value[0]
    return None


def _closes(value: str) -> bool:
    """Whether a text that opens with a quote closes it on the same line (anything may
    follow: ``"Hello" # the greeting``); ``\"`` escapes in double quotes, ``''`` in single."""
    quote, i = value[0], 1
    while i < len(value):
        char = value[i]
        if quote == '"' and char == "\\":
            i += 2
            continue
        if char == quote:
            if quote == "'" and value[i + 1 : i + 2] == "'":
                i += 2
                continue
            return True
        i += 1
    return False


def _mapping_values_fix(mark: yaml.Mark | None) -> str:
    """A line with one ``key: value`` is indented deeper than its siblings; a line with two
    holds a text with ': ' in it that needs quotes."""
    quote = "quote the text when it contains ': ', e.g. say: \"Note: hello\""
    if mark is None or not isinstance(mark.buffer, str):
        return quote
    lines = mark.buffer.split("\n")
    line = lines[mark.line] if mark.line < len(lines) else ""
    body = line.strip().removeprefix("- ")
    if (body + " ").count(": ") == 1:
        return (
            "indent this line like the keys beside it: it is deeper than the key above, "
            "so YAML reads it as part of that key's value"
        )
    return quote


class _Builder:
    """Turns composed nodes into plain data, recording lines and duplicate keys."""

    def __init__(self, file: str, loader: _Loader) -> None:
        self.file = file
        self.loader = loader
        self.lines: dict[Loc, int] = {}
        self.problems: list[Problem] = []
        self._open: set[int] = set()
        self.built = 0

    def build(self, node: Node, loc: Loc) -> object:
        """Build the value of ``node`` found at ``loc``."""
        self.built += 1
        if self.built > MAX_VALUES:  # aliases of aliases ("billion laughs") blow up
            raise _TooBig(node.start_mark.line + 1)
        self.lines.setdefault(loc, node.start_mark.line + 1)
        if isinstance(node, ScalarNode):
            return self.loader.construct_object(node, deep=True)
        if id(node) in self._open:
            self.problems.append(
                Problem(
                    self.file,
                    node.start_mark.line + 1,
                    "a YAML alias refers to a value that contains it",
                    "remove the recursive alias (*name) and write the value out",
                )
            )
            return None
        self._open.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return [self.build(item, (*loc, i)) for i, item in enumerate(node.value)]
            if isinstance(node, MappingNode):
                return self._mapping(node, loc)
        finally:
            self._open.discard(id(node))
        return None

    def _mapping(self, node: MappingNode, loc: Loc) -> dict[str, object]:
        explicit = [pair for pair in node.value if pair[0].tag != "tag:yaml.org,2002:merge"]
        self.loader.flatten_mapping(node)
        merged = node.value[: len(node.value) - len(explicit)]
        result: dict[str, object] = {}
        seen: dict[str, int] = {}
        for key_node, value_node in [*merged, *explicit]:
            key = self._key(key_node)
            if key is None:
                continue
            line = key_node.start_mark.line + 1
            is_explicit = (key_node, value_node) in explicit
            if is_explicit and key in seen:
                self.problems.append(
                    Problem(
                        self.file,
                        line,
                        f"duplicate key '{key}' (first on line {seen[key]})",
                        "keep one of them: a later key would silently replace the earlier one",
                    )
                )
                continue
            if is_explicit:
                seen[key] = line
            self.lines[(*loc, key)] = line
            result[key] = self.build(value_node, (*loc, key))
        return result

    def _key(self, node: Node) -> str | None:
        if isinstance(node, ScalarNode):
            return str(node.value)
        self.problems.append(
            Problem(
                self.file,
                node.start_mark.line + 1,
                "a mapping key must be a plain name, not a list or a mapping",
                "write the key as a name followed by ':'",
            )
        )
        return None


class Locator:
    """Finds lines in a project's files, reading a file the first time it is asked about."""

    def __init__(self, root: Path, sources: Sources | None = None) -> None:
        self._root = root
        self._sources: Sources = dict(sources or {})

    def line(self, file: str, loc: Loc) -> int:
        """The line of ``loc`` in ``file`` (0 when the file can't be read)."""
        doc = self._sources.get(file)
        if doc is None:
            path = self._root / file
            doc = load_yaml(path, file)[0] if path.is_file() else YamlDocument(file, {})
            self._sources[file] = doc
        return doc.line_of(loc) if doc.lines else 0

    def problem(self, file: str, loc: Loc, message: str, fix: str) -> Problem:
        """A problem at the line of ``loc`` in ``file``."""
        return Problem(file, self.line(file, loc), message, fix)
