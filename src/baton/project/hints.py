"""Fix hints: "did you mean …?" over the names a user could have meant."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, options: Iterable[str]) -> str | None:
    """The option most like ``word``, if one is close enough to be a likely typo."""
    matches = difflib.get_close_matches(word, sorted(set(options)), n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(word: str, options: Iterable[str], otherwise: str) -> str:
    """``did you mean 'x'?`` for a close option (``'x' or 'y'`` when two are as close:
    ``sey`` is one letter from ``say`` and from ``set``), else the ``otherwise`` hint."""
    names = sorted(set(options))
    named = _named_part(word, names)
    if named is not None:
        return f"did you mean '{named}'?"
    match = closest(word, names)
    if match is None:
        return otherwise
    best = _likeness(word, match)
    ties = [n for n in names if n != match and _likeness(word, n) == best]
    said = " or ".join(f"'{n}'" for n in sorted([match, *ties]))
    return f"did you mean {said}?"


def _named_part(word: str, names: list[str]) -> str | None:
    """The one name that holds ``word``, itself of several parts, whole between
    underscores or dots (``action_fired`` → ``bot_action_fired``; difflib offered
    ``action_failed``). A one-part word (``flow``) is left to difflib (``flows``)."""
    if "_" not in word.strip("_") or word in names:
        return None
    holding = [
        n for n in names if n.endswith(f"_{word}") or n.startswith(f"{word}_") or f"_{word}_" in n
    ]
    holding += [n for n in names if n.endswith(f".{word}") and n not in holding]
    return holding[0] if len(holding) == 1 else None


def _likeness(word: str, option: str) -> float:
    return difflib.SequenceMatcher(None, word, option).ratio()


def listing(options: Iterable[str]) -> str:
    """Names as a readable list: ``'a', 'b', 'c'`` (or ``none``)."""
    names = sorted(set(options))
    return ", ".join(f"'{n}'" for n in names) if names else "none"
