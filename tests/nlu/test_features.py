"""Baton's TF-IDF arithmetic equals scikit-learn's ``TfidfVectorizer`` on the same data."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from baton.nlu.features import Features, FeatureSettings

TRAIN = [
    "I want to book an appointment",
    "book  me in\tfor Tuesday please",
    "cancel my appointment, please!",
    "what are your opening hours?",
    "Hours on Sunday?",
    "a",
    "I'm feeling low, really low",
    "Überweisung an Jörg",
]
MESSAGES = ["book an appointment for me", "CANCEL cancel", "opening hours sunday", "zzz", "a b"]


def reference(texts: list[str], messages: list[str]) -> np.ndarray:
    word = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)
    word.fit(texts)
    char.fit(texts)
    return np.hstack([word.transform(messages).toarray(), char.transform(messages).toarray()])


def test_training_matrix_and_vectors_match_scikit_learn() -> None:
    features, matrix = Features.fit(TRAIN, FeatureSettings())
    np.testing.assert_allclose(matrix.toarray(), reference(TRAIN, TRAIN), atol=1e-6)
    expected = reference(TRAIN, MESSAGES)
    for row, message in enumerate(MESSAGES):
        ids, values = features.vector(message)
        dense = np.zeros(features.size, dtype=np.float32)
        dense[ids] = values
        np.testing.assert_allclose(dense, expected[row], atol=1e-6)
        # the memoised path (words seen before) gives the same vector
        again_ids, again_values = features.vector(message)
        assert again_ids.tolist() == ids.tolist()
        assert again_values.tolist() == values.tolist()
    np.testing.assert_allclose(features.matrix(MESSAGES).toarray(), expected, atol=1e-6)


def test_examples_without_any_token_are_refused() -> None:
    with pytest.raises(ValueError, match="no usable text"):
        Features.fit(["", "   "], FeatureSettings())
