"""What a rendered template's text is stored as."""

from __future__ import annotations

import pytest

from baton.bots.templates import coerce


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("42", 42),
        ("-7", -7),
        ("0", 0),
        ("3.25", 3.25),
        ("0.5", 0.5),
        ("true", True),
        ("None", "None"),  # a word: an unset value renders as nothing, not "None"
        ("none", "none"),
        ("", None),
        ("07700900123", "07700900123"),  # a phone number keeps its zero
        ("02139", "02139"),  # a postcode too
        ("00.5", "00.5"),
        ("1234567890123456789", "1234567890123456789"),  # an account number, not a float
        ("+447700900123", "+447700900123"),
    ],
)
def test_numbers_as_numbers_identifiers_as_text(text: str, value: object) -> None:
    assert coerce(text) == value and type(coerce(text)) is type(value)
