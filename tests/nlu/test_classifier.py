from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from baton.domain.ports import IntentClassifier
from baton.nlu import ProjectNlu, train_project
from baton.spec.project import Project


def test_own_bot_ranks_its_intents(tiny: Project, tmp_path: Path) -> None:
    nlu = train_project(tiny, tmp_path / "cache")
    classifier: IntentClassifier = nlu.for_bot("appointment")
    result = classifier.classify("I want to book an appointment")
    assert result.best is not None
    assert result.best.intent == "appointment.book"
    assert result.best.bot_id == "appointment"
    assert {m.intent.split(".")[0] for m in result.ranking} == {"appointment"}
    assert result.runner_up is not None and result.runner_up.intent != "appointment.book"
    confidences = [m.confidence for m in result.ranking]
    assert confidences == sorted(confidences, reverse=True)


def test_group_index_ranks_across_bots(tiny: Project, tmp_path: Path) -> None:
    nlu = train_project(tiny, tmp_path / "cache")
    result = nlu.for_group("all").classify("can I get a refund please")
    assert result.best is not None and result.best.intent == "billing.refund"
    assert result.best.bot_id == "billing"
    assert len(result.ranking) == 5
    assert {m.bot_id for m in result.ranking} == {"appointment", "billing"}


def test_out_of_scope_on_tiny_project(tiny: Project, tmp_path: Path) -> None:
    nlu = train_project(tiny, tmp_path / "cache")
    for text in ("what's the weather on mars", "tell me a joke", "what is the capital of france"):
        assert nlu.for_group("all").classify(text).best is None, text
        assert nlu.for_bot("appointment").classify(text).best is None, text
    # another bot's intent is out of scope for a bot's own classifier
    assert nlu.for_bot("appointment").classify("I want to pay my bill").best is None


def test_classify_is_fast(tiny: Project, tmp_path: Path) -> None:
    classifier = train_project(tiny, tmp_path / "cache").for_group("all")
    start = time.perf_counter()
    for _ in range(200):
        classifier.classify("I'd like to move my appointment to next friday")
    assert (time.perf_counter() - start) / 200 < 0.005


def _mtimes(cache: Path) -> dict[str, float]:
    return {p.name: p.stat().st_mtime_ns for p in cache.glob("*.model")}


def test_cache_reuses_unchanged_and_retrains_changed(tiny: Project, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = train_project(tiny, cache)
    assert sorted(first.trained) == ["bot:appointment", "bot:billing", "group:all"]
    before = _mtimes(cache)
    again = train_project(tiny, cache)
    assert again.trained == [] and len(again.reused) == 3
    assert _mtimes(cache) == before

    billing = (tiny.root / "bots" / "billing" / "intents.yml").read_text()
    (tiny.root / "bots" / "billing" / "intents.yml").write_text(
        billing.replace("- can I get a refund", "- can I get a refund\n      - reimburse me")
    )
    from baton.project import load_project

    changed = train_project(load_project(tiny.root), cache)
    assert sorted(changed.trained) == ["bot:billing", "group:all"]
    assert changed.reused == ["bot:appointment"]
    after = _mtimes(cache)
    assert len(after) == 3  # the stale billing and group files are gone
    kept = [n for n in after if n.startswith("bot-appointment-")]
    assert kept and after[kept[0]] == before[kept[0]]
    # a model whose name starts like another's keeps its file when the other retrains
    neighbour = cache / "group-all-stars-0123456789abcdef0123.model"
    neighbour.write_bytes(b"not a model")
    (tiny.root / "bots" / "billing" / "intents.yml").write_text(billing)
    assert "group:all" in train_project(load_project(tiny.root), cache).trained
    assert neighbour.is_file()


def test_models_reload_identically(tiny: Project, tmp_path: Path) -> None:
    text = "reschedule my visit to monday"
    fresh: ProjectNlu = train_project(tiny, tmp_path / "cache")
    loaded = train_project(tiny, tmp_path / "cache")
    assert loaded.trained == []
    assert fresh.for_group("all").classify(text) == loaded.for_group("all").classify(text)


def test_a_cache_that_cant_be_written_trains_in_memory_with_one_warning(
    tiny: Project, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A read-only project (a container's root file system) stopped serve and chat."""
    blocked = tmp_path / "nlu"
    blocked.write_text("a file where the cache folder would be")
    with caplog.at_level(logging.WARNING, logger="baton.nlu.project"):
        nlu = train_project(tiny, blocked)
    assert nlu.for_group("all").classify("reschedule my visit").best is not None
    warnings = [r.getMessage() for r in caplog.records if "can't be written" in r.getMessage()]
    assert len(warnings) == 1 and "BATON_NLU_CACHE" in warnings[0]


def test_the_cache_folder_can_be_set_by_the_environment(
    tiny: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATON_NLU_CACHE", str(tmp_path / "elsewhere"))
    assert train_project(tiny).trained
    assert len(list((tmp_path / "elsewhere").glob("*.model"))) == 3
    assert train_project(tiny).trained == []


def test_replicas_writing_one_model_at_once_each_finish(tmp_path: Path) -> None:
    """Four replicas training on an empty cache shared one ``.tmp`` name: one truncated
    another's file, and the one that renamed second crashed (FileNotFoundError)."""
    from baton.nlu.project import _write

    model = train_project.__module__  # any picklable object stands for a model here
    path = tmp_path / "bot-x-tfidf-0123.model"
    with ThreadPoolExecutor(8) as pool:
        for done in [pool.submit(_write, model, path) for _ in range(64)]:
            done.result()
    assert path.is_file() and list(tmp_path.glob("*.tmp")) == []
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask  # as open() makes it, not 0600
