"""Clashes: intents of different bots whose examples the classifier confuses.

Every example of every bot is classified by a model that did not see it (k-fold
cross-validation over the whole project, TF-IDF + linear SVM as in training). When
examples of intent ``a.x`` are predicted as ``b.y`` (another bot) often enough, the pair is
a clash: a message meant for one bot may be taken by the other. Each clash comes with the
confused examples beside their nearest example on the other side, and a suggestion:

- ``merge``: most examples are confused both ways, the intents mean the same thing; keep
  one, in one bot, and let the other bot reach it by collaboration;
- ``owner``: the same intent name in two bots, partly confused: pick the bot that owns it;
- ``rename``: partly confused: make the examples (and names) say what differs.
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.svm import LinearSVC

from baton.nlu.features import Features, FeatureSettings
from baton.spec.project import Project

Suggestion = Literal["merge", "owner", "rename"]


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

    @property
    def bots(self) -> tuple[str, str]:
        return self.first.split(".", 1)[0], self.second.split(".", 1)[0]


def _advice(kind: Suggestion, first: str, second: str) -> str:
    if kind == "merge":
        return (
            f"merge: {first} and {second} mean the same thing; keep one of them and let the "
            "other bot reach it through collaboration"
        )
    if kind == "owner":
        return f"pick an owner: both bots claim '{first.split('.', 1)[1]}'; keep it in one bot"
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
    """Cross-validated confusions between intents of different bots, worst first."""
    texts: list[str] = []
    labels: list[str] = []
    for bot in project.bots.values():
        for name, spec in bot.intents.items():
            for example in spec.examples:
                if example.strip():
                    texts.append(example)
                    labels.append(bot.qualified(name))
    if len({label.split(".", 1)[0] for label in labels}) < 2 or len(texts) < 4:
        return []
    features, matrix = Features.fit(texts, settings or FeatureSettings())
    y = np.asarray(labels)
    splitter = KFold(n_splits=max(2, min(folds, len(texts) // 2)), shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        predicted = cross_val_predict(LinearSVC(C=1.0, random_state=0), matrix, y, cv=splitter)
    support = Counter(labels)
    confused: dict[tuple[str, str], list[int]] = {}
    for i, (truth, guess) in enumerate(zip(labels, predicted, strict=True)):
        guess = str(guess)
        if truth.split(".", 1)[0] != guess.split(".", 1)[0]:
            pair = (min(truth, guess), max(truth, guess))
            confused.setdefault(pair, []).append(i)
    clashes = []
    for (first, second), members in confused.items():
        total = support[first] + support[second]
        rate = len(members) / total
        if (len(members) < min_confusions and rate < 2 * min_rate) or rate < min_rate:
            continue
        pairs = []
        for i in members[:3]:
            other = second if labels[i] == first else first
            candidates = [j for j, label in enumerate(labels) if label == other]
            sims = (matrix[candidates] @ matrix[i].T).toarray().ravel()
            pairs.append((texts[i], texts[candidates[int(sims.argmax())]]))
        same_name = first.split(".", 1)[1] == second.split(".", 1)[1]
        kind: Suggestion = "merge" if rate >= 0.5 else "owner" if same_name else "rename"
        clashes.append(
            Clash(
                first, second, len(members), total, rate, pairs, kind, _advice(kind, first, second)
            )
        )
    _ = features
    return sorted(clashes, key=lambda c: (-c.rate, c.first, c.second))
