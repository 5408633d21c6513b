"""Parsing and validating answers to a flow's questions, by slot type."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from datetime import date, timedelta

from baton.domain.text import fold, has_word
from baton.domain.values import Value

_UNITS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen "
        "fourteen fifteen sixteen seventeen eighteen nineteen".split()
    )
}
_TENS = {
    w: 10 * i
    for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), 2)
}
_SCALES = {"thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
#: a number as people type it: "1500", "1,500", "1,500.75", "1.500,75", "2.5", "2,5", with
#: an optional scale: "50k", "1.2m", "3bn", "50 thousand"; never a part of a date
#: ("2030-01-02", "12/05", "12.05.2030") or of a range ("1,500-2,000"): the question asks
#: again rather than store 2030, 12 or 1. The number is an atomic group, so a number
#: followed by more of a date is refused whole, never cut to a prefix that is not.
_NUMBER = re.compile(
    r"(?<![\w.,])(?<!\d[-/])"  # not inside a word, a number, a date or a range
    r"(-?(?>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d{1,3}(?:\.\d{3})+,\d+|\d{1,3}(?:\.\d{3}){2,}"
    r"|\d+(?:[.,]\d+)?))(?![-/.,]?\d)(?:(k|m|bn)\b|\s*(thousand|million|billion)\b)?",
    re.IGNORECASE,
)
_SUFFIXES = {"k": 1_000, "m": 1_000_000, "bn": 1_000_000_000}
_PHONE = re.compile(r"\+?[\d\s().-]{7,20}")
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DMY = re.compile(r"(\d{1,2})[/.](\d{1,2})[/.](\d{4})")
_TIME = re.compile(r"(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?", re.IGNORECASE)
_WEEKDAYS = "monday tuesday wednesday thursday friday saturday sunday".split()
_MONTHS = "january february march april may june july august september october november december"
_MONTH_NAMES = _MONTHS.split()
_YES = {"yes", "y", "yeah", "yep", "sure", "ok", "okay", "true", "correct", "oui", "si", "sí"}
_NO = {"no", "n", "nope", "nah", "false", "non", "don't", "dont", "not"}
#: phrases that mean yes although they hold a "no" word
_YES_PHRASES = re.compile(r"\b(no (problem|worries)|why not|go ahead|of course|please do)\b")


class InvalidAnswer(ValueError):
    """The answer doesn't fit the slot's type; ``reason`` says why, for the user."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def parse_answer(
    kind: str,
    text: str,
    *,
    choices: list[str] | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    today: date | None = None,
) -> Value:
    """Return the slot value the answer spells, or raise ``InvalidAnswer``."""
    answer = text.strip()
    if kind == "number":
        return _number(answer, minimum, maximum)
    if kind == "email":
        found = _EMAIL.search(answer)
        if not found:
            raise InvalidAnswer("that doesn't look like an email address")
        return found.group(0).lower()
    if kind == "phone":
        return _phone(answer)
    if kind == "date":
        return _date(answer.lower(), today or date.today())
    if kind == "time":
        return _time(answer.lower())
    if kind == "choice":
        return _choice(answer, choices or [])
    if kind == "boolean":
        return _boolean(answer.lower())
    if not answer:
        raise InvalidAnswer("the answer is empty")
    return answer


_PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def fit_value(
    kind: str,
    value: Value,
    *,
    choices: list[str] | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
) -> Value:
    """A value a program gives (an action's result, a ``set`` literal) as a slot of
    ``kind`` holds it, or ``InvalidAnswer``. Strict, unlike ``parse_answer``, which digs a
    value out of what a person typed ("Order 12 of 40" is not the number 12 here)."""
    if value is None or kind in ("text", "email", "phone", "date", "time"):
        return value
    if kind == "number":
        number: float | None = None
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and _PLAIN_NUMBER.fullmatch(value.strip()):
            number = float(value) if "." in value else int(value)
        if number is None:
            raise InvalidAnswer(f"{value!r} is not a number")
        if minimum is not None and number < minimum:
            raise InvalidAnswer(f"{number:g} is below the slot's min {minimum:g}")
        if maximum is not None and number > maximum:
            raise InvalidAnswer(f"{number:g} is above the slot's max {maximum:g}")
        return number
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise InvalidAnswer(f"{value!r} is not true or false")
    if kind == "choice" and choices:
        by_fold = {c.casefold(): c for c in choices}
        if isinstance(value, str) and value.strip().casefold() in by_fold:
            return by_fold[value.strip().casefold()]
        raise InvalidAnswer(f"{value!r} is not one of: {', '.join(choices)}")
    return value


#: Arabic-script decimal and thousands separators (U+066B, U+066C: 3.5 and 1,000 written
#: with them); the digits themselves are ``\d`` to ``re`` and ``float``
_ARABIC_SEPARATORS = str.maketrans({"\u066b": ".", "\u066c": ","})


def _number(answer: str, minimum: float | None, maximum: float | None) -> Value:
    found = _NUMBER.search(answer.translate(_ARABIC_SEPARATORS))
    value: float | None
    if found:
        digits, suffix, scale = found.groups()
        value = _digits(digits)
        if suffix or scale:
            value = round(
                value * (_SUFFIXES.get((suffix or "").lower()) or _SCALES[scale.lower()]), 6
            )
    else:
        value = _spelled(re.findall(r"[a-z]+", answer.lower()))
        if value is None:
            raise InvalidAnswer("please answer with a number")
    if minimum is not None and value < minimum:
        raise InvalidAnswer(f"please give a number of at least {minimum:g}")
    if maximum is not None and value > maximum:
        raise InvalidAnswer(f"please give a number of at most {maximum:g}")
    return int(value) if value.is_integer() else value


