"""One trained intent model: features, a linear classifier, and what out-of-scope needs.

The classifier is a one-vs-rest linear SVM (``LinearSVC``) over TF-IDF features; its
scores become probabilities with a softmax (plus a fixed "none of these" logit at 0) whose
temperature is fitted on a held-out fifth of the examples (a fixed one on small data).
Each analysed message also gets its
*similarity*: the cosine between the message and its nearest training example among the
intents it ranks highest (the ``top`` returned; all of them for a bot of a few intents). A message
is in scope only when both the probability and the similarity clear their thresholds:
the probability catches ambiguous messages, the similarity catches messages unlike
anything the bot was taught (which a softmax over a few intents can still be sure about).
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from itertools import pairwise
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from baton.nlu import sentences
from baton.nlu.features import REVISION, Features, FeatureSettings, FloatArray, IntArray

if TYPE_CHECKING:
    import scipy.sparse as sp

#: Bump when training or inference changes: cached models of another version are retrained.
ENGINE_VERSION = "tfidf-svc-3"  # 3: the similarity weighs unknown words (2026-11-24)
#: a message whose known words carry this share of its word block's norm counts as fully
#: known; below it, its TF-IDF similarity shrinks in proportion (``Features.coverage``):
#: "what is my balance" to a bot whose one intent says "my internet is not working"
#: was 0.40 (taken, at the default min_similarity 0.4) and is 0.30, while "I'd like to
#: book a visit" (coverage 0.80: "I'd", "like" unknown) keeps its 0.43
FULL_COVERAGE = 0.8
#: The engine name recorded in fingerprints when sentence embeddings are used.
EMBEDDINGS_ENGINE = "tfidf-svc+minilm-l6+use-m3-4"
#: ``BATON_NLU_EMBEDDINGS=off`` (or ``on``) overrides ``embeddings="auto"``.
EMBEDDINGS_ENV = "BATON_NLU_EMBEDDINGS"


@dataclass(frozen=True)
class EngineSettings:
    """Training settings; part of every model's fingerprint."""

    features: FeatureSettings = field(default_factory=FeatureSettings)
    c: float = 1.0
    default_temperature: float = 4.0
    calibrate_min_examples: int = 8
    #: above this many examples the temperature is not fitted (a hold-out SVM is costly)
    calibrate_max_examples: int = 20_000
    random_state: int = 0
    #: sentence embeddings: "auto" (used when ``baton[embeddings]`` is installed), "on", "off"
    embeddings: str = "auto"
    #: weight of the (unit) embedding beside the TF-IDF blocks in the combined features
    embedding_scale: float = 2.0
    #: no combined head above this many intents (its training grows with intents x examples)
    embeddings_max_labels: int = 400
    #: the TF-IDF head's answer is kept without encoding when its probability and its
    #: nearest-example similarity reach these (the fast path: most messages, < 1 ms). On
    #: CLINC150 test, 0.85 / 0.4 send 57% of messages (2.6% of out-of-scope ones) down the
    #: fast path for -0.2 points of ungated intent accuracy; 0.95 / 0.5 sent 42.5%, so the
    #: median message was encoded (~10-30 ms on a loaded 2-core machine)
    fast_probability: float = 0.85
    fast_similarity: float = 0.4
    #: a group with more intents gets a shortlist index (``baton.nlu.index``) instead of one
    #: joint classifier, whose one-vs-rest training grows with intents x examples
    joint_max_labels: int = 600
    #: shortlist index: features kept per intent prototype, bots asked per message
    prototype_features: int = 64
    shortlist_bots: int = 3

    def resolved(self) -> EngineSettings:
        """``embeddings`` made definite: "auto" becomes "on" when the extra is installed."""
        if self.embeddings not in ("auto", "on", "off"):
            raise ValueError(f"embeddings must be auto, on or off, not {self.embeddings!r}")
        if self.embeddings != "auto":
            return self
        forced = os.environ.get(EMBEDDINGS_ENV, "").strip().lower()
        if forced in ("on", "off"):
            return replace(self, embeddings=forced)
        return replace(self, embeddings="on" if sentences.available() else "off")

    @property
    def engine(self) -> str:
        return EMBEDDINGS_ENGINE if self.resolved().embeddings == "on" else ENGINE_VERSION

    def as_dict(self) -> dict[str, object]:
        settings = self.resolved()
        return {"engine": settings.engine, "features": REVISION, **asdict(settings)}


