"""TF-IDF features: fitted with scikit-learn, applied to one message without its overhead.

Training uses :class:`~sklearn.feature_extraction.text.TfidfVectorizer` (word 1-2 grams and
``char_wb`` 2-5 grams, sublinear tf, each block L2-normalised). Classifying one message does
the same arithmetic in plain Python and numpy, which costs tens of microseconds instead of the
sub-millisecond overhead of building a one-row sparse matrix per call.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int32]


@dataclass(frozen=True)
class FeatureSettings:
    """Which n-grams make the features."""

    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (2, 5)
    char_min_df: int = 1


class _Block:
    """One fitted TF-IDF block: its analyzer, vocabulary, idf and column offset."""

    def __init__(self, vectorizer: Any, offset: int) -> None:
        self.vectorizer = vectorizer
        self.offset = offset
        self.vocabulary: dict[str, int] = dict(vectorizer.vocabulary_)
        self.idf: list[float] = [float(v) for v in vectorizer.idf_]
        self.analyze: Callable[[str], list[str]] = vectorizer.build_analyzer()

    def __getstate__(self) -> dict[str, Any]:
        return {"vectorizer": self.vectorizer, "offset": self.offset}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["vectorizer"], state["offset"])  # type: ignore[misc]

    @property
    def size(self) -> int:
        return len(self.vocabulary)

    def add(self, text: str, ids: list[int], values: list[float]) -> None:
        counts = Counter(self.analyze(text))
        start = len(values)
        norm = 0.0
        for token, count in counts.items():
            column = self.vocabulary.get(token)
            if column is None:
                continue
            value = (1.0 + math.log(count)) * self.idf[column]
            ids.append(column + self.offset)
            values.append(value)
            norm += value * value
        if norm > 0:
            scale = 1.0 / math.sqrt(norm)
            for i in range(start, len(values)):
                values[i] *= scale


class Features:
    """Fitted word and character TF-IDF blocks, side by side."""

    def __init__(self, blocks: list[_Block]) -> None:
        self.blocks = blocks
        self.size = sum(b.size for b in blocks)

    @classmethod
    def fit(cls, texts: Sequence[str], settings: FeatureSettings) -> tuple[Features, sp.csr_matrix]:
        """Fit the blocks on ``texts``; return them and the training matrix."""
        word = TfidfVectorizer(
            ngram_range=settings.word_ngrams, sublinear_tf=True, dtype=np.float32
        )
        char = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=settings.char_ngrams,
            sublinear_tf=True,
            min_df=settings.char_min_df if len(texts) > 200 else 1,
            dtype=np.float32,
        )
        matrices = []
        blocks: list[_Block] = []
        offset = 0
        for vectorizer in (word, char):
            try:
                matrices.append(vectorizer.fit_transform(texts))
            except ValueError:  # no token at all (e.g. one-letter examples): skip the block
                continue
            blocks.append(_Block(vectorizer, offset))
            offset += blocks[-1].size
        if not blocks:
            raise ValueError("the examples contain no usable text")
        matrix = sp.hstack(matrices, format="csr", dtype=np.float32)
        return cls(blocks), matrix

    def vector(self, text: str) -> tuple[IntArray, FloatArray]:
        """The sparse feature vector of one message: column ids and values."""
        ids: list[int] = []
        values: list[float] = []
        for block in self.blocks:
            block.add(text, ids, values)
        return np.asarray(ids, dtype=np.int32), np.asarray(values, dtype=np.float32)

    def matrix(self, texts: Sequence[str]) -> sp.csr_matrix:
        """The feature matrix of many messages (for training and clash detection)."""
        parts = [b.vectorizer.transform(texts) for b in self.blocks]
        return sp.hstack(parts, format="csr", dtype=np.float32)
