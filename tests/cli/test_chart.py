"""The ``baton eval --chart`` page, from reports built by hand and in a real browser."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from baton.cli.chart import chart_html
from baton.nlu.evaluation import NONE, THRESHOLDS, BotScore, Report
from tests.browser import CHROMIUM, launch, watched_page


def report(*, out_of_scope: int, weight: float = 0.0) -> Report:
    """A report of 10 in-scope rows and ``out_of_scope`` more, with a plausible curve."""
    span = 1.0 + weight
    curve = [
        {
            "threshold": round(step * span, 4),
            "intent_accuracy": 0.9 - 0.6 * step**2,
            "bot_accuracy": 0.95 - 0.6 * step**2,
            "oos_recall": step if out_of_scope else 0.0,
            "oos_precision": 0.5 + 0.4 * step if out_of_scope else 0.0,
        }
        for step in THRESHOLDS
    ]
    confusion = [[8, 1, 1], [0, 0, 0], [0, 0, 0]]
    if out_of_scope:
        confusion[2] = [1, 0, out_of_scope - 1]
    return Report(
        group="clinic",
        gate={"threshold": 0.42 * span, "min_similarity": 0.1, "similarity_weight": weight},
        rows=10 + out_of_scope,
        in_scope=10,
        out_of_scope=out_of_scope,
        bot_accuracy=0.8,
        intent_accuracy=0.7,
        bot_accuracy_ungated=0.9,
        intent_accuracy_ungated=0.8,
        oos_recall=0.75 if out_of_scope else 0.0,
        oos_precision=0.6 if out_of_scope else 0.0,
        latency_p50_ms=0.2,
        latency_p95_ms=0.4,
        per_bot={"triage": BotScore(1.0, 0.8, 10), "assessment": BotScore(0.0, 0.0, 0)},
        labels=["triage", "assessment", NONE],
        confusion=confusion,
        curve=curve,
        flagged_oos=5 if out_of_scope else 0,  # 3 caught of 4, at precision 0.6
    )


def test_with_out_of_scope_rows_three_lines_axes_legend_and_the_gate() -> None:
    page = chart_html(report(out_of_scope=4))
    assert "out-of-scope recall</dt><dd>75.00%" in page
    assert "out-of-scope precision</dt><dd>60.00%" in page
    assert "n/a" not in page
    series = re.findall(r'<polyline class="series" data-series="(\w+)"', page)
    assert series == ["intent_accuracy", "bot_accuracy", "oos_recall"]
    # Each line has one point per threshold of the report's curve.
    first = re.search(r'data-series="intent_accuracy"[^>]*points="([^"]+)"', page)
    assert first is not None and len(first.group(1).split()) == len(THRESHOLDS)
    ticks_y = re.findall(r'<text class="tick y"[^>]*>([^<]+)</text>', page)
    ticks_x = re.findall(r'<text class="tick x"[^>]*>([^<]+)</text>', page)
    assert ticks_y == ticks_x == ["0", "0.25", "0.5", "0.75", "1"]
    assert "threshold on the gate's score (probability)" in page
    assert "rate (0 to 1)" in page
    legend = re.findall(r'<g class="legend-item">.*?<text[^>]*>([^<]+)</text>', page)
    assert legend == ["in-scope intent accuracy", "in-scope bot accuracy", "out-of-scope recall"]
    assert re.search(r'<g class="gate"><line x1="([\d.]+)"[^>]*/><text[^>]*>gate 0.42<', page)
    # The (none) label explained; each cell titled truth → routed: n.
    assert f"{NONE} as a row: the out-of-scope messages" in page
    assert 'title="triage → assessment: 1"' in page
    assert f'title="{NONE} → {NONE}: 3"' in page
    assert "<script" not in page and "@import" not in page and "url(" not in page
    assert "http" not in page.replace("http://www.w3.org/2000/svg", "")


def test_without_out_of_scope_rows_recall_is_na_and_the_curve_says_why() -> None:
    page = chart_html(report(out_of_scope=0))
    assert "out-of-scope recall</dt><dd>n/a (no out-of-scope rows)" in page
    assert "out-of-scope precision</dt><dd>n/a (the gate turned no message away)" in page
    assert ">0.00%" not in page
    series = re.findall(r'<polyline class="series" data-series="(\w+)"', page)
    assert series == ["intent_accuracy", "bot_accuracy"]  # no recall to draw
    assert "no out-of-scope rows (intent oos), so there is nothing to plot" in page
    assert '<g class="gate">' in page


def test_the_x_axis_spans_the_score_when_similarity_is_weighed_in() -> None:
    page = chart_html(report(out_of_scope=4, weight=1.0))
    ticks_x = re.findall(r'<text class="tick x"[^>]*>([^<]+)</text>', page)
    assert ticks_x == ["0", "0.5", "1", "1.5", "2"]
    assert "gate 0.84<" in page
    assert "score (probability + 1 x similarity)" in page


def test_a_report_without_in_scope_rows_plots_recall_alone() -> None:
    alone = report(out_of_scope=4)
    alone.in_scope = 0
    page = chart_html(alone)
    assert "bot accuracy</dt><dd>n/a (no in-scope rows)" in page
    series = re.findall(r'<polyline class="series" data-series="(\w+)"', page)
    assert series == ["oos_recall"]


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")
@pytest.mark.parametrize("out_of_scope", [4, 0])
def test_the_page_renders_in_chromium_without_errors(tmp_path: Path, out_of_scope: int) -> None:
    from playwright.sync_api import sync_playwright

    path = tmp_path / "chart.html"
    path.write_text(chart_html(report(out_of_scope=out_of_scope)), encoding="utf-8")
    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            page, problems = watched_page(browser)
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(path.as_uri())
            page.screenshot(path=str(tmp_path / "chart.png"), full_page=True)
            assert problems == []
            assert requests == [path.as_uri()]  # nothing fetched beyond the file
            # The SVG lays out: the plot has its size, the legend and the lines are drawn.
            box = page.locator("svg").bounding_box()
            assert box is not None and box["width"] == 640 and box["height"] == 380
            lines = page.locator("polyline.series")
            assert lines.count() == (3 if out_of_scope else 2)
            for i in range(lines.count()):
                drawn = lines.nth(i).bounding_box()
                assert drawn is not None and drawn["width"] > 400
            legend = page.locator("g.legend").bounding_box()
            assert legend is not None and legend["y"] < box["y"] + 56  # above the plot area
        finally:
            browser.close()
