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
    assert 0.5 < features.coverage("what is my balance") < 0.7
    assert features.coverage("hello") == 0.0
    assert features.coverage("") == 1.0
