"""``baton eval``: how well a project's cross-bot index routes labelled utterances.

:func:`evaluate` classifies every row with a group's index (the index collaboration uses)
and reports bot (routing) and intent accuracy on in-scope rows, out-of-scope recall and
precision, per-bot precision and recall, the bot confusion matrix, the in-scope accuracy
vs out-of-scope recall curve over probability thresholds, and latency per utterance.
In-scope accuracy counts a rejected in-scope utterance as an error (as Larson et al. do).

:func:`tune` picks the gates (probability threshold and minimum similarity) on a
validation set. The objective is the expected share of right answers when a fraction
``oos_share`` (default 0.2) of traffic is out of scope:
``(1 - oos_share) * in-scope accuracy + oos_share * out-of-scope recall``. Both are rates,
so the result does not depend on how many out-of-scope rows the validation file happens to
hold (precision does, which is why it is not the objective). With ``min_oos_recall`` it
picks instead the best in-scope accuracy among gates whose out-of-scope recall reaches it
(and, with ``min_oos_precision``, whose precision at that share of traffic reaches that);
when no gate meets every bound asked for, it falls back to the objective, and the
thresholds' note says which rule chose the gate.
For each bot's own classifier the objective is the same, the rows of every other bot
counting as out of scope for it.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from baton.domain.ports import IntentMatch
from baton.nlu.data import Row
from baton.nlu.project import ModelClassifier, ProjectNlu
from baton.nlu.thresholds import Gate, Thresholds

NONE = "(none)"
THRESHOLDS = [round(x, 2) for x in np.arange(0.0, 1.0001, 0.02)]
OOS_SHARE = 0.2
SIMILARITIES = [round(x, 2) for x in np.arange(0.0, 0.8001, 0.01)]
#: similarity weights the group gate's tuning tries (0: probability and similarity apart)
SIMILARITY_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0)
SCORE_STEP = 0.005


@dataclass(frozen=True)
class Scored:
    """One classified row: ungated best candidate, its confidence and the similarity."""

    row: Row
    bot: str | None
    intent: str | None
    confidence: float
    similarity: float
    seconds: float
    #: where a message the gate refuses goes as one of several clear topics (``topics``)
    topic: IntentMatch | None = None


@dataclass
class BotScore:
    """A bot's routing precision and recall; None where there is nothing to measure
    (precision of a bot no row was routed to, recall of a bot with no rows)."""

    precision: float | None
    recall: float | None
    support: int


@dataclass
class Report:
    """The figures of one evaluation run (all rates in 0..1)."""

    group: str
    gate: dict[str, float]
    rows: int
    in_scope: int
    out_of_scope: int
    bot_accuracy: float
    intent_accuracy: float
    bot_accuracy_ungated: float
    intent_accuracy_ungated: float
    oos_recall: float
    oos_precision: float
    latency_p50_ms: float
    latency_p95_ms: float
    per_bot: dict[str, BotScore]
    labels: list[str]
    confusion: list[list[int]]
    curve: list[dict[str, float]] = field(default_factory=list)
    #: messages the gate turned away (precision is undefined when there are none)
    flagged_oos: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _group_of(nlu: ProjectNlu, group: str | None) -> str:
    if group is not None:
        if group not in nlu.group_models:
            raise KeyError(f"no collaboration group '{group}' (groups: {', '.join(nlu.groups)})")
        return group
    if len(nlu.groups) != 1:
        raise KeyError(f"name the group to evaluate; the project has: {', '.join(nlu.groups)}")
    return nlu.groups[0]


def score_rows(classifier: ModelClassifier, rows: Sequence[Row]) -> list[Scored]:
    """Classify each row once (ungated), timing each call (after a first call that loads
    what loads lazily; the sentence encoders, which a first row sure enough for TF-IDF
    alone never touches, are loaded by ``ProjectNlu.warm_up`` before: ``evaluate``)."""
    if rows:
        classifier.candidates(rows[0].text)
    scored = []
    for row in rows:
        start = time.perf_counter()
        candidates = classifier.candidates(row.text)
        topics = None
        if classifier.decide(candidates).best is None:  # as ``classify`` does
            topics = classifier.topics(row.text)
        seconds = time.perf_counter() - start
        best = candidates.ranking[0] if candidates.ranking else None
        scored.append(
            Scored(
                row,
                best.bot_id if best else None,
                best.intent if best else None,
                best.confidence if best else 0.0,
                candidates.similarity,
                seconds,
                topics.best if topics else None,
            )
        )
    return scored


def _arrays(scored: Sequence[Scored]) -> dict[str, npt.NDArray[Any]]:
    return {
        "conf": np.array([s.confidence for s in scored]),
        "sim": np.array([s.similarity for s in scored]),
        "oos": np.array([not s.row.in_scope for s in scored]),
        "intent_ok": np.array([s.row.is_labelled(s.intent) for s in scored]),
        "bot_ok": np.array([s.bot == s.row.bot for s in scored]),
    }


def _routed(
    scored: Sequence[Scored], a: dict[str, npt.NDArray[Any]], gated: npt.NDArray[Any]
) -> dict[str, npt.NDArray[Any]]:
    """``a`` with the rows the gate refused but ``topics`` routed judged by their topic
    (``topic``: those rows), for the figures of what the router does."""
    topic = np.array([s.topic is not None for s in scored], dtype=bool) & ~gated
    if not topic.any():
        return {**a, "topic": topic}
    intent_ok, bot_ok = a["intent_ok"].copy(), a["bot_ok"].copy()
    for i in map(int, np.flatnonzero(topic)):
        match, row = scored[i].topic, scored[i].row
        if match is not None:
            intent_ok[i] = row.is_labelled(match.intent)
            bot_ok[i] = match.bot_id == row.bot
    return {**a, "intent_ok": intent_ok, "bot_ok": bot_ok, "topic": topic}


def _rates(a: dict[str, npt.NDArray[Any]], accepted: npt.NDArray[Any]) -> dict[str, float]:
    inside = ~a["oos"]
    rejected = ~accepted
    n_in = max(int(inside.sum()), 1)
    n_oos = max(int(a["oos"].sum()), 1)
    caught = int((rejected & a["oos"]).sum())
    return {
        "intent_accuracy": float((accepted & inside & a["intent_ok"]).sum()) / n_in,
        "bot_accuracy": float((accepted & inside & a["bot_ok"]).sum()) / n_in,
        "oos_recall": caught / n_oos,
        "oos_precision": caught / max(int(rejected.sum()), 1),
    }


def evaluate(nlu: ProjectNlu, rows: Sequence[Row], group: str | None = None) -> Report:
    """Evaluate the group's cross-bot index (and its gate) on labelled rows."""
    name = _group_of(nlu, group)
    classifier = nlu.for_group(name)
    gate = classifier.gate
    nlu.warm_up()  # the encoders load now, not inside the first unsure row's latency
    scored = score_rows(classifier, rows)
    a = _arrays(scored)
    score = a["conf"] + gate.similarity_weight * a["sim"]
    gated = (score >= gate.threshold) & (a["sim"] >= gate.min_similarity)
    routed = _routed(scored, a, gated)  # as the router does: with the messages of two topics
    accepted = gated | routed["topic"]
    rates = _rates(routed, accepted)
    inside = ~a["oos"]
    bots = sorted({r.bot for r in rows if r.in_scope} | set(nlu.group_models[name].bots()))
    labels = [*bots, NONE]
    position = {label: i for i, label in enumerate(labels)}
    confusion = [[0] * len(labels) for _ in labels]
    for s, ok, by_topic in zip(scored, accepted, routed["topic"], strict=True):
        truth = s.row.bot if s.row.in_scope else NONE
        went = s.topic.bot_id if by_topic and s.topic else s.bot
        to = went if ok and went is not None else NONE
        confusion[position[truth]][position[to]] += 1
    per_bot = {}
    for bot in bots:
        i = position[bot]
        hits = confusion[i][i]
        taken = sum(row[i] for row in confusion)
        support = sum(confusion[i])
        per_bot[bot] = BotScore(
            hits / taken if taken else None, hits / support if support else None, support
        )
    curve = []
    span = 1.0 + gate.similarity_weight
    for step in THRESHOLDS:  # thresholds on the gate's score, 0 to its maximum
        threshold = round(step * span, 4)
        ok = (score >= threshold) & (a["sim"] >= gate.min_similarity)
        curve.append({"threshold": threshold, **_rates(a, ok)})
    latencies = sorted(s.seconds * 1000 for s in scored)
    quantiles = statistics.quantiles(latencies, n=20) if len(latencies) > 1 else latencies * 19
    n_in = max(int(inside.sum()), 1)
    return Report(
        group=name,
        gate=gate.as_dict(),
        rows=len(rows),
        in_scope=int(inside.sum()),
        out_of_scope=int(a["oos"].sum()),
        bot_accuracy=rates["bot_accuracy"],
        intent_accuracy=rates["intent_accuracy"],
        bot_accuracy_ungated=float((inside & a["bot_ok"]).sum()) / n_in,
        intent_accuracy_ungated=float((inside & a["intent_ok"]).sum()) / n_in,
        oos_recall=rates["oos_recall"],
        oos_precision=rates["oos_precision"],
        latency_p50_ms=statistics.median(latencies) if latencies else 0.0,
        latency_p95_ms=quantiles[18] if quantiles else 0.0,
        per_bot=per_bot,
        labels=labels,
        confusion=confusion,
        curve=curve,
        flagged_oos=int((~accepted).sum()),
    )


