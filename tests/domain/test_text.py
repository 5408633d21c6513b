"""Matching text: composed or decomposed, any case, full-width, scripts without spaces."""

from __future__ import annotations

import unicodedata

from baton.domain.text import composed, fold, has_word

CAFE_NFC = unicodedata.normalize("NFC", "café")
CAFE_NFD = unicodedata.normalize("NFD", "café")


def test_canonically_equal_words_fold_alike_in_any_case() -> None:
    assert CAFE_NFC != CAFE_NFD
    assert fold(CAFE_NFD) == fold(CAFE_NFC) == fold("CAFÉ")
    assert fold("\uff48\uff45\uff4c\uff4c\uff4f") == "hello"  # full-width letters
    assert fold("Straße") == fold("STRASSE")
    assert composed(CAFE_NFD) == CAFE_NFC and composed("plain") == "plain"


def test_a_keyword_is_a_whole_word_but_needs_no_spaces_in_chinese_or_japanese() -> None:
    assert has_word(f"un {CAFE_NFD} noir", CAFE_NFC)
    assert not has_word("cafés", "café") and not has_word("decaf", "caf")
    assert has_word("我要退款", "退款") and has_word("退款しました", "退款")
    assert not has_word("hello", "  ")


def test_a_choice_is_never_found_inside_a_longer_word_of_a_script_without_spaces() -> None:
    """ "我不要" ("I don't want") named the choice "要" ("want"), "不是" ("no") named "是"."""
    assert not has_word("我不要", "要", unsegmented=False)
    assert not has_word("不是", "是", unsegmented=False)
    assert has_word("要", "要", unsegmented=False) and has_word("我 要", "要", unsegmented=False)
