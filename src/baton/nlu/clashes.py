"""Clashes: intents of different bots whose examples the classifier confuses.

Within each collaboration group (bots of different groups never compete for a message),
every example is classified by a model that did not see it (k-fold cross-validation,
TF-IDF + linear SVM as in training). When examples of intent ``a.x`` are predicted as
``b.y`` (another bot) often enough, and are like one of ``b.y``'s examples, the pair is a
clash: a message meant for one bot may be taken by the other. An example two bots share
word for word is always one. Each clash comes with the confused examples beside their
nearest example on the other side, and a suggestion:

- ``merge``: most examples are confused both ways, the intents mean the same thing; keep
  one, in one bot, and let the other bot reach it by collaboration;
- ``owner``: the same intent name, or the same example, in two bots: pick the bot that
  owns it;
- ``rename``: partly confused: make the examples (and names) say what differs.
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.model_selection import KFold
from sklearn.svm import LinearSVC

from baton.nlu.features import Features, FeatureSettings
from baton.spec.project import BotDefinition, Project
from baton.spec.yamlfile import Locator

Suggestion = Literal["merge", "owner", "rename"]
#: a confusion counts only when the example is this close (TF-IDF cosine) to one of the
#: intent it was taken for: on tiny data a model guesses from little shared ("can I change
#: the time of my visit" and "can I get a refund" share "can I": 0.11; 90% of cross-bot
#: pairs of tests/nlu/tiny.py are below 0.085)
MIN_SHARED = 0.2


@dataclass(frozen=True)
class Clash:
    """Two intents of different bots that cross-validation confuses."""

    first: str
    second: str
    confusions: int
    examples: int
    rate: float
    pairs: list[tuple[str, str]] = field(default_factory=list)
    suggestion: Suggestion = "rename"
    advice: str = ""
    #: where each text of ``pairs`` is written, as ``bots/<id>/intents.yml:<line>``
    places: list[tuple[str, str]] = field(default_factory=list)

    @property
    def bots(self) -> tuple[str, str]:
        return self.first.split(".", 1)[0], self.second.split(".", 1)[0]


def _advice(kind: Suggestion, first: str, second: str, shared: str | None = None) -> str:
    if kind == "merge":
        return (
            f"merge: {first} and {second} mean the same thing; keep one of them and let the "
            "other bot reach it through collaboration"
        )
    if kind == "owner" and first.split(".", 1)[1] == second.split(".", 1)[1]:
        return f"pick an owner: both bots claim '{first.split('.', 1)[1]}'; keep it in one bot"
    if kind == "owner":
        return (
            f"pick an owner: {first} and {second} share the example '{shared}' word for word, "
            "so a message like it can reach neither; keep it in one of them"
        )
    return (
        f"rename or reword: give {first} and {second} examples (and names) that say what "
        "differs, or pick one bot as owner"
    )


def find_clashes(
    project: Project,
    *,
    folds: int = 5,
    min_rate: float = 0.15,
    min_confusions: int = 2,
    settings: FeatureSettings | None = None,
) -> list[Clash]:
    """Cross-validated confusions between intents of different bots of one collaboration
    group (bots of different groups, or of none, never compete for a message), worst first."""
    groups: dict[str, list[BotDefinition]] = {}
    for bot in project.bots.values():
        if bot.settings.group:
            groups.setdefault(bot.settings.group, []).append(bot)
    found: list[Clash] = []
    at = Locator(project.root)
    for members in groups.values():
        if len(members) > 1:
            found += _clashes_among(
                members, folds, min_rate, min_confusions, settings or FeatureSettings(), at
            )
    return sorted(found, key=lambda c: (-c.rate, c.first, c.second))


def _clashes_among(
    bots: list[BotDefinition],
    folds: int,
    min_rate: float,
    min_confusions: int,
    settings: FeatureSettings,
    at: Locator,
) -> list[Clash]:
    texts: list[str] = []
    labels: list[str] = []
    places: list[str] = []
    for bot in bots:
        file = f"bots/{bot.bot_id}/intents.yml"
        for name, spec in bot.intents.items():
            for k, example in enumerate(spec.examples):
                if example.strip():
                    texts.append(example)
                    labels.append(bot.qualified(name))
                    line = at.line(file, ("intents", name, "examples", k))
                    places.append(f"{file}:{line}" if line else file)
    if len({label.split(".", 1)[0] for label in labels}) < 2 or len(texts) < 4:
        return []
    _features, matrix = Features.fit(texts, settings)
    y = np.asarray(labels)
    predicted = _cross_validated(matrix, y, folds)
    support = Counter(labels)
    confused: dict[tuple[str, str], list[int]] = {}
    for i, (truth, guess) in enumerate(zip(labels, predicted, strict=True)):
        if not guess or truth.split(".", 1)[0] == guess.split(".", 1)[0]:
            continue
        # a guess made from nothing shared (tiny data) is no clash: the example must be
        # like one of the other intent's
        others = np.flatnonzero(y == guess)
        if (matrix[others] @ matrix[i].T).max() / 2 < MIN_SHARED:
            continue
        confused.setdefault((min(truth, guess), max(truth, guess)), []).append(i)
    for first, second in _duplicates(texts, labels):
        confused.setdefault((first, second), [])
    clashes = []
    for (first, second), members in confused.items():
        total = support[first] + support[second]
        same = _same_texts(texts, labels, first, second)
        rate = max(len(members), 2 * len(same)) / total
        if not same and (
            (len(members) < min_confusions and rate < 2 * min_rate) or rate < min_rate
        ):
            continue
        shown = same[:3]
        shared = {k for pair in same for k in pair}
        for i in [m for m in members if m not in shared][: 3 - len(shown)]:
            other = second if labels[i] == first else first
            candidates = [j for j, label in enumerate(labels) if label == other]
            sims = (matrix[candidates] @ matrix[i].T).toarray().ravel()
            shown.append((i, candidates[int(sims.argmax())]))
        same_name = first.split(".", 1)[1] == second.split(".", 1)[1]
        kind: Suggestion = "merge" if rate >= 0.5 else "owner" if same_name or same else "rename"
        clashes.append(
            Clash(
                first,
                second,
                max(len(members), 2 * len(same)),  # a shared example: both copies
                total,
                rate,
                [(texts[i], texts[j]) for i, j in shown],
                kind,
                _advice(kind, first, second, texts[same[0][0]] if same else None),
                [(places[i], places[j]) for i, j in shown],
            )
        )
    return clashes


def _cross_validated(matrix: sp.csr_matrix, y: npt.NDArray[np.str_], folds: int) -> list[str]:
    """Each example's label as predicted by a model that did not see it ("" where a fold's
    training part holds a single label: nothing to compare it with)."""
    predicted = [""] * len(y)
    splitter = KFold(n_splits=max(2, min(folds, len(y) // 2)), shuffle=True, random_state=0)
    for train, test in splitter.split(matrix):
        if len(set(y[train])) < 2:
            continue
        svm = LinearSVC(C=1.0, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            svm.fit(matrix[train], y[train])
        for i, label in zip(test, svm.predict(matrix[test]), strict=True):
            predicted[i] = str(label)
    return predicted


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def _duplicates(texts: list[str], labels: list[str]) -> set[tuple[str, str]]:
    """Intent pairs of different bots that share an example word for word."""
    owners: dict[str, set[str]] = {}
    for text, label in zip(texts, labels, strict=True):
        owners.setdefault(_key(text), set()).add(label)
    pairs = set()
    for found in owners.values():
        for a in found:
            for b in found:
                if a < b and a.split(".", 1)[0] != b.split(".", 1)[0]:
                    pairs.add((a, b))
    return pairs


def _same_texts(
    texts: list[str], labels: list[str], first: str, second: str
) -> list[tuple[int, int]]:
    """The examples ``first`` and ``second`` share (case and spacing aside), as positions."""
    mine = {
        _key(t): i for i, (t, label) in enumerate(zip(texts, labels, strict=True)) if label == first
    }
    return [
        (mine[_key(t)], j)
        for j, (t, label) in enumerate(zip(texts, labels, strict=True))
        if label == second and _key(t) in mine
    ]
