"""The slanted gate (probability + weight x similarity) and its tuning."""

from __future__ import annotations

from pathlib import Path

from baton.nlu import load_thresholds
from baton.nlu.data import Row
from baton.nlu.evaluation import Scored, best_gate, choose_gate
from baton.nlu.thresholds import Gate, Thresholds


def test_gate_weight_slants_the_boundary() -> None:
    gate = Gate(threshold=1.0, min_similarity=0.0, similarity_weight=2.0)
    assert gate.accepts(0.2, 0.4)  # 0.2 + 0.8
    assert not gate.accepts(0.5, 0.2)  # 0.5 + 0.4
    assert Gate().accepts(0.6, 0.5) and not Gate().accepts(0.6, 0.3)  # weight 0: two bounds
    assert "similarity_weight" not in Gate().as_dict()


def test_weight_round_trips_through_nlu_yml(tmp_path: Path) -> None:
    gate = Gate(1.2, 0.0, 1.5)
    data = Thresholds(groups={"all": gate}).as_dict()
    import yaml

    (tmp_path / "nlu.yml").write_text(yaml.safe_dump(data), encoding="utf-8")
    assert load_thresholds(tmp_path).for_group("all") == gate


def _scored(conf: float, sim: float, in_scope: bool, right: bool = True) -> Scored:
    row = Row("x", "book", "shop") if in_scope else Row("x", "oos", "")
    intent = "shop.book" if right else "shop.other"
    return Scored(row, "shop", intent, conf, sim, 0.0)


def test_tuning_finds_a_slanted_gate() -> None:
    # in scope: high probability or high similarity, never both low; out of scope: a
    # probability and a similarity that are each as high as some in-scope row's
    inside = [_scored(0.9, 0.3, True), _scored(0.3, 0.9, True), _scored(0.6, 0.6, True)] * 5
    outside = [_scored(0.55, 0.35, False), _scored(0.35, 0.55, False)] * 5
    flat = best_gate(inside + outside)
    slanted = best_gate(inside + outside, weights=(0.0, 1.0))
    assert flat.similarity_weight == 0.0
    assert slanted.similarity_weight == 1.0
    rows = inside + outside
    assert all(slanted.accepts(s.confidence, s.similarity) == s.row.in_scope for s in rows)
    assert not all(flat.accepts(s.confidence, s.similarity) == s.row.in_scope for s in rows)


def test_constrained_tuning_respects_recall_and_precision() -> None:
    inside = [_scored(0.9, 0.9, True)] * 90 + [_scored(0.3, 0.3, True, right=False)] * 10
    outside = [_scored(0.2, 0.2, False)] * 8 + [_scored(0.5, 0.5, False)] * 2
    gate = best_gate(inside + outside, min_oos_recall=0.8, min_oos_precision=0.85)
    assert gate.accepts(0.9, 0.9)
    assert not gate.accepts(0.2, 0.2)


def test_unreachable_bounds_fall_back_to_the_objective() -> None:
    # every out-of-scope row looks exactly like a quarter of the in-scope ones: 80% recall
    # costs a quarter of in-scope traffic, so its precision at 20% traffic is at most 44%
    inside = [_scored(0.9, 0.9, True)] * 75 + [_scored(0.4, 0.4, True)] * 25
    outside = [_scored(0.4, 0.4, False)] * 10
    gate, rule = choose_gate(inside + outside, min_oos_recall=0.8, min_oos_precision=0.85)
    assert rule.startswith("no gate reaches out-of-scope recall >= 0.8 and precision >= 0.85")
    assert gate == best_gate(inside + outside)  # the objective's pick
    assert gate.accepts(0.4, 0.4)  # rejecting them would cost more in scope than it saves
    floor, rule = choose_gate(inside + outside, min_oos_recall=0.8)
    assert rule == "best in-scope accuracy with out-of-scope recall >= 0.8"
    assert not floor.accepts(0.4, 0.4)


def test_only_candidates_that_clear_the_gate_are_confident() -> None:
    from baton.domain.ports import IntentMatch
    from baton.nlu.project import Candidates, ModelClassifier

    ranking = (
        IntentMatch("billing", "billing.refund", 0.7),
        IntentMatch("support", "support.ticket", 0.55),
        IntentMatch("support", "support.password", 0.2),
    )
    decided = ModelClassifier(None, Gate(0.5, 0.3)).decide(Candidates(ranking, 0.6))
    assert decided.best == ranking[0]
    assert decided.confident == ranking[:2]  # the third is below the threshold
    assert decided.runner_up_of(ranking[1]) == ranking[0]
    assert ModelClassifier(None, Gate(0.5, 0.7)).decide(Candidates(ranking, 0.6)).confident == ()


