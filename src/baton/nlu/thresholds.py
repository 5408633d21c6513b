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

import difflib
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from baton.domain.errors import Problem, ProjectInvalid
from baton.nlu.model import EMBEDDINGS_ENGINE, EMBEDDINGS_ENV, ENGINE_VERSION
from baton.spec.project import BotDefinition, Project
from baton.spec.yamlfile import Loc, YamlDocument, load_yaml

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
    #: the engine the gates were tuned for: another engine's scores run on another scale
    engine: str = ""

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
        if self.engine:
            data["engine"] = self.engine
        data["groups"] = {k: v.as_dict() for k, v in sorted(self.groups.items())}
        data["bots"] = {k: v.as_dict() for k, v in sorted(self.bots.items())}
        return data


_SECTIONS = ("note", "engine", "groups", "bots")
_BOUNDS = {
    "threshold": (0.0, 100.0),
    "min_similarity": (0.0, 1.0),
    "similarity_weight": (0.0, 100.0),
}


class _Reader:
    """Reads the gates of a parsed ``nlu.yml``, collecting problems at their lines."""

    def __init__(
        self, doc: YamlDocument, names: dict[str, Collection[str]] | None, engine: str | None
    ) -> None:
        self.doc = doc
        self.names = names
        self.engine = engine
        self.problems: list[Problem] = []

    def add(self, loc: Loc, message: str, fix: str) -> None:
        self.problems.append(Problem(self.doc.file, self.doc.line_of(loc), message, fix))

    def sections(self) -> dict[str, dict[str, Gate]]:
        raw = self.doc.data
        if not isinstance(raw, dict):
            self.add((), "nlu.yml is not a mapping", "write groups: and bots: (see docs/nlu.md)")
            raw = {}
        for key in raw:
            if key not in _SECTIONS:
                self.add((key,), f"unknown key {key!r}", _suggest(key, _SECTIONS))
        tuned_for = raw.get("engine")
        if tuned_for is not None and not isinstance(tuned_for, str):
            self.add(("engine",), "engine is not a name", "write engine: NAME, or remove the line")
            tuned_for = None
        if self.engine and tuned_for and tuned_for != self.engine:
            message = (
                f"the gates were tuned for engine {tuned_for}, and this install trains "
                f"{self.engine}: its scores run on another scale, so they would let "
                "through or turn away the wrong messages"
            )
            fix = "tune again for this engine (baton eval DIR DATA.tsv --tune VAL.tsv)"
            switch = {
                EMBEDDINGS_ENGINE: f"{EMBEDDINGS_ENV}=on (with baton[embeddings] installed)",
                ENGINE_VERSION: f"{EMBEDDINGS_ENV}=off",
            }.get(tuned_for)
            if switch:
                fix += f", or set {switch} to train the engine they were tuned for"
            else:
                fix += f"; no engine of this release is {tuned_for}"
            self.add(("engine",), message, fix)
        sections: dict[str, dict[str, Gate]] = {}
        for section in ("bots", "groups"):
            entries = raw.get(section) or {}
            if not isinstance(entries, dict):
                self.add(
                    (section,),
                    f"{section} is not a mapping",
                    f"write {section}: {{NAME: {{threshold: ...}}}}",
                )
                entries = {}
            known = self.names.get(section) if self.names else None
            for name in entries:
                if known is not None and name not in known:
                    kind = section[:-1]
                    fix = _suggest(
                        name, known, "remove the entry, or tune again (baton eval --tune)"
                    )
                    self.add(
                        (section, name),
                        f"{section}.{name}: the project has no {kind} {name!r}",
                        fix,
                    )
            sections[section] = {
                str(k): self.gate(v, (section, str(k))) for k, v in entries.items()
            }
        return sections

    def gate(self, raw: Any, loc: Loc) -> Gate:
        where = ".".join(str(part) for part in loc)
        if not isinstance(raw, dict):
            self.add(loc, f"{where} is not a mapping", "write threshold: and min_similarity:")
            return Gate()
        values: dict[str, float] = {}
        for key, value in raw.items():
            if key not in _BOUNDS:
                self.add((*loc, key), f"{where}: unknown key {key!r}", _suggest(key, _BOUNDS))
                continue
            low, high = _BOUNDS[key]
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not low <= value <= high
            ):
                fix = f"give a number from {low:g} to {high:g} (or run baton eval --tune)"
                self.add((*loc, key), f"{where}: {key} is {value!r}", fix)
                continue
            values[key] = float(value)
        return Gate(
            values.get("threshold", DEFAULT_THRESHOLD),
            values.get("min_similarity", DEFAULT_MIN_SIMILARITY),
            values.get("similarity_weight", 0.0),
        )


def _suggest(name: str, known: Collection[str], otherwise: str = "") -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    return otherwise or f"use {', '.join(sorted(known))}"


def load_thresholds(
    root: Path, names: dict[str, Collection[str]] | None = None, engine: str | None = None
) -> Thresholds:
    """Read ``nlu.yml`` at the project root; defaults when there is none.

    Raises ProjectInvalid (file, line, fix) for a file that is not valid YAML, has an unknown
    key or holds a gate that is not numbers in range: a typo must not silently change
    routing. With ``names`` (``{"bots": ids, "groups": names}``, as ``baton check`` and
    ``serve`` pass them) an entry for a bot or group the project lacks is a problem too;
    with ``engine``, gates tuned for another engine are one."""
    path = root / THRESHOLDS_FILE
    if not path.is_file():
        return Thresholds()
    doc, problems = load_yaml(path, THRESHOLDS_FILE)
    if problems:
        retune = "fix the YAML, or delete the file and tune again"
        raise ProjectInvalid(
            [
                Problem(p.file, p.line, p.message, retune if "YAML" in p.message else p.fix)
                for p in problems
            ]
        )
    reader = _Reader(doc, names, engine)
    sections = reader.sections()
    if reader.problems:
        raise ProjectInvalid(sorted(reader.problems, key=lambda p: p.line))
    data = doc.data if isinstance(doc.data, dict) else {}
    return Thresholds(
        bots=sections["bots"],
        groups=sections["groups"],
        note=str(data.get("note", "")),
        engine=str(data.get("engine", "")),
    )


def load_project_thresholds(project: Project, engine: str | None = None) -> Thresholds:
    """``load_thresholds`` for a loaded project: an entry for a bot or group it lacks is a
    problem too (a renamed bot would otherwise lose its tuned gate without a word), and so
    are gates tuned for another engine than ``engine``."""
    groups = {b.settings.group for b in project.bots.values() if b.settings.group}
    names = {"bots": list(project.bots), "groups": groups}
    return load_thresholds(project.root, names, engine)


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