def best_gate(
    scored: Sequence[Scored],
    min_oos_recall: float | None = None,
    *,
    oos_share: float = OOS_SHARE,
    min_oos_precision: float | None = None,
    weights: Sequence[float] = (0.0,),
) -> Gate:
    """The gate with the best expected accuracy, or the constrained pick (module's doc)."""
    gate, _ = choose_gate(
        scored,
        min_oos_recall,
        oos_share=oos_share,
        min_oos_precision=min_oos_precision,
        weights=weights,
    )
    return gate


def choose_gate(
    scored: Sequence[Scored],
    min_oos_recall: float | None = None,
    *,
    oos_share: float = OOS_SHARE,
    min_oos_precision: float | None = None,
    weights: Sequence[float] = (0.0,),
) -> tuple[Gate, str]:
    """:func:`best_gate`, and the rule that chose it, in words.

    Candidates: every (threshold, min_similarity) of the grid with similarity weight 0,
    and for each other weight in ``weights`` every threshold on the score
    ``confidence + weight * similarity`` (min_similarity 0).
    """
    a = _arrays(scored)
    inside = ~a["oos"]
    good = inside & a["intent_ok"]
    n_in = max(int(inside.sum()), 1)
    n_oos = max(int(a["oos"].sum()), 1)
    gates: list[Gate] = []
    accepted_blocks: list[npt.NDArray[np.bool_]] = []
    for weight in weights:
        if weight == 0:
            t = np.repeat(THRESHOLDS, len(SIMILARITIES))
            s = np.tile(SIMILARITIES, len(THRESHOLDS))
            score = a["conf"]
        else:
            t = np.round(np.arange(0.0, 1.0 + weight + 1e-9, SCORE_STEP), 4)
            s = np.zeros_like(t)
            score = a["conf"] + weight * a["sim"]
        accepted_blocks.append((score[None, :] >= t[:, None]) & (a["sim"][None, :] >= s[:, None]))
        gates += [Gate(float(ti), float(si), float(weight)) for ti, si in zip(t, s, strict=True)]
    accepted = np.concatenate(accepted_blocks)
    accuracy = (accepted & good[None, :]).sum(axis=1) / n_in
    recall = (~accepted & a["oos"][None, :]).sum(axis=1) / n_oos
    false_rejects = (~accepted & inside[None, :]).sum(axis=1) / n_in
    # precision at the assumed out-of-scope share of traffic (the validation file's own
    # share, often a few percent, would make any precision target unreachable)
    caught = oos_share * recall
    precision = np.where(
        caught > 0, caught / np.maximum(caught + (1 - oos_share) * false_rejects, 1e-12), 0.0
    )
    objective = (1 - oos_share) * accuracy + oos_share * recall
    rule = f"best expected accuracy at {oos_share:.0%} out-of-scope traffic"
    if min_oos_recall is not None and int(a["oos"].sum()) > 0:
        bounds = f"out-of-scope recall >= {min_oos_recall:g}"
        feasible = recall >= min_oos_recall - 1e-9
        if min_oos_precision is not None:
            bounds += f" and precision >= {min_oos_precision:g}"
            feasible &= precision >= min_oos_precision - 1e-9
        if feasible.any():
            objective = np.where(feasible, accuracy, -1.0)
            rule = f"best in-scope accuracy with {bounds}"
        else:
            rule = f"no gate reaches {bounds}; {rule}"
    # ties: the first candidate (weight 0 before the others, lowest thresholds first)
    return gates[int(np.argmax(objective))], rule


