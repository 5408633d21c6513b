"""Where a message stops being in scope: probability and similarity thresholds.

A classifier accepts its best candidate when the message's similarity to its nearest
training example is at least ``min_similarity`` **and** its *score*, the candidate's
probability plus ``similarity_weight`` times that similarity, is at least ``threshold``.
With the default weight 0 the score is the probability. A tuned weight makes a slanted line
in the (probability, similarity) plane: a message unlike any example needs a higher
probability, a message close to one a lower (on CLINC150 with embeddings this caught far
more out-of-scope messages at the same in-scope loss than the two thresholds alone).

Bots have their own gate (``threshold:`` in ``bots/<id>/bot.yml``, set
by hand or by ``baton eval --tune``); collaboration groups have theirs. Tuned values live in
``nlu.yml`` at the project's root (written by ``baton eval --tune``; keep it under version
control), and the tuned probability threshold of each bot is also written to its bot.yml.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from baton.domain.errors import Problem, ProjectInvalid
from baton.spec.project import BotDefinition

THRESHOLDS_FILE = "nlu.yml"
#: Defaults that behave on small hand-written projects (a few examples per intent).
DEFAULT_THRESHOLD = 0.5
DEFAULT_MIN_SIMILARITY = 0.4
#: the default min_similarity of a model with sentence embeddings, whose similarity is a
#: MiniLM cosine: those run higher than TF-IDF's ("thanks", "ok" or "?" come within 0.43-0.58
#: of a bot's "hello"); on CLINC150 test 0.76% of in-scope messages are below 0.6
EMBEDDINGS_MIN_SIMILARITY = 0.6


@dataclass(frozen=True)
class Gate:
    """What a best candidate must clear: ``confidence + similarity_weight * similarity >=
    threshold`` and ``similarity >= min_similarity``."""

    threshold: float = DEFAULT_THRESHOLD
    min_similarity: float = DEFAULT_MIN_SIMILARITY
    similarity_weight: float = 0.0

    def score(self, confidence: float, similarity: float) -> float:
        return confidence + self.similarity_weight * similarity

    def accepts(self, confidence: float, similarity: float) -> bool:
        return (
            self.score(confidence, similarity) >= self.threshold
            and similarity >= self.min_similarity
        )

    def as_dict(self) -> dict[str, float]:
        data = {
            "threshold": round(self.threshold, 4),
            "min_similarity": round(self.min_similarity, 4),
        }
        if self.similarity_weight:
            data["similarity_weight"] = round(self.similarity_weight, 4)
        return data


@dataclass
class Thresholds:
    """Tuned gates by bot and by collaboration group."""

    bots: dict[str, Gate] = field(default_factory=dict)
    groups: dict[str, Gate] = field(default_factory=dict)
    note: str = ""

    def for_bot(self, bot: BotDefinition, default: Gate | None = None) -> Gate:
        """The bot's gate: its bot.yml ``threshold`` when set, else the tuned or default one."""
        tuned = self.bots.get(bot.bot_id, default or Gate())
        if "threshold" in bot.settings.model_fields_set:
            return Gate(bot.settings.threshold, tuned.min_similarity, tuned.similarity_weight)
        return tuned

    def for_group(self, group: str, default: Gate | None = None) -> Gate:
        return self.groups.get(group, default or Gate())

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.note:
            data["note"] = self.note
        data["groups"] = {k: v.as_dict() for k, v in sorted(self.groups.items())}
        data["bots"] = {k: v.as_dict() for k, v in sorted(self.bots.items())}
        return data


_BOUNDS = {
    "threshold": (0.0, 100.0),
    "min_similarity": (0.0, 1.0),
    "similarity_weight": (0.0, 100.0),
}


def _gate(raw: Any, where: str, problems: list[Problem], path: str) -> Gate:
    if not isinstance(raw, dict):
        problems.append(
            Problem(path, 0, f"{where} is not a mapping", "write threshold: and min_similarity:")
        )
        return Gate()
    values: dict[str, float] = {}
    for key, value in raw.items():
        if key not in _BOUNDS:
            problems.append(
                Problem(path, 0, f"{where}: unknown key {key!r}", f"use {', '.join(_BOUNDS)}")
            )
            continue
        low, high = _BOUNDS[key]
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not low <= value <= high
        ):
            problems.append(
                Problem(
                    path,
                    0,
                    f"{where}: {key} is {value!r}",
                    f"give a number from {low:g} to {high:g} (or run baton eval --tune)",
                )
            )
            continue
        values[key] = float(value)
    return Gate(
        values.get("threshold", DEFAULT_THRESHOLD),
        values.get("min_similarity", DEFAULT_MIN_SIMILARITY),
        values.get("similarity_weight", 0.0),
    )


def load_thresholds(root: Path) -> Thresholds:
    """Read ``nlu.yml`` at the project root; defaults when there is none.

    Raises ProjectInvalid (file, line, fix) for a file that is not valid YAML or holds a
    gate that is not numbers in range: a typo must not silently change routing."""
    path = root / THRESHOLDS_FILE
    if not path.is_file():
        return Thresholds()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        problem = getattr(error, "problem", None) or "not valid YAML"
        raise ProjectInvalid(
            [
                Problem(
                    str(path), line, str(problem), "fix the YAML, or delete the file and tune again"
                )
            ]
        ) from error
    problems: list[Problem] = []
    if not isinstance(raw, dict):
        raw = {}
        problems.append(Problem(str(path), 1, "nlu.yml is not a mapping", "see docs/nlu.md"))
    sections: dict[str, dict[str, Gate]] = {}
    for section in ("bots", "groups"):
        entries = raw.get(section) or {}
        if not isinstance(entries, dict):
            problems.append(Problem(str(path), 0, f"{section} is not a mapping", "see docs/nlu.md"))
            entries = {}
        sections[section] = {
            str(k): _gate(v, f"{section}.{k}", problems, str(path)) for k, v in entries.items()
        }
    if problems:
        raise ProjectInvalid(problems)
    return Thresholds(
        bots=sections["bots"], groups=sections["groups"], note=str(raw.get("note", ""))
    )


def save_thresholds(root: Path, thresholds: Thresholds, bots: dict[str, BotDefinition]) -> Path:
    """Write ``nlu.yml``, and each tuned bot's ``threshold:`` into its bot.yml."""
    path = root / THRESHOLDS_FILE
    header = "# Out-of-scope thresholds, written by `baton eval --tune`; see docs/nlu.md.\n"
    body = yaml.safe_dump(thresholds.as_dict(), sort_keys=False, allow_unicode=True)
    path.write_text(header + body, encoding="utf-8")
    for bot_id, gate in thresholds.bots.items():
        bot = bots.get(bot_id)
        if bot is not None:
            set_bot_threshold(bot.folder / "bot.yml", gate.threshold)
    return path


def set_bot_threshold(bot_file: Path, threshold: float) -> None:
    """Set the top-level ``threshold:`` of a bot.yml in place, keeping its other lines."""
    lines = bot_file.read_text(encoding="utf-8").splitlines()
    value = f"threshold: {round(threshold, 4)}"
    for i, line in enumerate(lines):
        if line.startswith("threshold:"):
            lines[i] = value
            break
    else:
        lines.append(value)
    bot_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
