"""Labelled utterances: the TSV format shared by ``baton import`` and ``baton eval``."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

OOS = "oos"


def slug(name: str) -> str:
    """A valid bot id or intent name: lower-case letters, digits and '_', starting a letter."""
    value = re.sub(r"[^a-z0-9_]+", "_", name.strip().lower()).strip("_")
    if not value or not value[0].isalpha():
        value = f"x_{value}"
    return value


@dataclass(frozen=True)
class Row:
    """One labelled utterance; out of scope it has intent ``oos`` and no bot."""

    text: str
    intent: str
    bot: str

    @property
    def in_scope(self) -> bool:
        return self.intent != OOS and bool(self.bot)

    @property
    def qualified(self) -> str | None:
        """``bot.intent`` with both parts as ``baton import`` names them; None out of scope."""
        return f"{self.bot}.{slug(self.intent)}" if self.in_scope else None


def read_rows(data: Path) -> list[Row]:
    """Read a TSV whose header names the columns ``text``, ``intent`` and ``bot``."""
    with data.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        missing = {"text", "intent", "bot"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{data}: missing column(s) {', '.join(sorted(missing))}")
        rows = []
        for raw in reader:
            text = (raw.get("text") or "").strip()
            intent = (raw.get("intent") or "").strip()
            if not text or not intent:
                continue
            bot = (raw.get("bot") or "").strip()
            rows.append(Row(text, intent, slug(bot) if bot and intent != OOS else ""))
    return rows


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def unseen(rows: Sequence[Row], examples: Iterable[str]) -> tuple[list[Row], int]:
    """The rows whose text is no training example (case and spacing aside), and how many
    were left out: a model is sure of what it was taught, so tuning a gate on its own
    examples would make the gate look safer than it is."""
    taught = {_key(example) for example in examples}
    kept = [row for row in rows if _key(row.text) not in taught]
    return kept, len(rows) - len(kept)
