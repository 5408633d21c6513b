"""TF-IDF features, fitted and applied without scikit-learn's per-call overhead.

Two blocks side by side, each L2-normalised, with sublinear tf (``1 + ln tf``) and smoothed
idf (``ln((1 + n) / (1 + df)) + 1``), exactly the arithmetic of scikit-learn's
``TfidfVectorizer(sublinear_tf=True)``:

- words: lowercased tokens of two or more word characters, 1-2 grams;
- ``char_wb``: character 2-5 grams inside each whitespace-separated word padded with spaces.

Fitting a bot of a few dozen examples takes a millisecond, and one message becomes a
sparse vector in tens of microseconds: character n-grams are computed per word and the
word's columns are memoised (users reuse words), so a message costs a few dictionary
lookups. ``tests/nlu/test_features.py`` checks the result against ``TfidfVectorizer``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from baton.domain.text import UNSEGMENTED, fold

if TYPE_CHECKING:
    import scipy.sparse as sp

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.intp]

#: each character of a script written without spaces is a word (``UNSEGMENTED``);
#: elsewhere scikit-learn's default: runs of two or more word characters
_TOKEN = re.compile(f"[{UNSEGMENTED}]|[^\\W{UNSEGMENTED}]{{2,}}")
#: part of every model's fingerprint: bump when the n-grams or their arithmetic change, so
#: cached models retrain (the engine's name, which tuned gates are stamped with, stays).
#: 2: a character of an unsegmented script is a word; an unknown word weighs as df 0
#: 3: text is ``fold``-ed (NFKC, case-folded) instead of lowercased
REVISION = 3
#: memoised words per character block; cleared when full (a bound on memory, not an LRU)
_WORD_MEMO_LIMIT = 50_000


@dataclass(frozen=True)
class FeatureSettings:
    """Which n-grams make the features."""

    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (2, 5)
    char_min_df: int = 1


def word_grams(text: str, low: int, high: int) -> list[str]:
    """Word n-grams of the ``fold``-ed text (``baton.domain.text``), as scikit-learn makes
    them: tokens of 2+ word characters, and each character of a script written without
    spaces (``UNSEGMENTED``)."""
    tokens = _TOKEN.findall(fold(text))
    if high == 1 and low == 1:
        return tokens
    grams = list(tokens) if low == 1 else []
    count = len(tokens)
    for n in range(max(low, 2), high + 1):
        grams += [" ".join(tokens[i : i + n]) for i in range(count - n + 1)]
    return grams


def char_grams(word: str, low: int, high: int) -> list[str]:
    """Character n-grams of one word padded with spaces (scikit-learn's ``char_wb``)."""
    padded = f" {word} "
    length = len(padded)
    grams: list[str] = []
    for n in range(low, high + 1):
        if n > length:  # a short word counts once, as a whole
            grams.append(padded)
            break
        grams += [padded[i : i + n] for i in range(length - n + 1)]
        if n == length:
            break
    return grams


class Block:
    """One fitted TF-IDF block: vocabulary, idf and its column offset in the features."""

    def __init__(
        self,
        kind: str,
        ngrams: tuple[int, int],
        vocabulary: dict[str, int],
        idf: FloatArray,
        documents: int = 0,
    ) -> None:
        self.kind = kind
        self.ngrams = ngrams
        self.vocabulary = vocabulary
        self.idf = idf
        #: how many texts the block was fitted on
        self.documents = documents
        self.offset = 0
        self._memo: dict[str, tuple[list[int], float]] = {}
        self._derive()

    def _derive(self) -> None:
        self.squares: list[float] = (self.idf.astype(np.float64) ** 2).tolist()
        #: the squared idf of an n-gram no example has (document frequency 0), for
        #: ``Features.coverage``: heavier than any known one's, also when every known
        #: n-gram is as rare as can be (a bot of one example, where all idfs are equal)
        self.unknown_square = (math.log(1.0 + self.documents) + 1.0) ** 2

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state["_memo"] = {}
        del state["squares"]  # derived from the idf
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._derive()

    @property
    def size(self) -> int:
        return len(self.vocabulary)

    def grams(self, text: str) -> list[str]:
        """The n-grams of a text, repeated as often as they occur."""
        low, high = self.ngrams
        if self.kind == "word":
            return word_grams(text, low, high)
        grams: list[str] = []
        for word in fold(text).split():
            grams += char_grams(word, low, high)
        return grams

    def columns(self, text: str) -> tuple[list[int], float]:
        """Feature columns (offset included) of the text's known n-grams, once per
        occurrence, and the sum of their squared idf (the squared norm of the block's
        vector before normalisation, when no column repeats)."""
        vocabulary = self.vocabulary
        offset = self.offset
        squares = self.squares
        if self.kind == "word":
            found = [c for g in self.grams(text) if (c := vocabulary.get(g)) is not None]
            return [c + offset for c in found], sum([squares[c] for c in found])
        low, high = self.ngrams
        memo = self._memo
        columns: list[int] = []
        total = 0.0
        for word in fold(text).split():
            known = memo.get(word)
            if known is None:
                found = [
                    c for g in char_grams(word, low, high) if (c := vocabulary.get(g)) is not None
                ]
                known = ([c + offset for c in found], sum([squares[c] for c in found]))
                if len(memo) >= _WORD_MEMO_LIMIT:
                    memo.clear()
                memo[word] = known
            columns += known[0]
            total += known[1]
        return columns, total


def _fit_block(
    kind: str, ngrams: tuple[int, int], texts: Sequence[str], min_df: int
) -> Block | None:
    """A block's vocabulary (sorted, like scikit-learn) and smoothed idf."""
    grams = Block(kind, ngrams, {}, np.empty(0, dtype=np.float32)).grams
    df: Counter[str] = Counter()
    for text in texts:
        df.update(set(grams(text)))
    kept = sorted(g for g, n in df.items() if n >= min_df)
    if not kept:
        return None
    counts = np.asarray([df[g] for g in kept], dtype=np.float64)
    idf = (np.log((1.0 + len(texts)) / (1.0 + counts)) + 1.0).astype(np.float32)
    return Block(kind, ngrams, {g: i for i, g in enumerate(kept)}, idf, len(texts))


class Features:
    """Fitted word and character TF-IDF blocks, side by side."""

    def __init__(self, blocks: list[Block]) -> None:
        self.blocks = blocks
        offset = 0
        for block in blocks:
            block.offset = offset
            offset += block.size
        self.size = offset
        self.idf = np.concatenate([b.idf for b in blocks]).astype(np.float32)

    @classmethod
    def fit(cls, texts: Sequence[str], settings: FeatureSettings) -> tuple[Features, sp.csr_matrix]:
        """Fit the blocks on ``texts``; return them and the training matrix."""
        specs = (
            ("word", settings.word_ngrams, 1),
            ("char_wb", settings.char_ngrams, settings.char_min_df if len(texts) > 200 else 1),
        )
        # a block without any token (e.g. one-letter examples) is left out
        fitted = [_fit_block(kind, ngrams, texts, min_df) for kind, ngrams, min_df in specs]
        blocks = [block for block in fitted if block is not None]
        if not blocks:
            raise ValueError("the examples contain no usable text")
        features = cls(blocks)
        matrix = features.matrix(texts)
        return features, matrix

    def vector(self, text: str) -> tuple[IntArray, FloatArray]:
        """The sparse feature vector of one message: column ids and values.

        A value is ``idf x tf-weight / block norm``; the factors after the idf are
        worked out in plain Python (a few dozen numbers: cheaper than numpy calls) and
        the vector is two numpy operations.
        """
        ids: list[int] = []
        factors: list[float] = []
        for block in self.blocks:
            columns, squares = block.columns(text)
            if not columns:
                continue
            if len(set(columns)) == len(columns):  # the usual case: every n-gram once
                ids += columns
                factors += [1.0 / math.sqrt(squares)] * len(columns)
                continue
            # some n-gram repeats (a word ending like "s " often does): sublinear tf,
            # 1 + ln(count), for the repeated ones; ``squares`` counted them n times
            tally = Counter(columns)
            weights = {c: 1.0 + math.log(n) for c, n in tally.items() if n > 1}
            every, offset = block.squares, block.offset
            squares += sum([(w * w - tally[c]) * every[c - offset] for c, w in weights.items()])
            scale = 1.0 / math.sqrt(squares)
            ids += tally
            factors += [weights.get(c, 1.0) * scale for c in tally]
        found = np.array(ids, dtype=np.intp)
        values: FloatArray = self.idf.take(found) * np.array(factors, dtype=np.float32)
        return found, values

    def coverage(self, text: str) -> float:
        """How much of the message the examples' words account for: the norm of its word
        block's known n-grams over the norm of all of them, an unknown n-gram weighing as
        one of document frequency 0 would. 1 when every word n-gram is known.

        The vectors leave unknown n-grams out, so "what is my balance" against examples
        that say "my internet is not working" is the vector of "is" and "my" alone: close
        to them, although half its words are foreign. A bot of one or two intents is then
        sure of anything that shares its function words; the similarity times this
        coverage is not.
        """
        block = next((b for b in self.blocks if b.kind == "word"), None)
        if block is None:
            return 1.0
        grams = word_grams(text, 1, 1)  # words: an unknown pair of known words is no news
        if not grams:
            return 1.0
        vocabulary, squares = block.vocabulary, block.squares
        known = [squares[c] for g in grams if (c := vocabulary.get(g)) is not None]
        unknown = (len(grams) - len(known)) * block.unknown_square
        total = sum(known) + unknown
        return math.sqrt(sum(known) / total) if total > 0 else 1.0

    def matrix(self, texts: Sequence[str]) -> sp.csr_matrix:
        """The feature matrix of many messages (for training and clash detection)."""
        import scipy.sparse as sp

        indptr = [0]
        indices: list[int] = []
        data: list[float] = []
        for text in texts:
            ids, values = self.vector(text)
            indices += ids.tolist()
            data += values.tolist()
            indptr.append(len(indices))
        return sp.csr_matrix(
            (np.asarray(data, dtype=np.float32), np.asarray(indices, dtype=np.int32), indptr),
            shape=(len(texts), self.size),
        )
