"""The turn figures as Prometheus reads them."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from baton.domain import events as ev
from baton.router.messages import TurnResult
from baton.server.metrics import Metrics


def _samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.render().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_turns_latency_transfers_and_fallbacks_are_counted_by_label() -> None:
    metrics = Metrics()
    transfer = ev.BotTransferred(from_bot="a", to_bot="b", reason="collaboration", message="hi")
    fallback = ev.FallbackTriggered("b", "no bot matched")
    metrics.turn(TurnResult("c1", "k1", [transfer, fallback], [], None), "rest", 0.005)
    metrics.turn(TurnResult("c1", "k1", [], [], None), "rest", 0.03)
    metrics.turn(TurnResult("c2", "k2", [], [], None), "web", 9.0)
    metrics.error("rate_limited")
    samples = _samples(metrics)
    assert samples[("baton_turns_total", (("channel", "rest"),))] == 2
    assert samples[("baton_transfers_total", (("reason", "collaboration"),))] == 1
    assert samples[("baton_fallbacks_total", (("bot", "b"),))] == 1
    assert samples[("baton_errors_total", (("kind", "rate_limited"),))] == 1

    def bucket(channel: str, le: str) -> float:
        return samples[("baton_turn_seconds_bucket", (("channel", channel), ("le", le)))]

    assert bucket("rest", "0.0025") == 0
    assert bucket("rest", "0.005") == 1  # a value on a bound counts in its bucket (le)
    assert bucket("rest", "0.025") == 1
    assert bucket("rest", "0.05") == 2
    assert bucket("rest", "+Inf") == 2
    assert abs(samples[("baton_turn_seconds_sum", (("channel", "rest"),))] - 0.035) < 1e-12
    assert bucket("web", "2.5") == 0
    assert bucket("web", "+Inf") == 1
    assert samples[("baton_turn_seconds_count", (("channel", "web"),))] == 1


def test_turns_no_message_ran_count_their_transfers_and_fallbacks_only() -> None:
    metrics = Metrics()
    assign = ev.BotTransferred(from_bot="a", to_bot="b", reason="api", message="")
    metrics.outcomes(TurnResult("c1", "k1", [assign, ev.FallbackTriggered("b", "x")], [], None))
    samples = _samples(metrics)
    assert samples[("baton_transfers_total", (("reason", "api"),))] == 1
    assert samples[("baton_fallbacks_total", (("bot", "b"),))] == 1
    assert not any(name == "baton_turns_total" for name, _labels in samples)


def test_assigning_a_bot_while_a_human_holds_the_conversation_is_one_transfer() -> None:
    """The assignment records a hand-back and the assignment; both were counted."""
    metrics = Metrics()
    moved = [
        ev.HandedBack("front", by="api"),
        ev.BotAssigned("sales", "auto", "api", from_bot="front"),
    ]
    metrics.outcomes(TurnResult("c1", "k1", moved, [], None))
    metrics.outcomes(TurnResult("c1", "k1", [ev.HandedBack("front")], [], None))
    samples = _samples(metrics)
    assert samples[("baton_transfers_total", (("reason", "api"),))] == 1
    assert samples[("baton_transfers_total", (("reason", "handback"),))] == 1
