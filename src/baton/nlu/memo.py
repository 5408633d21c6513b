"""What an encoder has already computed: the vectors of texts, so nothing is encoded twice.

Training encodes each example once per process, although a bot model and its group index
both ask for it (``many``: up to 200,000 texts, kept for the process's life); serving keeps
the last 20,000 single messages (``one``: repeated messages such as "yes" or "ok", and
rows scored again, cost a dictionary lookup).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
MANY_LIMIT = 200_000
RECENT_LIMIT = 20_000


class Memo:
    """Vectors of ``dimension`` columns, by text."""

    def __init__(self, dimension: int) -> None:
        self.dimension = dimension
        self._many: dict[str, FloatArray] = {}
        self._recent: dict[str, FloatArray] = {}

    def many(self, texts: Sequence[str], compute: Callable[[list[str]], FloatArray]) -> FloatArray:
        """The vectors of ``texts`` (rows in their order); ``compute`` gets the unknown ones,
        each once, and returns their vectors in the order given."""
        result = np.zeros((len(texts), self.dimension), dtype=np.float32)
        todo: dict[str, list[int]] = {}
        for i, text in enumerate(texts):
            known = self._many.get(text)
            if known is not None:
                result[i] = known
            else:
                todo.setdefault(text, []).append(i)
        if todo:
            unique = list(todo)
            for text, vector in zip(unique, compute(unique), strict=True):
                result[todo[text]] = vector
                if len(self._many) < MANY_LIMIT:
                    self._many[text] = vector
        return result

    def one(self, text: str, compute: Callable[[str], FloatArray]) -> FloatArray:
        """The vector of one message (the last ``RECENT_LIMIT`` are kept)."""
        known = self._recent.get(text)
        if known is not None:
            return known
        vector = compute(text)
        if len(self._recent) >= RECENT_LIMIT:
            self._recent.pop(next(iter(self._recent)))
        self._recent[text] = vector
        return vector

    def forget_messages(self) -> None:
        """Drop the single messages kept (benchmarks measuring the encoder's latency)."""
        self._recent.clear()
