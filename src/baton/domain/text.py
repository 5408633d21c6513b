"""Text as matchers compare it: canonically equal words equal, in any case.

A word typed on a phone can arrive composed ("café", U+00E9) or decomposed ("cafe" and
U+0301), full-width (U+FF48 for "h"...) or not; the router stores messages composed (NFC), and
every matcher (intents, choices, keywords) compares ``fold``-ed text.
"""

from __future__ import annotations

import re
import unicodedata

#: scripts written without spaces between words (Chinese, Japanese kana, Thai, Lao,
#: Khmer, Myanmar): each of their characters counts as a word, so a keyword or an n-gram
#: is found inside a sentence that has no spaces around it
UNSEGMENTED = (
    "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u31f0-\u31ff"
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f\U00020000-\U0002ebef"
)
_UNSEGMENTED = re.compile(f"[{UNSEGMENTED}]")


def fold(text: str) -> str:
    """NFKC of the case-folded text: "Café" (either form), "CAFÉ" and its full-width
    spelling fold alike, as do "Straße" and "STRASSE". ASCII text is just lowercased."""
    if text.isascii():
        return text.lower()
    return unicodedata.normalize("NFKC", text.casefold())


def composed(text: str) -> str:
    """The text in NFC, the form messages are stored in (canonically the same text)."""
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def has_word(text: str, word: str, *, unsegmented: bool = True) -> bool:
    """Whether ``word`` occurs in ``text`` as a whole word, ``fold``-ed. An end of the word
    in a script written without spaces needs no boundary there ("退款" in "我要退款"),
    unless ``unsegmented`` is False: an answer naming a choice, where "要" inside "不要"
    would flip its meaning."""
    word = fold(word.strip())
    if not word:
        return False
    loose_start = unsegmented and _UNSEGMENTED.match(word[0]) is not None
    loose_end = unsegmented and _UNSEGMENTED.match(word[-1]) is not None
    before = "" if loose_start else r"(?<!\w)"
    after = "" if loose_end else r"(?!\w)"
    return re.search(f"{before}{re.escape(word)}{after}", fold(text)) is not None
