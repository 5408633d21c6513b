"""The cross-bot index of a large collaboration group: a shortlist, then the members decide.

Up to ``EngineSettings.joint_max_labels`` intents, a group's index is one joint classifier
over every member's intents (:func:`~baton.nlu.model.train_model`): the most accurate, but
one-vs-rest training grows with intents x examples (3,000 intents take many minutes). Above
that, the index is this class, whose training is linear in the examples:

1. **Shortlist.** Each intent has a *prototype*: the mean of its examples' TF-IDF vectors
   (over the group's vocabulary), cut to its ``prototype_features`` heaviest features and
   L2-normalised. A message's dot product with every prototype is a gather over an inverted
   index (feature -> intents). Features kept by more than a tenth of the prototypes (words
   most intents use) are left out of the index: they say little about which bot a message
   is for, and they would make every gather long.
2. **Decision.** The bots of the best ``shortlist_bots`` prototypes classify the message
   with their own models (trained anyway, one per bot); the candidates are merged, ranked
   by probability x similarity x prototype score, and the best one's similarity is the
   message's. (Measured on CLINC150 plus 990 distractor bots, 1,140 intents: the right
   bot is in the shortlist of 3 for 96.9% of in-scope messages; this ranking picks it for
   89.5%, against 84.8% by probability alone and 96.3% for a joint model, which takes
   minutes to train at that size.)

With ``baton[embeddings]`` the index also keeps every example's Universal Sentence Encoder
vector (:class:`ExampleVectors`; USE, not MiniLM: 0.9 ms a message instead of ~20 ms). A
message's USE vector then adds to the shortlist the bot of the nearest intent centroid not
already in it (``EMBEDDING_BOTS``), and ranks the candidates by probability x (cosine to
the intent's nearest example)^4: unlike the members' probabilities, which come from
models trained apart, that cosine compares across bots. On CLINC150 plus 990 distractor
bots (1,500 in-scope test rows) bot accuracy goes from 90.6% with the ranking above to
96.3%, intent accuracy from 88.9% to 94.3% (chosen on val rows; docs/nlu.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from baton.nlu.features import Features, FeatureSettings, FloatArray, IntArray
from baton.nlu.model import Analysis, IntentModel
from baton.nlu.use_encoder import get_use_encoder

if TYPE_CHECKING:
    import scipy.sparse as sp

#: the engine name of a shortlist index (recorded like ``IntentModel.engine``); part of every
#: group's fingerprint
SHORTLIST_ENGINE = "shortlist-2"
#: bots the message's sentence vector adds to the shortlist (nearest intent centroids)
EMBEDDING_BOTS = 1
#: the power of the nearest-example cosine in the cross-bot ranking
COSINE_POWER = 4


class ExampleVectors:
    """Unit sentence vectors (USE) of a group's examples, grouped by intent, and each
    intent's centroid."""

    def __init__(self, vectors: FloatArray, rows: npt.NDArray[np.int64], labels: int) -> None:
        order = np.argsort(rows, kind="stable")
        # float16 halves the index on disk and in memory; cosines lose < 1e-3
        self.vectors = np.ascontiguousarray(vectors[order], dtype=np.float16)
        self.starts = np.searchsorted(rows[order], np.arange(labels + 1)).astype(np.int64)
        sums = np.add.reduceat(vectors[order], self.starts[:-1], axis=0)
        sums /= np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
        self.centroids = np.ascontiguousarray(sums, dtype=np.float32)

    def nearest(self, vector: FloatArray, label: int) -> float:
        """Cosine between ``vector`` and the nearest example of intent ``label``."""
        rows = self.vectors[self.starts[label] : self.starts[label + 1]]
        return float((rows.astype(np.float32) @ vector).max())


