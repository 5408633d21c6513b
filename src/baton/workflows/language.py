"""Offline language detection with py3langid (its model ships inside the package).

py3langid is a maintained fork of langid.py: a naive Bayes classifier over
byte n-grams, trained on 97 languages, deterministic, about 5 MB with numpy as
its only dependency. Limiting it to the project's languages makes short
messages far more reliable. The model takes about two seconds to load, so it
is loaded once per process, on first use.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

_LOCK = threading.Lock()

#: the codes py3langid's model can name (its classes; a test pins this to the model)
DETECTABLE = frozenset(
    (
        "ace af am an ar ary arz as az ba bcl be bg bn br bs ca crh cs cy da de dz el en eo "
        "es et eu ext fa fi fo fr fuv fy ga gcf gcr gd gl gom grc gu gug guw ha hbo he hi hr "
        "ht hu hy id ig is it ja jv ka kab kik kk km kn ko ku ky la lb lg lij ln lo lt ltg "
        "lv mg mk ml mn mr ms mt my ne nl nn no nso oc om or pa pcm pl ps pt qu ro ru rw sa "
        "sdh se si sk sl sn so sq sr st sv sw ta te tg th tk tl tr tt ug uk ur uz uzs vec vi "
        "vo wa wuu xh yo yue zh zu zxx "
    ).split()
)


@lru_cache(maxsize=8)
def _identifier(languages: tuple[str, ...]) -> Any:
    from py3langid.langid import (  # type: ignore[import-untyped]
        MODEL_FILE,
        LanguageIdentifier,
    )

    with _LOCK:
        identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        if languages:
            identifier.set_languages(list(languages))
    return identifier


class LanguageDetector:
    """Names the language of a text, among ``languages`` (ISO 639-1 codes)."""

    def __init__(self, languages: list[str], min_confidence: float, min_chars: int) -> None:
        self.languages = tuple(sorted(set(languages)))
        self.min_confidence = min_confidence
        self.min_chars = min_chars

    def detect(self, text: str) -> tuple[str, float] | None:
        """``(language, confidence)``, or None when the text is too short or unclear."""
        if len(text.strip()) < self.min_chars:
            return None
        language, confidence = _identifier(self.languages).classify(text)
        if float(confidence) < self.min_confidence:
            return None
        return str(language), round(float(confidence), 4)