#: a model of at most this many intents, whose weights and examples fit a dense matrix of at
#: most ``SMALL_CELLS`` numbers, is scored by :class:`DenseScorer` (most bots are this size)
SMALL_LABELS = 64
SMALL_CELLS = 1_000_000


@dataclass(frozen=True)
class Analysis:
    """What a model made of one message: classes best first, their probabilities, similarity."""

    classes: list[int]
    probabilities: list[float]
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
        examples: Examples,
        fingerprint: str,
    ) -> None:
        self.labels = labels
        self.features = features
        self.weights = np.ascontiguousarray(weights, dtype=np.float32)
        self.bias = bias.astype(np.float32)
        self.temperature = temperature
        self.examples = examples
        self.fingerprint = fingerprint
        self._norm = float(len(features.blocks))
        self.head: EmbeddingHead | None = None
        self.engine = ENGINE_VERSION
        self._dense: DenseScorer | None = None

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state["_dense"] = None  # rebuilt from the weights and examples on first use
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("_dense", None)

    def bots(self) -> list[str]:
        """The bots whose intents this model knows (labels are ``bot.intent``)."""
        return sorted({label.split(".", 1)[0] for label in self.labels})

    def scores(self, text: str) -> tuple[FloatArray, IntArray, FloatArray]:
        """Raw class scores of one message, and its sparse feature vector."""
        ids, values = self.features.vector(text)
        if ids.size == 0:
            return self.bias.copy(), ids, values
        scores: FloatArray = np.dot(values, self.weights.take(ids, axis=0)) + self.bias
        return scores, ids, values

    def similarity(self, ids: IntArray, values: FloatArray, classes: Sequence[int]) -> float:
        """Cosine between a message and the nearest training example of ``classes``."""
        if ids.size == 0:
            return 0.0
        dense = np.zeros(self.features.size, dtype=np.float32)
        dense[ids] = values
        return self.examples.nearest(dense, classes) / self._norm

    def analyse(self, text: str, top: int = 5) -> Analysis:
        """The ``top`` classes, best first, with probabilities; and the similarity.

        With an embedding head, a message the TF-IDF head is sure of (probability and
        nearest-example similarity over the head's ``fast_*`` bounds) keeps the TF-IDF
        answer with similarity 1; any other is encoded and gets the combined head's
        probabilities and, as similarity, the cosine to its nearest training example in
        embedding space.
        """
        count = min(top, len(self.labels))
        dense = self._dense_scorer()
        if dense is not None:
            best, chances, similarity = dense.analyse(*self.features.vector(text), count)
            similarity /= self._norm
        else:
            scores, ids, values = self.scores(text)
            probabilities = _softmax(scores * self.temperature)
            order = _best(probabilities, count)
            best = order.tolist()
            chances = probabilities[order].tolist()
            similarity = self.similarity(ids, values, best)
        head = self.head
        if head is None:  # with a head, the similarity of an encoded message is MiniLM's
            similarity *= min(1.0, self.features.coverage(text) / FULL_COVERAGE)
            return Analysis(best, chances, similarity)
        if chances[0] >= head.fast_probability and similarity >= head.fast_similarity:
            return Analysis(best, chances, 1.0)
        probabilities, similarity = head.analyse(self, text)
        order = _best(probabilities, count)
        return Analysis(order.tolist(), probabilities[order].tolist(), similarity)

    def _dense_scorer(self) -> DenseScorer | None:
        dense = self._dense
        if dense is None and DenseScorer.fits(self):
            dense = self._dense = DenseScorer(self)
        return dense


