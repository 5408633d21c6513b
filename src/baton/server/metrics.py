"""Prometheus metrics: turns, latency, transfers, fallbacks, deliveries, errors by kind."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from baton.domain import events as ev
from baton.router.messages import TurnResult


class Metrics:
    """One registry per app (so tests can build many apps in one process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.turns = Counter(
            "baton_turns", "Turns run, by channel", ["channel"], registry=self.registry
        )
        self.latency = Histogram(
            "baton_turn_seconds",
            "Time to run a turn, by channel",
            ["channel"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )
        self.transfers = Counter(
            "baton_transfers",
            "Transfers between bots, by reason",
            ["reason"],
            registry=self.registry,
        )
        self.fallbacks = Counter(
            "baton_fallbacks", "Fallback answers, by bot", ["bot"], registry=self.registry
        )
        self.deliveries = Counter(
            "baton_deliveries",
            "Outbox deliveries, by channel and outcome (sent, retry, failed)",
            ["channel", "outcome"],
            registry=self.registry,
        )
        self.errors = Counter("baton_errors", "Errors, by kind", ["kind"], registry=self.registry)

        # labels() takes a lock and builds a key on every call: keep the children.
        self._by_channel: dict[str, tuple[Counter, Histogram]] = {}
        self._errors: dict[str, Counter] = {}
        self._transfers: dict[str, Counter] = {}
        self._fallbacks: dict[str, Counter] = {}

    def turn(self, result: TurnResult, channel: str, seconds: float) -> None:
        """Count a turn and what happened in it."""
        children = self._by_channel.get(channel)
        if children is None:
            children = (self.turns.labels(channel), self.latency.labels(channel))
            self._by_channel[channel] = children
        children[0].inc()
        children[1].observe(seconds)
        for event in result.events:
            if isinstance(event, ev.BotTransferred):
                _child(self._transfers, self.transfers, event.reason).inc()
            elif isinstance(event, ev.FallbackTriggered):
                _child(self._fallbacks, self.fallbacks, event.bot_id).inc()

    def error(self, kind: str) -> None:
        """Count an error of ``kind``."""
        _child(self._errors, self.errors, kind).inc()

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)


def _child(children: dict[str, Counter], counter: Counter, label: str) -> Counter:
    """The counter's child for ``label``, from ``children`` once it has been made."""
    child = children.get(label)
    if child is None:
        child = children[label] = counter.labels(label)
    return child
