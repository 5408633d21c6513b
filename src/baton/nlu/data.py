"""Labelled utterances: the TSV format shared by ``baton import`` and ``baton eval``."""

from __future__ import annotations

import csv
import hashlib
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

OOS = "oos"
#: the longest id ``slug`` makes: a bot's id is its folder's name, and a file system takes
#: 255 bytes (longer ones failed with "File name too long"); ids up to it are as before
MAX_SLUG = 200


def slug(name: str) -> str:
    """A valid bot id or intent name: lower-case letters, digits and '_', starting a letter.

    Accents are dropped ("Überweisung" is ``uberweisung``); a name with no Latin letter or
    digit at all ("請求") is ``x_`` and a hash of it, so two such names stay two ids."""
    latin = unicodedata.normalize("NFKD", name.strip()).encode("ascii", "ignore").decode()
    value = re.sub(r"[^a-z0-9_]+", "_", latin.lower()).strip("_")
    if not value:
        return "x_" + hashlib.sha256(name.strip().encode("utf-8")).hexdigest()[:8]
    if not value[0].isalpha():
        value = f"x_{value}"
    if len(value) > MAX_SLUG:  # a folder name: cut, and told apart by a hash of it whole
        digest = hashlib.sha256(value.encode("utf-8")).hexdigest()[:8]  # so slug(slug) is slug
        value = f"{value[: MAX_SLUG - 9].rstrip('_')}_{digest}"
    return value


@dataclass(frozen=True)
class Row:
    """One labelled utterance; out of scope it has intent ``oos`` and no bot."""

    text: str
    intent: str
    bot: str
    #: the bot as the file spells it (``bot`` is its slug); kept to report names that merge
    bot_name: str = field(default="", compare=False)
    #: ``file:line`` the row was read from, for messages about it
    where: str = field(default="", compare=False)

    @property
    def in_scope(self) -> bool:
        return self.intent != OOS and bool(self.bot)

    @property
    def qualified(self) -> str | None:
        """``bot.intent`` with both parts as ``baton import`` names them; None out of scope."""
        return f"{self.bot}.{slug(self.intent)}" if self.in_scope else None

    def is_labelled(self, label: str | None) -> bool:
        """Whether a model's ``bot.intent`` label is this row's intent, spelled as the
        project spells it (``sayHello``) or as ``baton import`` names it (``sayhello``)."""
        if label is None or not self.in_scope:
            return False
        bot, _, intent = label.partition(".")
        return bot == self.bot and slug(intent) == slug(self.intent)


COLUMNS = ("text", "intent", "bot")
#: a text may be long (a pasted e-mail), not unbounded: csv's own limit is 128 KiB
MAX_FIELD = 1 << 20
#: at most this many bad lines are listed in one error
SHOWN_PROBLEMS = 5


class DataError(ValueError):
    """A labelled-data file that can't be read as it is; the message names file and lines."""


def read_rows(data: Path) -> list[Row]:
    """Read a UTF-8 TSV whose header line names the columns ``text``, ``intent`` and ``bot``
    (in any order, any case; other columns are ignored).

    Blank lines are skipped. A line with more fields than the header (a tab inside a text),
    an in-scope row without a bot, or a row with a text but no intent (or the reverse) is an
    error naming the file and the line: nothing is dropped silently.
    """
    csv.field_size_limit(MAX_FIELD)
    try:
        with data.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
            try:
                return _parse(data, reader)
            except csv.Error as error:
                raise DataError(f"{data}:{reader.line_num}: {_csv_problem(error)}") from error
    except UnicodeDecodeError as error:
        raise DataError(
            f"{data}: not UTF-8 text (byte {error.object[error.start]:#x} at offset "
            f"{error.start}); save the file as UTF-8"
        ) from error
    except IsADirectoryError as error:
        raise DataError(f"{data} is a folder; give a .tsv file") from error
    except FileNotFoundError as error:
        raise DataError(f"{data}: no such file") from error


def _csv_problem(error: csv.Error) -> str:
    if "field larger than field limit" in str(error):
        return (
            f"a field longer than {MAX_FIELD:,} characters; an example is a message, "
            "keep it shorter (or is a line break missing?)"
        )
    return str(error)


def _parse(data: Path, reader: Iterator[list[str]]) -> list[Row]:
    header = next(reader, None)
    if header is None:
        raise DataError(f"{data} is empty: its first line must name the columns text, intent, bot")
    names = [name.strip().lower() for name in header]
    missing = [column for column in COLUMNS if column not in names]
    if missing:
        raise DataError(
            f"{data}:1: missing column(s) {', '.join(missing)}; the first line must name the "
            f"columns text, intent and bot, separated by tabs (found: {chr(9).join(header)!r})"
        )
    duplicated = sorted({n for n in names if n in COLUMNS and names.count(n) > 1})
    if duplicated:
        raise DataError(f"{data}:1: column(s) {', '.join(duplicated)} named twice")
    at = {column: names.index(column) for column in COLUMNS}
    rows: list[Row] = []
    problems: list[str] = []
    for line, fields in enumerate(reader, start=2):
        if not any(field.strip() for field in fields):
            continue
        while len(fields) > len(header) and not fields[-1].strip():
            fields = fields[:-1]  # empty cells after the last column (a spreadsheet's)
        if len(fields) > len(header):
            problems.append(
                f"{data}:{line}: {len(fields)} fields where the header has {len(header)} "
                "(a tab inside the text? replace it with a space)"
            )
            continue
        text, intent, bot = (
            _unquote(fields[at[c]].strip()) if at[c] < len(fields) else "" for c in COLUMNS
        )
        if intent.lower() == OOS:  # "OOS" too; out of scope, a bot named beside it is moot
            intent = OOS
        if not text or not intent:
            lacking = "no text" if not text else "no intent"
            raw = fields[at["text"]].strip() if at["text"] < len(fields) else ""
            if raw.startswith('"') and not raw.endswith('"'):
                lacking += " (a quoted text that goes on to the next line? keep each on one line)"
            problems.append(f"{data}:{line}: {lacking}")
        elif not bot and intent != OOS:
            problems.append(f"{data}:{line}: no bot for intent {intent!r} (or use intent oos)")
        else:
            bot_id = slug(bot) if intent != OOS else ""
            rows.append(Row(text, intent, bot_id, bot, f"{data}:{line}"))
    if problems:
        more = len(problems) - SHOWN_PROBLEMS
        shown = problems[:SHOWN_PROBLEMS] + ([f"... and {more} more"] if more > 0 else [])
        raise DataError("\n".join(shown))
    if not rows:
        raise DataError(f"{data}: no rows under the header")
    return rows


def _unquote(value: str) -> str:
    """A field quoted the way Excel writes one (the whole field between quotes, a quote
    inside doubled) read back as it was typed; any other field, quotes and all, as it is."""
    if len(value) < 2 or value[0] != '"' or value[-1] != '"':
        return value
    inner = value[1:-1]
    if inner.replace('""', "").count('"'):  # a lone quote inside: not Excel's quoting
        return value
    return inner.replace('""', '"').strip()


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def unseen(rows: Sequence[Row], examples: Iterable[str]) -> tuple[list[Row], int]:
    """The rows whose text is no training example (case and spacing aside), and how many
    were left out: a model is sure of what it was taught, so tuning a gate on its own
    examples would make the gate look safer than it is."""
    taught = {_key(example) for example in examples}
    kept = [row for row in rows if _key(row.text) not in taught]
    return kept, len(rows) - len(kept)