class DenseScorer:
    """A small model's weights beside its examples' rows, as one dense matrix.

    One gather and one product give a message's class scores and its dot product with
    every training example; the few numbers that come out are finished in plain Python
    (softmax, ranking, nearest example per class), cheaper than numpy's per-call cost at
    this size. The arithmetic is :meth:`IntentModel.analyse`'s, in double precision.
    """

    def __init__(self, model: IntentModel) -> None:
        examples = model.examples
        labels = len(model.labels)
        rows = len(examples.indptr) - 1
        matrix = np.zeros((model.features.size, labels + rows), dtype=np.float32)
        matrix[:, :labels] = model.weights
        row_of = np.repeat(np.arange(rows), np.diff(examples.indptr))
        matrix[examples.indices, labels + row_of] = examples.data
        self.matrix = matrix
        self.labels = labels
        self.bias = model.bias.tolist()
        self.temperature = float(model.temperature)
        starts = (examples.starts + labels).tolist()
        self.bounds = list(pairwise(starts))

    @staticmethod
    def fits(model: IntentModel) -> bool:
        labels = len(model.labels)
        cells = model.features.size * (labels + len(model.examples.indptr) - 1)
        return labels <= SMALL_LABELS and cells <= SMALL_CELLS

    def analyse(
        self, ids: IntArray, values: FloatArray, count: int
    ) -> tuple[list[int], list[float], float]:
        """The ``count`` best classes, their probabilities, and the nearest example's dot
        product among theirs."""
        labels = self.labels
        if ids.size:
            row: list[float] = np.dot(values, self.matrix.take(ids, axis=0)).tolist()
            logits = [(s + b) * self.temperature for s, b in zip(row, self.bias, strict=False)]
        else:
            row = []
            logits = [b * self.temperature for b in self.bias]
        top = max(max(logits), 0.0)  # softmax with a "none of these" logit at 0 (_softmax)
        shifted = [math.exp(x - top) for x in logits]
        total = sum(shifted) + math.exp(-top)
        probabilities = [x / total for x in shifted]
        best = sorted(range(labels), key=probabilities.__getitem__, reverse=True)[:count]
        if not row:
            return best, [probabilities[c] for c in best], 0.0
        if count == labels:
            nearest = max(row[labels:])
        else:
            bounds = self.bounds
            nearest = max(max(row[bounds[c][0] : bounds[c][1]]) for c in best)
        return best, [probabilities[c] for c in best], max(nearest, 0.0)


def _best(probabilities: FloatArray, count: int) -> npt.NDArray[np.intp]:
    """Indices of the ``count`` highest probabilities, best first (ties: lower index)."""
    if count < len(probabilities):
        best = np.argpartition(-probabilities, count - 1)[:count]
        return best[np.argsort(-probabilities[best], kind="stable")]
    return np.argsort(-probabilities, kind="stable")


class Examples:
    """The training examples' feature rows grouped by class, for nearest-example cosines.

    Rows are stored CSR, sorted by class, so the examples of one class are one contiguous
    slice of the nonzeros: the cosine to each is a gather and a ``bincount``.
    """

    def __init__(self, matrix: sp.csr_matrix, y: npt.NDArray[np.int64], classes: int) -> None:
        import scipy.sparse as sp

        order = np.argsort(y, kind="stable")
        rows = sp.csr_matrix(matrix[order], dtype=np.float32)
        self.indptr = rows.indptr.astype(np.int64)
        self.indices = rows.indices.astype(np.int32)
        self.data = rows.data.astype(np.float32)
        if np.any(np.diff(self.indptr) == 0):  # every example has a feature (see fit)
            raise ValueError("a training example has no feature")
        self.starts = np.searchsorted(y[order], np.arange(classes + 1)).astype(np.int64)

    def nearest(self, dense: FloatArray, classes: Sequence[int]) -> float:
        """Largest dot product between ``dense`` and an example of one of ``classes``."""
        if len(classes) == len(self.starts) - 1:  # every class: one pass over all rows
            return self._nearest_in(dense, 0, int(self.starts[-1]))
        best = 0.0
        for label in classes:
            best = max(best, self._nearest_in(dense, self.starts[label], self.starts[label + 1]))
        return best

    def _nearest_in(self, dense: FloatArray, first: int, last: int) -> float:
        """Largest dot product between ``dense`` and rows ``first`` to ``last`` (excluded)."""
        if first == last:
            return 0.0
        bounds = self.indptr[first : last + 1]
        start = int(bounds[0])
        products = self.data[start : bounds[-1]] * dense[self.indices[start : bounds[-1]]]
        return float(np.add.reduceat(products, bounds[:-1] - start).max())


