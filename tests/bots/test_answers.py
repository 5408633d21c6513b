from datetime import date

import pytest

from baton.bots.answers import InvalidAnswer, parse_answer

TODAY = date(2026, 11, 23)  # a Monday


@pytest.mark.parametrize(
    ("kind", "text", "value"),
    [
        ("number", "about 3 I think", 3),
        ("number", "two", 2),
        ("number", "2.5", 2.5),
        ("number", "1,500", 1500),
        ("number", "50,000.50", 50000.5),
        ("number", "1.500,75", 1500.75),
        ("number", "2,5", 2.5),
        ("number", "1.500.000", 1500000),
        ("number", "$50k", 50000),
        ("number", "1.1m dollars", 1100000),
        ("number", "50 thousand", 50000),
        ("number", "fifty thousand", 50000),
        ("number", "a hundred and five", 105),
        ("number", "twenty-five", 25),
        ("number", "10 minutes", 10),
        ("number", "\u0663\u066b\u0665", 3.5),  # Arabic digits and decimal separator
        ("number", "\u0661\u066c\u0660\u0660\u0660", 1000),
        ("number", "\u0967\u0968", 12),  # Devanagari digits
        ("number", "-5", -5),
        ("number", "minus 3 or -4", 3),
        ("email", "it's Ana@Example.org thanks", "ana@example.org"),
        ("phone", "+1 (555) 010-9999", "+15550109999"),
        ("date", "tomorrow", "2026-11-24"),
        ("date", "2026-12-03", "2026-12-03"),
        ("date", "03/12/2026", "2026-12-03"),
        ("date", "friday please", "2026-11-27"),
        ("date", "December 5", "2026-12-05"),
        ("time", "3pm", "15:00"),
        ("time", "10:30", "10:30"),
        ("boolean", "yes please", True),
        ("boolean", "no", False),
        ("boolean", "no problem, go ahead and block it", True),
        ("boolean", "of course", True),
        ("boolean", "don't", False),
        ("boolean", "yes, but not now", False),
        ("text", " hello ", "hello"),
    ],
)
def test_valid_answers_become_typed_values(kind: str, text: str, value: object) -> None:
    assert parse_answer(kind, text, today=TODAY) == value


def test_choices_match_by_name_number_or_close_spelling() -> None:
    choices = ["morning", "afternoon"]
    assert parse_answer("choice", "Morning", choices=choices) == "morning"
    assert parse_answer("choice", "2", choices=choices) == "afternoon"
    assert parse_answer("choice", "afternon", choices=choices) == "afternoon"


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("number", "lots"),
        ("email", "not an email"),
        ("phone", "12"),
        ("date", "whenever"),
        ("date", "2026-02-30"),
        ("time", "25:00"),
        ("boolean", "perhaps"),
        ("text", "   "),
    ],
)
def test_invalid_answers_say_why(kind: str, text: str) -> None:
    with pytest.raises(InvalidAnswer) as raised:
        parse_answer(kind, text, today=TODAY)
    assert raised.value.reason


def test_number_bounds_are_enforced() -> None:
    with pytest.raises(InvalidAnswer, match="at most 3"):
        parse_answer("number", "7", maximum=3)


@pytest.mark.parametrize(
    "text",
    [
        "2030-01-02",
        "12/05",
        "on 14/05/2030",
        "12.05.2030",
        "2030.01.02",
        "2-5 people",
        "1,500-2,000",  # these four were cut to 1, 1, 12 and 2
        "1.5-2",
        "12,5-13",
        "2.5/3",
    ],
)
def test_a_date_or_a_range_is_not_a_number(text: str) -> None:
    """Answering "2030-01-02" to "how much?" stored 2030 (the user had answered the date
    question of the bot before)."""
    with pytest.raises(InvalidAnswer, match="with a number"):
        parse_answer("number", text)


def test_a_negated_chinese_answer_does_not_name_the_opposite_choice() -> None:
    assert parse_answer("choice", "我不要", choices=["要", "不要"]) != "要"
    with pytest.raises(InvalidAnswer):
        parse_answer("choice", "不是", choices=["是", "否"])