class ShortlistIndex:
    """Prototypes of a group's intents, and (attached after loading) its members' models."""

    def __init__(
        self,
        labels: tuple[str, ...],
        features: Features,
        prototypes: sp.csr_matrix,
        shortlist_bots: int,
        fingerprint: str,
        vectors: ExampleVectors | None = None,
    ) -> None:
        self.labels = labels
        self.vectors = vectors
        self.features = features
        # features x intents, CSR: row f lists the intents whose prototype keeps feature f
        self.indptr = prototypes.indptr.astype(np.int64)
        self.indices = prototypes.indices.astype(np.int32)
        self.data = prototypes.data.astype(np.float32)
        self.shortlist_bots = shortlist_bots
        self.fingerprint = fingerprint
        self.engine = SHORTLIST_ENGINE
        self._position = {label: i for i, label in enumerate(labels)}
        self._bot_of = [label.split(".", 1)[0] for label in labels]
        self.members: dict[str, IntentModel] = {}
        self._member_positions: dict[str, list[int]] = {}

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state["members"] = {}  # members are cached on their own; attached after loading
        state["_member_positions"] = {}
        return state

    def attach(self, members: dict[str, IntentModel]) -> None:
        """Give the index the members' own models (required before :meth:`analyse`)."""
        missing = sorted(set(self._bot_of) - set(members))
        if missing:
            raise ValueError(f"the index needs the models of bots {', '.join(missing[:5])}")
        self.members = {bot: members[bot] for bot in set(self._bot_of)}
        self._member_positions = {}

    def _positions(self, bot: str, model: IntentModel) -> list[int]:
        """Where each of a member model's labels is in this index's labels."""
        known = self._member_positions.get(bot)
        if known is None:
            known = self._member_positions[bot] = [self._position[x] for x in model.labels]
        return known

    def bots(self) -> list[str]:
        """The bots whose intents this index knows."""
        return sorted(set(self._bot_of))

    def shortlist(self, text: str) -> list[str]:
        """The bots of the prototypes nearest to the message, nearest first."""
        return self._shortlist(self._scores(text))

    def _scores(self, text: str) -> npt.NDArray[np.float64]:
        ids, values = self.features.vector(text)
        return self._prototype_scores(ids, values)

    def _shortlist(self, scores: npt.NDArray[np.float64], exclude: str | None = None) -> list[str]:
        count = min(self.shortlist_bots * 4, len(scores))
        order = np.argpartition(-scores, count - 1)[:count]
        order = order[np.argsort(-scores[order], kind="stable")]
        bots: list[str] = []
        for position in order.tolist():
            if scores[position] <= 0:
                break
            bot = self._bot_of[position]
            if bot != exclude and bot not in bots:
                bots.append(bot)
                if len(bots) == self.shortlist_bots:
                    break
        return bots

    def _prototype_scores(self, ids: IntArray, values: FloatArray) -> npt.NDArray[np.float64]:
        starts = self.indptr[ids]
        lengths = self.indptr[ids + 1] - starts
        total = int(lengths.sum())
        if total == 0:
            return np.zeros(len(self.labels))
        # positions of every kept (feature, intent) pair of the message's features
        shift = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
        positions = np.arange(total) + shift
        weights = self.data[positions] * np.repeat(values, lengths)
        scores = np.bincount(self.indices[positions], weights=weights, minlength=len(self.labels))
        return scores.astype(np.float64, copy=False)

    def _nearest_bots(self, cosines: FloatArray, skip: list[str], count: int) -> list[str]:
        """The bots of the intents with the highest ``cosines``, not in ``skip``."""
        bots: list[str] = []
        for position in np.argsort(-cosines).tolist():
            bot = self._bot_of[position]
            if bot not in skip and bot not in bots:
                bots.append(bot)
                if len(bots) == count:
                    break
        return bots

    def analyse(self, text: str, top: int = 5, exclude: str | None = None) -> Analysis:
        """The ``top`` candidates across the shortlisted bots (never bot ``exclude``: its
        place in the shortlist goes to the next bot), best first."""
        scores = self._scores(text)
        bots = self._shortlist(scores, exclude)
        vectors = self.vectors
        if vectors is None:

            def rank(position: int, probability: float, similarity: float) -> float:
                return probability * similarity * float(scores[position])

        else:
            vector = get_use_encoder().encode_one(text)
            skip = [*bots, exclude] if exclude else bots
            bots += self._nearest_bots(vectors.centroids @ vector, skip, EMBEDDING_BOTS)

            def rank(position: int, probability: float, similarity: float) -> float:
                return probability * vectors.nearest(vector, position) ** COSINE_POWER

        merged: list[tuple[float, int, float, float]] = []  # rank key, label, p, similarity
        for bot in bots:
            model = self.members[bot]
            analysis = model.analyse(text, top)
            similarity = analysis.similarity
            positions = self._positions(bot, model)
            for label, probability in zip(analysis.classes, analysis.probabilities, strict=True):
                position = positions[label]
                key = rank(position, probability, similarity)
                merged.append((key, position, probability, similarity))
        if not merged:
            return Analysis([], [], 0.0)
        merged.sort(key=lambda m: (-m[0], m[1]))
        best = merged[:top]
        return Analysis([m[1] for m in best], [m[2] for m in best], best[0][3])


def train_shortlist(
    texts: list[str],
    labels: list[str],
    settings: FeatureSettings,
    keep: int,
    shortlist_bots: int,
    fingerprint: str,
    embeddings: bool = False,
) -> ShortlistIndex:
    """Prototypes of every intent over the group's vocabulary, cut to ``keep`` features
    (and, with ``embeddings``, the examples' USE vectors)."""
    import scipy.sparse as sp

    names = tuple(sorted(set(labels)))
    position = {name: i for i, name in enumerate(names)}
    features, matrix = Features.fit(texts, settings)
    rows = np.asarray([position[label] for label in labels], dtype=np.int64)
    membership = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, np.arange(len(rows)))),
        shape=(len(names), len(rows)),
    )
    centroids = sp.csr_matrix(membership @ matrix, dtype=np.float32)
    indptr, indices, data = [0], [], []
    for row in range(len(names)):
        start, stop = centroids.indptr[row], centroids.indptr[row + 1]
        columns = centroids.indices[start:stop]
        weights = centroids.data[start:stop]
        if len(weights) > keep:
            heaviest = np.argpartition(-weights, keep - 1)[:keep]
            columns, weights = columns[heaviest], weights[heaviest]
        norm = float(np.sqrt(weights @ weights)) or 1.0
        indices.append(columns)
        data.append(weights / norm)
        indptr.append(indptr[-1] + len(columns))
    prototypes = sp.csr_matrix(
        (np.concatenate(data), np.concatenate(indices), indptr),
        shape=(len(names), features.size),
    )
    by_feature = sp.csr_matrix(prototypes.T, dtype=np.float32)
    # a feature kept by more than a tenth of the prototypes tells little about which bot a
    # message is for, and its row would make every message's gather long: drop it
    common = np.flatnonzero(np.diff(by_feature.indptr) > max(64, len(names) // 10))
    if common.size:
        mask = np.ones(by_feature.shape[0], dtype=np.float32)
        mask[common] = 0.0
        by_feature = sp.csr_matrix(sp.diags(mask) @ by_feature, dtype=np.float32)
        by_feature.eliminate_zeros()
    by_feature.sort_indices()
    vectors = None
    if embeddings:
        vectors = ExampleVectors(get_use_encoder().encode(texts), rows, len(names))
    return ShortlistIndex(names, features, by_feature, shortlist_bots, fingerprint, vectors)
