"""One trained intent model: features, a linear classifier, and what out-of-scope needs.

The classifier is a one-vs-rest linear SVM (``LinearSVC``) over TF-IDF features; its
scores become probabilities with a softmax (plus a fixed "none of these" logit at 0) whose
temperature is fitted on a held-out fifth of the examples (a fixed one on small data).
Each analysed message also gets its
*similarity*: the cosine between the message and its nearest training example. A message
is in scope only when both the probability and the similarity clear their thresholds:
the probability catches ambiguous messages, the similarity catches messages unlike
anything the bot was taught (which a softmax over a few intents can still be sure about).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.svm import LinearSVC

from baton.nlu.features import Features, FeatureSettings, FloatArray

#: Bump when training or inference changes: cached models of another version are retrained.
ENGINE_VERSION = "tfidf-svc-1"


@dataclass(frozen=True)
class EngineSettings:
    """Training settings; part of every model's fingerprint."""

    features: FeatureSettings = field(default_factory=FeatureSettings)
    c: float = 1.0
    default_temperature: float = 4.0
    calibrate_min_examples: int = 8
    random_state: int = 0

    def as_dict(self) -> dict[str, object]:
        return {"engine": ENGINE_VERSION, **asdict(self)}


@dataclass(frozen=True)
class Analysis:
    """What a model made of one message: classes best first, their probabilities, similarity."""

    classes: npt.NDArray[np.intp]
    probabilities: FloatArray
    similarity: float


class IntentModel:
    """A trained classifier over a fixed list of labels."""

    def __init__(
        self,
        labels: tuple[str, ...],
        features: Features,
        weights: FloatArray,
        bias: FloatArray,
        temperature: float,
        neighbours: sp.csr_matrix,
        fingerprint: str,
    ) -> None:
        self.labels = labels
        self.features = features
        self.weights = np.ascontiguousarray(weights, dtype=np.float32)
        self.bias = bias.astype(np.float32)
        self.temperature = temperature
        self.neighbours = neighbours  # features x examples, CSR: an inverted index
        self.fingerprint = fingerprint
        self._norm = float(len(features.blocks))

    def bots(self) -> list[str]:
        """The bots whose intents this model knows (labels are ``bot.intent``)."""
        return sorted({label.split(".", 1)[0] for label in self.labels})

    def scores(self, text: str) -> tuple[FloatArray, float]:
        """Raw class scores and nearest-example similarity of one message."""
        ids, values = self.features.vector(text)
        if ids.size == 0:
            return self.bias.copy(), 0.0
        scores = values @ self.weights[ids] + self.bias
        similarity = 0.0
        if self.neighbours.shape[1]:
            rows = self.neighbours[ids]
            dots = rows.T @ values
            similarity = float(dots.max()) / self._norm if dots.size else 0.0
        return scores, similarity

    def analyse(self, text: str, top: int = 5) -> Analysis:
        """The ``top`` classes, best first, with probabilities; and the similarity."""
        scores, similarity = self.scores(text)
        probabilities = _softmax(scores * self.temperature)
        count = min(top, len(self.labels))
        if count < len(self.labels):
            best = np.argpartition(-probabilities, count - 1)[:count]
            best = best[np.argsort(-probabilities[best], kind="stable")]
        else:
            best = np.argsort(-probabilities, kind="stable")
        return Analysis(best, probabilities[best], similarity)


def _softmax(scores: FloatArray) -> FloatArray:
    """Softmax with an extra "none of these" logit fixed at 0 (not returned).

    One-vs-rest scores are meaningful in absolute terms (below 0, no intent claims the
    message), which a plain softmax forgets; the null logit keeps it, so the probabilities
    of a message no intent claims stay low even over two or three intents.
    """
    top = max(float(scores.max()), 0.0)
    shifted = np.exp(scores - top)
    result: FloatArray = (shifted / (shifted.sum() + math.exp(-top))).astype(np.float32)
    return result


def train_model(
    texts: Sequence[str], labels: Sequence[str], settings: EngineSettings, fingerprint: str
) -> IntentModel:
    """Train a model on examples ``texts`` labelled ``labels`` (two labels or more, or one)."""
    names = tuple(sorted(set(labels)))
    index = {name: i for i, name in enumerate(names)}
    y = np.asarray([index[label] for label in labels], dtype=np.int64)
    features, matrix = Features.fit(texts, settings.features)
    if len(names) == 1:
        weights = np.zeros((features.size, 1), dtype=np.float32)
        bias = np.ones(1, dtype=np.float32)
        temperature = settings.default_temperature
    else:
        weights, bias = _fit_linear(matrix, y, len(names), settings)
        temperature = _temperature(matrix, y, len(names), settings)
    neighbours = sp.csr_matrix(matrix.T, dtype=np.float32)
    return IntentModel(names, features, weights, bias, temperature, neighbours, fingerprint)


def _fit_linear(
    matrix: sp.csr_matrix, y: npt.NDArray[np.int64], classes: int, settings: EngineSettings
) -> tuple[FloatArray, FloatArray]:
    svm = LinearSVC(C=settings.c, random_state=settings.random_state, max_iter=5000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning on tiny or separable data
        svm.fit(matrix, y)
    coef = np.asarray(svm.coef_, dtype=np.float32)
    intercept = np.asarray(svm.intercept_, dtype=np.float32)
    if classes == 2:  # binary LinearSVC has one score: class 1 against class 0
        coef = (np.vstack([-coef, coef]) / 2).astype(np.float32)
        intercept = (np.concatenate([-intercept, intercept]) / 2).astype(np.float32)
    return coef.T.copy(), intercept


def _temperature(
    matrix: sp.csr_matrix, y: npt.NDArray[np.int64], classes: int, settings: EngineSettings
) -> float:
    """Softmax temperature minimising log-loss on a held-out fifth (fixed on small data)."""
    counts = np.bincount(y, minlength=classes)
    if counts.min() < settings.calibrate_min_examples:
        return settings.default_temperature
    rng = np.random.default_rng(settings.random_state)
    held = np.zeros(len(y), dtype=bool)
    for label in range(classes):
        members = np.flatnonzero(y == label)
        held[rng.choice(members, size=max(1, len(members) // 5), replace=False)] = True
    weights, bias = _fit_linear(matrix[~held], y[~held], classes, settings)
    scores = np.asarray(matrix[held] @ weights) + bias
    truth = y[held]
    best, best_loss = settings.default_temperature, math.inf
    for temperature in np.geomspace(0.5, 50, 60):
        logits = scores * temperature
        top = np.maximum(logits.max(axis=1, keepdims=True), 0.0)
        logits -= top
        log_norm = np.log(np.exp(logits).sum(axis=1) + np.exp(-top[:, 0]))
        loss = float(np.mean(log_norm - logits[np.arange(len(truth)), truth]))
        if loss < best_loss:
            best, best_loss = float(temperature), loss
    return best
