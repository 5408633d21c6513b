"""Prometheus metrics: turns, latency, transfers, fallbacks, deliveries, errors by kind."""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter as Tally
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from baton.domain import events as ev
from baton.router.messages import TurnResult

#: upper bounds of the turn latency histogram, in seconds
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)


class TurnFigures(Collector):
    """What every turn adds to, kept as plain numbers and read at scrape time.

    ``prometheus_client``'s own counters and histograms take a lock for each
    increment (four or five a turn); a turn runs on the event loop's thread,
    and so does the ``/metrics`` scrape, so plain dictionaries do. Exposed as
    ``baton_turns_total``, ``baton_turn_seconds`` (a histogram),
    ``baton_transfers_total`` and ``baton_fallbacks_total``, by label.
    """

    def __init__(self) -> None:
        #: channel -> [turns, seconds in total, then one count per bucket and +Inf]
        self.by_channel: dict[str, list[float]] = {}
        self.transfers: Tally[str] = Tally()
        self.fallbacks: Tally[str] = Tally()

    def turn(self, result: TurnResult, channel: str, seconds: float) -> None:
        """Count a turn, its time, and its transfers and fallbacks."""
        figures = self.by_channel.get(channel)
        if figures is None:
            figures = self.by_channel[channel] = [0.0] * (3 + len(LATENCY_BUCKETS))
        figures[0] += 1
        figures[1] += seconds
        figures[2 + bisect_left(LATENCY_BUCKETS, seconds)] += 1  # the first bound >= it
        self.outcomes(result)

    def outcomes(self, result: TurnResult) -> None:
        """Count a turn's transfers and fallbacks (also of turns no message started): a
        transfer is a bot's handover, an assignment that moved the conversation from
        another bot, or a human's hand-back. Assigning a bot while a human holds the
        conversation records a hand-back and the assignment: one move, counted as the
        assignment."""
        handback = False
        for event in result.events:
            if type(event) is ev.BotTransferred:
                self.transfers[event.reason] += 1
            elif type(event) is ev.BotAssigned and event.from_bot is not None:
                self.transfers["workflow" if event.by.startswith("workflow") else "api"] += 1
                handback = False
            elif type(event) is ev.HandedBack:
                handback = True
            elif type(event) is ev.FallbackTriggered:
                self.fallbacks[event.bot_id] += 1
        if handback:
            self.transfers["handback"] += 1

    def collect(self) -> Iterator[Metric]:
        """The figures in Prometheus's data model."""
        turns = CounterMetricFamily("baton_turns", "Turns run, by channel", labels=["channel"])
        latency = HistogramMetricFamily(
            "baton_turn_seconds", "Time to run a turn, by channel", labels=["channel"]
        )
        for channel, figures in self.by_channel.items():
            turns.add_metric([channel], figures[0])
            cumulative, buckets = 0.0, []
            for bound, count in zip((*LATENCY_BUCKETS, float("inf")), figures[2:], strict=True):
                cumulative += count
                buckets.append((_bound(bound), cumulative))
            latency.add_metric([channel], buckets, figures[1])
        yield turns
        yield latency
        yield _counter(
            "baton_transfers", "Transfers between bots, by reason", "reason", self.transfers
        )
        yield _counter("baton_fallbacks", "Fallback answers, by bot", "bot", self.fallbacks)


def _bound(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(float(bound))


def _counter(name: str, documentation: str, label: str, tally: Tally[str]) -> Metric:
    family = CounterMetricFamily(name, documentation, labels=[label])
    for value, count in tally.items():
        family.add_metric([value], count)
    return family


class Metrics:
    """One registry per app (so tests can build many apps in one process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.turns = TurnFigures()
        self.registry.register(self.turns)
        self.deliveries = Counter(
            "baton_deliveries",
            "Outbox deliveries, by channel and outcome (sent, retry, failed)",
            ["channel", "outcome"],
            registry=self.registry,
        )
        self.errors = Counter("baton_errors", "Errors, by kind", ["kind"], registry=self.registry)
        # labels() takes a lock and builds a key on every call: keep the children.
        self._errors: dict[str, Counter] = {}

    def turn(self, result: TurnResult, channel: str, seconds: float) -> None:
        """Count a turn and what happened in it."""
        self.turns.turn(result, channel, seconds)

    def outcomes(self, result: TurnResult) -> None:
        """Count the transfers and fallbacks of a turn an operator, a workflow trigger or a
        timer ran (``baton_turns`` counts the turns messages ran, and their time)."""
        self.turns.outcomes(result)

    def error(self, kind: str) -> None:
        """Count an error of ``kind``."""
        child = self._errors.get(kind)
        if child is None:
            child = self._errors[kind] = self.errors.labels(kind)
        child.inc()

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