def _digits(raw: str) -> float:
    """A matched number's value: a comma followed by groups of three digits groups thousands
    ("1,500"), another comma is a decimal comma ("2,5"); with both, the last one is the
    decimal mark ("1.500,75", "1,500.75"); dots in several groups of three group thousands."""
    if "," in raw and "." in raw:
        if raw.rfind(",") > raw.rfind("."):
            return float(raw.replace(".", "").replace(",", "."))
        return float(raw.replace(",", ""))
    if "," in raw:
        if re.fullmatch(r"-?\d{1,3}(?:,\d{3})+", raw):
            return float(raw.replace(",", ""))
        return float(raw.replace(",", "."))
    if raw.count(".") > 1:
        return float(raw.replace(".", ""))
    return float(raw)


def _spelled(words: list[str]) -> float | None:
    """The first number spelled in words ("twelve", "fifty thousand", "a hundred and
    five"), or None."""
    total = current = 0
    seen = False
    for i, word in enumerate(words):
        following = words[i + 1] if i + 1 < len(words) else ""
        if word in _UNITS:
            current += _UNITS[word]
        elif word in _TENS:
            current += _TENS[word]
        elif word == "hundred" and seen:
            current = max(current, 1) * 100
        elif word in _SCALES and seen:
            total += max(current, 1) * _SCALES[word]
            current = 0
        elif word == "a" and not seen and (following == "hundred" or following in _SCALES):
            current = 1
        elif word == "and" and words[i - 1] in ("hundred", *_SCALES) and seen:
            continue
        elif seen:
            break
        else:
            continue
        seen = True
    return float(total + current) if seen else None


def _phone(answer: str) -> Value:
    found = _PHONE.search(answer)
    digits = re.sub(r"\D", "", found.group(0)) if found else ""
    if not 7 <= len(digits) <= 15:
        raise InvalidAnswer("that doesn't look like a phone number")
    return ("+" if found and found.group(0).strip().startswith("+") else "") + digits


def _date(answer: str, today: date) -> Value:
    if "today" in answer:
        return today.isoformat()
    if "tomorrow" in answer:
        return (today + timedelta(days=1)).isoformat()
    if m := _ISO_DATE.search(answer):
        return _checked_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if m := _DMY.search(answer):
        return _checked_date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    for index, name in enumerate(_WEEKDAYS):
        if name in answer or re.search(rf"\b{name[:3]}\b", answer):
            ahead = (index - today.weekday()) % 7 or 7
            return (today + timedelta(days=ahead)).isoformat()
    for index, name in enumerate(_MONTH_NAMES):
        m = re.search(rf"\b{name[:3]}[a-z]*\s+(\d{{1,2}})|(\d{{1,2}})\s+{name[:3]}", answer)
        if m:
            day = int(m.group(1) or m.group(2))
            year = today.year if (index + 1, day) >= (today.month, today.day) else today.year + 1
            return _checked_date(year, index + 1, day)
    raise InvalidAnswer("please give a date, like 2026-12-03, 'tomorrow' or 'Friday'")


def _checked_date(year: int, month: int, day: int) -> Value:
    try:
        return date(year, month, day).isoformat()
    except ValueError as error:
        raise InvalidAnswer(f"that date doesn't exist ({error})") from error


def _time(answer: str) -> Value:
    if "noon" in answer:
        return "12:00"
    m = _TIME.search(answer)
    if not m:
        raise InvalidAnswer("please give a time, like 10:30 or 3pm")
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    suffix = (m.group(3) or "").replace(".", "").lower()
    if suffix == "pm" and hour < 12:
        hour += 12
    if suffix == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59:
        raise InvalidAnswer("that time doesn't exist")
    return f"{hour:02d}:{minute:02d}"


def choices_named(answer: str, choices: Sequence[str]) -> list[str]:
    """The choices an answer names as whole words ("it was late" names "late"), compared
    ``fold``-ed (any case, composed or not)."""
    return [c for c in choices if has_word(answer, c, unsegmented=False)]


def _choice(answer: str, choices: list[str]) -> Value:
    folded = fold(answer)
    keys = [fold(c) for c in choices]
    for choice, key in zip(choices, keys, strict=True):
        if folded == key:
            return choice
    if folded.isdigit() and 1 <= int(folded) <= len(choices):
        return choices[int(folded) - 1]
    named = choices_named(answer, choices)
    if named:
        return named[0]
    close = difflib.get_close_matches(folded, keys, n=1, cutoff=0.75)
    if close:
        return choices[keys.index(close[0])]
    raise InvalidAnswer(f"please choose one of: {', '.join(choices)}")


def _boolean(answer: str) -> Value:
    rest, agreed = _YES_PHRASES.subn(" ", answer)
    words = set(re.findall(r"[a-zí']+", rest))
    if (agreed or words & _YES) and not words & _NO:
        return True
    if words & _NO:
        return False
    raise InvalidAnswer("please answer yes or no")
