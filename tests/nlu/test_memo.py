"""Encoders' memo: each text is computed once, rows come back in the order asked."""

from __future__ import annotations

import numpy as np
import pytest

from baton.nlu import memo
from baton.nlu.memo import Memo


def _vectors(texts: list[str]) -> np.ndarray:
    return np.asarray([[len(t), ord(t[0])] for t in texts], dtype=np.float32)


def test_many_computes_each_unknown_text_once_and_keeps_the_order() -> None:
    calls: list[list[str]] = []

    def compute(texts: list[str]) -> np.ndarray:
        calls.append(texts)
        return _vectors(texts)

    cache = Memo(2)
    first = cache.many(["bb", "a", "bb"], compute)
    assert calls == [["bb", "a"]]
    assert first.tolist() == [[2, 98], [1, 97], [2, 98]]
    second = cache.many(["ccc", "a"], compute)
    assert calls[-1] == ["ccc"]
    assert second.tolist() == [[3, 99], [1, 97]]
    cache.many(["a", "bb", "ccc"], compute)
    assert len(calls) == 2  # all known


def test_one_keeps_the_most_recent_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memo, "RECENT_LIMIT", 2)
    calls: list[str] = []

    def compute(text: str) -> np.ndarray:
        calls.append(text)
        return _vectors([text])[0]

    cache = Memo(2)
    for text in ["yes", "yes", "no", "ok", "no", "yes"]:
        cache.one(text, compute)
    # "yes" was dropped when "ok" came (the limit is 2), so it is computed again
    assert calls == ["yes", "no", "ok", "yes"]


def test_forgetting_messages_keeps_the_training_texts() -> None:
    many: list[str] = []
    one: list[str] = []
    cache = Memo(2)
    cache.many(["abc"], lambda texts: (many.extend(texts), _vectors(texts))[1])
    cache.one("yes", lambda text: (one.append(text), _vectors([text])[0])[1])
    cache.forget_messages()
    cache.many(["abc"], lambda texts: (many.extend(texts), _vectors(texts))[1])
    cache.one("yes", lambda text: (one.append(text), _vectors([text])[0])[1])
    assert many == ["abc"] and one == ["yes", "yes"]
