"""A message of two topics goes to the clearer one instead of the fallback."""

from __future__ import annotations

from pathlib import Path

from baton.nlu import train_project
from baton.nlu.topics import clauses
from baton.spec.project import Project


def test_clauses_part_at_joining_words_and_punctuation() -> None:
    assert clauses("I was charged twice and the app keeps crashing") == [
        "I was charged twice",
        "the app keeps crashing",
    ]
    assert clauses("the app crashes. Also, I want a refund!") == [
        "the app crashes",
        "I want a refund!",
    ]
    assert clauses("hi, I was charged twice") == []  # "hi" carries no topic
    assert clauses("black and white photos") == []


def test_two_clear_topics_route_to_the_clearer_with_the_other_as_runner_up(
    tiny: Project, tmp_path: Path
) -> None:
    index = train_project(tiny, tmp_path / "cache").for_group("all")
    text = "cancel my appointment and what is my balance"
    assert index.decide(index.candidates(text)).best is None  # the whole message: split
    recognition = index.classify(text)
    assert recognition.best is not None and recognition.runner_up is not None
    assert {recognition.best.intent, recognition.runner_up.intent} == {
        "appointment.cancel",
        "billing.balance",
    }
    assert index.classify("tell me a joke and sing a song").best is None
