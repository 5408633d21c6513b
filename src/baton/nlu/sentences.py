"""The sentence vector the embedding head sees: MiniLM's beside the Universal Sentence Encoder's.

A message's vector is ``[minilm, USE_WEIGHT x use]`` (384 + 512 columns, each part a unit
vector). The head multiplies it by ``EngineSettings.embedding_scale`` beside the TF-IDF
blocks. The weights were measured on CLINC150 (docs/nlu.md): MiniLM at 2 and USE at 1
(so ``USE_WEIGHT`` 0.5 under scale 2) gave 96.58% ungated intent accuracy and 95.53% at
80% out-of-scope recall, against 96.49% / 95.16% for MiniLM alone; USE at 1.5 or 2 was
worse (96.33%), at 0.7 the same.

The nearest-example similarity (out-of-scope detection) uses the MiniLM part only
(``SIMILARITY_COLUMNS``): averaging in USE's nearest-example cosine changed nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from baton.nlu import encoder, use_encoder

FloatArray = npt.NDArray[np.float32]
USE_WEIGHT = 0.5
#: the columns of the vector that the nearest-example similarity compares (MiniLM's)
SIMILARITY_COLUMNS = slice(0, 384)


def available() -> bool:
    """True when both encoders of ``baton[embeddings]`` are installed."""
    return encoder.available() and use_encoder.available()


def encode(texts: Sequence[str]) -> FloatArray:
    """The vectors of many texts (both encoders memoise what they have seen)."""
    minilm = encoder.get_encoder().encode(texts)
    use = use_encoder.get_use_encoder().encode(texts)
    return np.hstack([minilm, use * np.float32(USE_WEIGHT)])


def encode_one(text: str) -> FloatArray:
    """The vector of one message."""
    minilm = encoder.get_encoder().encode_one(text)
    use = use_encoder.get_use_encoder().encode_one(text)
    return np.concatenate([minilm, use * np.float32(USE_WEIGHT)])


def forget_messages() -> None:
    """Both encoders (those loaded) forget the single messages they keep: for latency
    benchmarks, where a message seen in an earlier run would cost a lookup, not an encoding."""
    encoder.forget_messages()
    use_encoder.forget_messages()
