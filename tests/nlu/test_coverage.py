"""A bot of few intents is not sure of a message that only shares its function words."""

from __future__ import annotations

from pathlib import Path

from baton.nlu import train_project
from baton.nlu.data import Row
from baton.project import load_project
from baton.project.importer import import_rows

TECH = [
    "my internet is not working",
    "the internet is down",
    "no internet connection",
    "internet keeps dropping",
    "my wifi is not working at all",
]


def test_a_one_intent_bot_takes_its_topic_not_any_message_with_my_and_is(tmp_path: Path) -> None:
    rows = [Row(text, "internet_down", "tech") for text in TECH]
    project = load_project(import_rows(rows, tmp_path / "p", "one intent"))
    bot = train_project(project, tmp_path / "cache").for_bot("tech")
    for text in ("my wifi is broken", "internet not working", "the app is not working"):
        assert bot.classify(text).best is not None, text
    # its probability is 0.98 for anything (one intent); the similarity was 0.40 for these,
    # on "is" and "my" alone, and the default gate took them
    for text in ("what is my balance", "is my card blocked", "hello"):
        assert bot.classify(text).best is None, text


def test_coverage_is_the_share_of_known_words() -> None:
    from baton.nlu.features import Features, FeatureSettings

    features, _matrix = Features.fit(TECH, FeatureSettings())
    assert features.coverage("my internet is not working") == 1.0
    assert features.coverage("internet not working") == 1.0  # "internet not": known words
    assert 0.4 < features.coverage("what is my balance") < 0.6
    assert features.coverage("hello") == 0.0
    assert features.coverage("") == 1.0


def test_a_one_example_intent_still_refuses_a_message_of_foreign_words(tmp_path: Path) -> None:
    """With one example every known word's idf is the largest there is; an unknown word
    must still weigh more (it was 0.41 against the default gate 0.4, and taken)."""
    rows = [Row("my internet is not working", "internet_down", "tech")]
    rows += [Row(text, "greet", "front") for text in ("hello", "hi there")]
    project = load_project(import_rows(rows, tmp_path / "p", "one example"))
    bot = train_project(project, tmp_path / "cache").for_bot("tech")
    assert bot.classify("my internet is not working").best is not None
    for text in ("what is my balance", "what is my name"):
        assert bot.classify(text).best is None, text


def test_unsegmented_scripts_are_read_character_by_character(tmp_path: Path) -> None:
    """A Chinese or Japanese sentence was one "word": a paraphrase shared none, so its
    similarity was 0 and every message that was not an example verbatim was refused."""
    bills = ["我想查看账单", "我的账单是多少", "账单在哪里"]
    refunds = ["我要退款", "请给我退款", "退款什么时候到"]
    rows = [Row(t, "bill", "billing") for t in bills] + [
        Row(t, "refund", "billing") for t in refunds
    ]
    rows += [Row(t, "invoice", "docs") for t in ("請求書はどこですか", "請求書を送ってください")]
    project = load_project(import_rows(rows, tmp_path / "p", "cjk"))
    nlu = train_project(project, tmp_path / "cache")
    billing = nlu.for_bot("billing").classify("我要退款了").best
    assert billing is not None and billing.intent == "billing.refund"
    invoice = nlu.for_bot("docs").classify("請求書はどこ").best
    assert invoice is not None and invoice.intent == "docs.invoice"