def tune(
    nlu: ProjectNlu,
    val_rows: Sequence[Row],
    group: str | None = None,
    *,
    min_oos_recall: float | None = None,
    oos_share: float = OOS_SHARE,
    bots: bool = True,
    min_oos_precision: float | None = None,
    keep: Thresholds | None = None,
) -> Thresholds:
    """Pick the group's gate and (with ``bots``) each bot's gate on validation rows; the
    other groups' and bots' gates are those of ``keep`` (default: the project's)."""
    name = _group_of(nlu, group)
    base = nlu.thresholds if keep is None else keep
    scored = score_rows(nlu.for_group(name), val_rows)
    gate, rule = choose_gate(
        scored,
        min_oos_recall,
        oos_share=oos_share,
        min_oos_precision=min_oos_precision,
        weights=SIMILARITY_WEIGHTS,
    )
    thresholds = Thresholds(
        bots=dict(base.bots),
        groups={**base.groups, name: gate},
        note=f"tuned on {len(val_rows)} rows; group {name}: {rule}",
        engine=nlu.engine,
    )
    if bots:
        for bot_id in nlu.group_models[name].bots():
            if bot_id not in nlu.bot_models:
                continue
            # for a bot's own classifier, every other bot's rows are out of scope
            own = [row if row.bot == bot_id else Row(row.text, "oos", "") for row in val_rows]
            bot_scored = score_rows(nlu.for_bot(bot_id), own)
            thresholds.bots[bot_id] = best_gate(bot_scored, oos_share=oos_share)
    return thresholds
