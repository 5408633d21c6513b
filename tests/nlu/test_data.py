"""Reading labelled TSVs: forgiving where a file is merely unusual, exact about bad lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from baton.nlu.data import DataError, Row, read_rows


def _file(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "data.tsv"
    path.write_bytes(text.encode(encoding))
    return path


def test_header_in_any_case_order_or_with_a_bom_and_blank_lines(tmp_path: Path) -> None:
    data = _file(tmp_path, "\ufeffBot \tText\tIntent\r\n\r\nBilling\tpay my bill\tPay\r\n \t \t\n")
    assert read_rows(data) == [Row("pay my bill", "Pay", "billing")]
    assert read_rows(data)[0].bot_name == "Billing"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "text\tintent\tbot\nhow\tmuch\tbalance\tbank\n",
            "data.tsv:2: 4 fields where the header has 3",
        ),
        ("text\tintent\tbot\nhi\tgreet\t\n", "data.tsv:2: no bot for intent 'greet'"),
        ("text\tintent\tbot\nhi\tgreet\tfront\n\tgreet\tfront\n", "data.tsv:3: no text"),
        ("text,intent,bot\nhi,greet,front\n", "data.tsv:1: missing column(s) text, intent, bot"),
        ("text\tintnet\tbot\n", "missing column(s) intent; the first line must name"),
        ("text\tintent\tbot\n", "no rows under the header"),
        ("", "is empty"),
    ],
)
def test_bad_lines_are_named_with_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(DataError) as raised:
        read_rows(_file(tmp_path, text))
    assert message in str(raised.value)


def test_not_utf8_missing_or_a_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"not UTF-8 text .* save the file as UTF-8"):
        read_rows(_file(tmp_path, "text\tintent\tbot\ncafé\torder\tshop\n", "latin-1"))
    with pytest.raises(DataError, match="no such file"):
        read_rows(tmp_path / "nope.tsv")
    with pytest.raises(DataError, match="is a folder"):
        read_rows(tmp_path)


def test_a_long_text_is_read(tmp_path: Path) -> None:
    long = "word " * 40_000  # 200 KB, past csv's default field limit
    assert len(read_rows(_file(tmp_path, f"text\tintent\tbot\n{long}\tmail\tdesk\n"))) == 1


def test_spreadsheet_leftovers_oos_in_capitals_and_a_huge_field(tmp_path: Path) -> None:
    """Empty cells after the last column are a spreadsheet's, not a tab inside a text;
    ``OOS`` is out of scope whatever bot stands beside it; a field over the limit names
    its line."""
    data = _file(tmp_path, "text\tintent\tbot\nhello\tgreet\tFront\t\t\nweather\tOOS\tFront\n")
    assert read_rows(data) == [Row("hello", "greet", "front"), Row("weather", "oos", "")]
    huge = _file(tmp_path, "text\tintent\tbot\nhi\tgreet\tfront\n" + "x" * (1 << 21) + "\tg\tb\n")
    with pytest.raises(DataError, match=r"data.tsv:3: a field longer than"):
        read_rows(huge)


def test_a_very_long_name_makes_a_short_id_that_stays_apart() -> None:
    from baton.nlu.data import MAX_SLUG, slug

    first, second = slug("Customer Support " * 20), slug("Customer Support " * 21)
    assert len(first) <= MAX_SLUG and first.startswith("customer_support_customer")
    assert first != second
    assert slug(first) == first  # an id read back (eval rows against folders) is itself
    assert slug("How do I change the billing address on my business account") == (
        "how_do_i_change_the_billing_address_on_my_business_account"  # as before: < 200
    )