class EmbeddingHead:
    """A linear classifier over [TF-IDF, scale x sentence vector] (``baton.nlu.sentences``),
    and the MiniLM embeddings of the training examples (for the nearest-example similarity)."""

    def __init__(
        self,
        tfidf_weights: FloatArray,
        embedding_weights: FloatArray,
        bias: FloatArray,
        temperature: float,
        examples: FloatArray,
        fast_probability: float,
        fast_similarity: float,
    ) -> None:
        self.tfidf_weights = np.ascontiguousarray(tfidf_weights, dtype=np.float32)
        self.embedding_weights = np.ascontiguousarray(embedding_weights, dtype=np.float32)
        self.bias = bias.astype(np.float32)
        self.temperature = temperature
        self.examples = np.ascontiguousarray(examples, dtype=np.float32)  # examples x dim
        self.fast_probability = fast_probability
        self.fast_similarity = fast_similarity

    def analyse(self, model: IntentModel, text: str) -> tuple[FloatArray, float]:
        vector = sentences.encode_one(text)
        ids, values = model.features.vector(text)
        scores = vector @ self.embedding_weights + self.bias
        if ids.size:
            scores = scores + values @ self.tfidf_weights[ids]
        nearest = self.examples @ vector[sentences.SIMILARITY_COLUMNS]
        similarity = float(nearest.max()) if len(self.examples) else 0.0
        return _softmax(scores * self.temperature), similarity


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
    import scipy.sparse as sp

    names = tuple(sorted(set(labels)))
    index = {name: i for i, name in enumerate(names)}
    y = np.asarray([index[label] for label in labels], dtype=np.int64)
    features, matrix = Features.fit(texts, settings.features)
    settings = settings.resolved()
    embed = settings.embeddings == "on" and 1 < len(names) <= settings.embeddings_max_labels
    # the SVM fits (liblinear) and the encoder (BLAS) release the GIL: the temperature's
    # hold-out fit and the encoding run beside the main fit (~1.5x faster on 2 cores)
    with ThreadPoolExecutor(max_workers=2) as pool:
        encoding = pool.submit(_encode, texts) if embed else None
        if len(names) == 1:
            weights = np.zeros((features.size, 1), dtype=np.float32)
            bias = np.ones(1, dtype=np.float32)
            temperature = settings.default_temperature
        else:
            fitting = pool.submit(_temperature, matrix, y, len(names), settings)
            weights, bias = _fit_linear(matrix, y, len(names), settings)
            temperature = fitting.result()
        embeddings = encoding.result() if encoding is not None else None
    examples = Examples(matrix, y, len(names))
    model = IntentModel(names, features, weights, bias, temperature, examples, fingerprint)
    if embeddings is not None:
        model.engine = EMBEDDINGS_ENGINE
        scale = settings.embedding_scale
        combined = sp.hstack([matrix, sp.csr_matrix(embeddings * scale)], format="csr")
        w, b = _fit_linear(combined, y, len(names), settings)
        model.head = EmbeddingHead(
            w[: features.size],
            w[features.size :] * scale,
            b,
            temperature,
            embeddings[:, sentences.SIMILARITY_COLUMNS],
            settings.fast_probability,
            settings.fast_similarity,
        )
    return model


def _encode(texts: Sequence[str]) -> FloatArray:
    return sentences.encode(texts)


def _fit_linear(
    matrix: sp.csr_matrix, y: npt.NDArray[np.int64], classes: int, settings: EngineSettings
) -> tuple[FloatArray, FloatArray]:
    from sklearn.svm import LinearSVC

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
    if counts.min() < settings.calibrate_min_examples or len(y) > settings.calibrate_max_examples:
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
