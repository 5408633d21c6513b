"""Large groups: a shortlist of bots by intent prototypes, decided by the bots' own models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from baton.nlu import EngineSettings, train_project
from baton.nlu.index import SHORTLIST_ENGINE, ExampleVectors, ShortlistIndex
from baton.spec.project import Project

SHORTLIST = EngineSettings(joint_max_labels=2, shortlist_bots=2)


def test_a_group_above_the_joint_limit_gets_a_shortlist_index(
    tiny: Project, tmp_path: Path
) -> None:
    nlu = train_project(tiny, tmp_path / "cache", settings=SHORTLIST)
    index = nlu.group_models["all"]
    assert isinstance(index, ShortlistIndex) and index.engine == SHORTLIST_ENGINE
    assert index.bots() == ["appointment", "billing"]
    assert index.shortlist("can I get a refund please")[0] == "billing"
    result = nlu.for_group("all").classify("can I get a refund please")
    assert result.best is not None and result.best.intent == "billing.refund"
    booked = nlu.for_group("all").classify("I want to book an appointment")
    assert booked.best is not None and booked.best.intent == "appointment.book"
    # both bots' intents are candidates; out of scope stays out of scope
    assert {m.bot_id for m in result.ranking} == {"appointment", "billing"}
    assert nlu.for_group("all").classify("what's the weather on mars").best is None


def test_the_bot_that_could_not_match_is_left_out_of_the_shortlist(
    tiny: Project, tmp_path: Path
) -> None:
    nlu = train_project(
        tiny, tmp_path / "cache", settings=EngineSettings(joint_max_labels=2, shortlist_bots=1)
    )
    index = nlu.group_models["all"]
    assert isinstance(index, ShortlistIndex)
    text = "can I get a refund please"
    assert index.shortlist(text) == ["billing"]
    # billing could not match it: the one shortlist place goes to the next bot
    others = nlu.for_group("all").classify(text, exclude="billing")
    assert others.ranking and {m.bot_id for m in others.ranking} == {"appointment"}
    # a joint model (small group) leaves the bot's candidates out too
    joint = train_project(tiny, tmp_path / "joint").for_group("all")
    assert {m.bot_id for m in joint.classify(text, exclude="billing").ranking} == {"appointment"}


def test_the_shortlist_index_reloads_from_the_cache_with_its_members(
    tiny: Project, tmp_path: Path
) -> None:
    text = "I can't make it, cancel my visit"
    fresh = train_project(tiny, tmp_path / "cache", settings=SHORTLIST)
    loaded = train_project(tiny, tmp_path / "cache", settings=SHORTLIST)
    assert loaded.trained == []
    assert fresh.for_group("all").classify(text) == loaded.for_group("all").classify(text)
    best = loaded.for_group("all").classify(text).best
    assert best is not None and best.intent == "appointment.cancel"


def test_example_vectors_group_examples_by_intent() -> None:
    vectors = np.asarray([[1, 0], [0, 1], [0.6, 0.8], [1, 0]], dtype=np.float32)
    rows = np.asarray([1, 0, 1, 0], dtype=np.int64)  # intent of each example
    grouped = ExampleVectors(vectors, rows, 2)
    assert grouped.starts.tolist() == [0, 2, 4]
    message = np.asarray([0.8, 0.6], dtype=np.float32)
    assert grouped.nearest(message, 0) == pytest.approx(0.8, abs=1e-3)  # [1, 0]
    assert grouped.nearest(message, 1) == pytest.approx(0.96, abs=1e-3)  # [0.6, 0.8]
    centroid = np.asarray([1.6, 0.8]) / np.hypot(1.6, 0.8)
    assert np.allclose(grouped.centroids[1], centroid, atol=1e-6)
    assert np.allclose(grouped.centroids[0], [2**-0.5, 2**-0.5], atol=1e-6)