def test_a_broken_nlu_yml_is_a_problem_with_file_and_fix(tmp_path: Path) -> None:
    import pytest

    from baton.domain.errors import ProjectInvalid

    (tmp_path / "nlu.yml").write_text("groups:\n  all: [1\n", encoding="utf-8")
    with pytest.raises(ProjectInvalid) as raised:
        load_thresholds(tmp_path)
    assert raised.value.problems[0].line == 3 and "fix the YAML" in raised.value.problems[0].fix
    (tmp_path / "nlu.yml").write_text(
        "groups:\n  all: {threshold: abc, min_similaritty: 0.3}\n"
        "bots:\n  desk: {min_similarity: 2}\n",
        encoding="utf-8",
    )
    with pytest.raises(ProjectInvalid) as raised:
        load_thresholds(tmp_path)
    assert [(p.line, p.message, p.fix) for p in raised.value.problems] == [
        (
            2,
            "groups.all: threshold is 'abc'",
            "give a number from 0 to 100 (or run baton eval --tune)",
        ),
        (2, "groups.all: unknown key 'min_similaritty'", "did you mean 'min_similarity'?"),
        (
            4,
            "bots.desk: min_similarity is 2",
            "give a number from 0 to 1 (or run baton eval --tune)",
        ),
    ]


def test_nlu_yml_names_the_line_of_a_typo_and_of_a_bot_the_project_lacks(tmp_path: Path) -> None:
    import pytest

    from baton.domain.errors import ProjectInvalid

    (tmp_path / "nlu.yml").write_text(
        "note: tuned\n"
        "group:\n"
        "  all: {threshold: 0.5}\n"
        "bots:\n"
        "  desk:\n"
        "    threshold: 0.4\n"
        "  dsk:\n"
        "    threshold: 0.3\n"
        "    min_similarity: 0.2\n",
        encoding="utf-8",
    )
    with pytest.raises(ProjectInvalid) as raised:  # without names, only the file's own keys
        load_thresholds(tmp_path)
    assert [p.line for p in raised.value.problems] == [2]
    with pytest.raises(ProjectInvalid) as raised:
        load_thresholds(tmp_path, {"bots": ["desk", "front"], "groups": ["all"]})
    problems = [(p.line, p.message, p.fix) for p in raised.value.problems]
    assert problems == [
        (2, "unknown key 'group'", "did you mean 'groups'?"),
        (7, "bots.dsk: the project has no bot 'dsk'", "did you mean 'desk'?"),
    ]


def test_gates_tuned_for_another_engine_are_a_problem(tmp_path: Path) -> None:
    import pytest

    from baton.domain.errors import ProjectInvalid

    (tmp_path / "nlu.yml").write_text(
        "note: tuned\nengine: tfidf-svc+minilm-l6+use-m3-4\ngroups:\n  all: {threshold: 0.6}\n",
        encoding="utf-8",
    )
    assert load_thresholds(tmp_path).engine == "tfidf-svc+minilm-l6+use-m3-4"
    assert load_thresholds(tmp_path, engine="tfidf-svc+minilm-l6+use-m3-4").groups
    with pytest.raises(ProjectInvalid) as raised:
        load_thresholds(tmp_path, engine="tfidf-svc-3")
    [problem] = raised.value.problems
    assert problem.line == 2 and "tuned for engine tfidf-svc+minilm-l6+use-m3-4" in problem.message
    assert "set BATON_NLU_EMBEDDINGS=on (with baton[embeddings] installed)" in problem.fix
    (tmp_path / "nlu.yml").write_text("engine: tfidf-svc-3\ngroups:\n  all: {threshold: 0.6}\n")
    with pytest.raises(ProjectInvalid) as raised:
        load_thresholds(tmp_path, engine="tfidf-svc+minilm-l6+use-m3-4")
    assert "set BATON_NLU_EMBEDDINGS=off to train" in raised.value.problems[0].fix
    (tmp_path / "nlu.yml").write_text("engine: [a, b]\ngroups:\n  all: {threshold: 0.6}\n")
    with pytest.raises(ProjectInvalid) as raised:
        load_thresholds(tmp_path, engine="tfidf-svc-3")
    assert raised.value.problems[0].message == "engine is not a name"
    (tmp_path / "nlu.yml").write_text("engine: tfidf-svc-1\ngroups:\n  all: {threshold: 0.6}\n")
    with pytest.raises(ProjectInvalid) as raised:
        load_thresholds(tmp_path, engine="tfidf-svc-3")
    assert "no engine of this release is tfidf-svc-1" in raised.value.problems[0].fix


def test_a_nlu_yml_that_is_not_utf8_is_a_problem(tmp_path: Path) -> None:
    import pytest

    from baton.domain.errors import ProjectInvalid

    (tmp_path / "nlu.yml").write_bytes(b"note: caf\xe9\n")
    with pytest.raises(ProjectInvalid) as raised:
        load_thresholds(tmp_path)
    [problem] = raised.value.problems
    assert (problem.file, problem.line, problem.fix) == ("nlu.yml", 1, "save the file as UTF-8")
