"""``baton eval --chart``: the report as one self-contained HTML page.

The page holds the headline figures, the bot confusion matrix and the curve of in-scope
accuracy and out-of-scope recall over the gate's threshold, as inline SVG: no script, no
font, nothing fetched.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from baton.nlu.evaluation import NONE, Report

#: the curve's plot area inside the SVG, in pixels
WIDTH, HEIGHT = 640, 380
LEFT, RIGHT, TOP, BOTTOM = 64, 24, 56, 56
TICKS = (0.0, 0.25, 0.5, 0.75, 1.0)
#: blue on white 5.0:1; the cells' text is black or white, whichever contrasts more
CELL = (0x1F, 0x77, 0xB4)

STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em;color:#1f2328;max-width:60em}"
    "table{border-collapse:collapse}"
    "td,th{border:1px solid #c8ced6;padding:3px 6px;text-align:right;font-size:12px}"
    "th{background:#f3f5f7}td.right{font-weight:700;outline:2px solid #1f2328;"
    "outline-offset:-2px}figure{margin:0}figcaption{font-size:13px;padding-top:6px;"
    "max-width:48em}dt{font-weight:600}"
    ".figures{display:grid;grid-template-columns:max-content max-content;gap:2px 16px}"
    ".figures dd{margin:0}.note{font-size:13px;max-width:48em}"
    "svg text{font-size:12px;fill:#1f2328}"
)


@dataclass(frozen=True)
class Series:
    """One line of the curve: a key of the curve's points, its label and its look."""

    key: str
    label: str
    colour: str
    dash: str
    width: float


#: Okabe-Ito colours (told apart with colour blindness), a dash each for grey print, and
#: the first line wider, so it still shows under the second where the two are equal
SERIES = (
    Series("intent_accuracy", "in-scope intent accuracy", "#0072b2", "", 5),
    Series("bot_accuracy", "in-scope bot accuracy", "#009e73", "8 4", 2.5),
    Series("oos_recall", "out-of-scope recall", "#d55e00", "2 3", 2.5),
)


def _rate(value: float, rows: int) -> str:
    """A rate, or n/a when the data has no rows it could be measured on."""
    return f"{value:.2%}" if rows else "n/a"


def precision_text(report: Report) -> str:
    """Out-of-scope precision: undefined when the gate turned nothing away."""
    if not report.flagged_oos:
        return "n/a (the gate turned no message away)"
    return f"{report.oos_precision:.2%}"


def _score_text(gate: dict[str, float]) -> str:
    """What the gate's threshold applies to."""
    weight = gate.get("similarity_weight", 0.0)
    return f"probability + {weight:g} x similarity" if weight else "probability"


def _gate_text(gate: dict[str, float]) -> str:
    return f"{_score_text(gate)} ≥ {gate['threshold']:g}, similarity ≥ {gate['min_similarity']:g}"


def _figures(report: Report) -> str:
    none_in = " (no in-scope rows)" if not report.in_scope else ""
    none_out = " (no out-of-scope rows)" if not report.out_of_scope else ""
    rows = [
        ("rows", f"{report.rows}: {report.in_scope} in scope, {report.out_of_scope} out of scope"),
        ("bot accuracy", _rate(report.bot_accuracy, report.in_scope) + none_in),
        ("intent accuracy", _rate(report.intent_accuracy, report.in_scope) + none_in),
        ("bot accuracy, no gate", _rate(report.bot_accuracy_ungated, report.in_scope)),
        ("intent accuracy, no gate", _rate(report.intent_accuracy_ungated, report.in_scope)),
        ("out-of-scope recall", _rate(report.oos_recall, report.out_of_scope) + none_out),
        ("out-of-scope precision", precision_text(report)),
        ("latency p50 / p95", f"{report.latency_p50_ms:.2f} / {report.latency_p95_ms:.2f} ms"),
        ("gate", _gate_text(report.gate)),
    ]
    items = "".join(f"<dt>{name}</dt><dd>{html.escape(value)}</dd>" for name, value in rows)
    return f'<dl class="figures">{items}</dl>'


def _luminance(rgb: tuple[int, int, int]) -> float:
    """WCAG 2 relative luminance."""
    srgb = [c / 255 for c in rgb]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in srgb]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _cell_style(share: float) -> str:
    """A cell's background (white to blue as ``share`` goes 0 to 1) and readable text."""
    mix = 0.06 + 0.9 * share
    rgb = (
        round(255 + (CELL[0] - 255) * mix),
        round(255 + (CELL[1] - 255) * mix),
        round(255 + (CELL[2] - 255) * mix),
    )
    back = _luminance(rgb)
    on_white, on_black = 1.05 / (back + 0.05), (back + 0.05) / 0.05
    text = "#fff" if on_white > on_black else "#000"
    return f"background:#{rgb[0]:02x}{rgb[1]:02x}{rgb[2]:02x};color:{text}"


def _confusion(report: Report) -> str:
    peak = max((max(row) for row in report.confusion if row), default=0) or 1
    head = "".join(f'<th scope="col">{html.escape(label)}</th>' for label in report.labels)
    body = []
    for truth, row in zip(report.labels, report.confusion, strict=True):
        cells = []
        for routed, n in zip(report.labels, row, strict=True):
            title = html.escape(f"{truth} → {routed}: {n}", quote=True)
            right = ' class="right"' if routed == truth else ""
            style = _cell_style(n / peak)
            cells.append(f'<td title="{title}"{right} style="{style}">{n}</td>')
        body.append(f'<tr><th scope="row">{html.escape(truth)}</th>{"".join(cells)}</tr>')
    caption = (
        "Rows: the bot each message belongs to; columns: the bot it was routed to. "
        "Outlined cells are right; a cell's tooltip says what it counts."
    )
    if NONE in report.labels:
        caption += (
            f" {NONE} as a row: the out-of-scope messages (intent oos), which no bot should "
            f"take; as a column: the messages no bot took (the gate rejected them, so they "
            f"were routed nowhere). {NONE} → {NONE} is a rightly rejected message; a bot's "
            f"row → {NONE} is one of its messages wrongly rejected."
        )
    return (  # a figure's caption, as wide as the text needs (a table's is as narrow as it)
        f'<figure><table aria-describedby="confusion-caption"><tr><th scope="col">'
        f"truth ↓ routed →</th>{head}</tr>{''.join(body)}</table>"
        f'<figcaption id="confusion-caption">{html.escape(caption)}</figcaption></figure>'
    )


def _x(value: float, span: float) -> float:
    return LEFT + value / span * (WIDTH - LEFT - RIGHT)


def _y(value: float) -> float:
    return HEIGHT - BOTTOM - value * (HEIGHT - TOP - BOTTOM)


def _axes(span: float, score: str) -> list[str]:
    """Grid, ticks and labels: x the threshold (0 to ``span``), y the rate (0 to 1)."""
    bottom, top = HEIGHT - BOTTOM, TOP
    parts = []
    for tick in TICKS:
        x, y, value = _x(tick * span, span), _y(tick), tick * span
        parts += [
            f'<line class="grid" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
            'stroke="#d9dee4"/>',
            f'<line x1="{LEFT - 5}" y1="{y:.1f}" x2="{LEFT}" y2="{y:.1f}" stroke="#1f2328"/>',
            f'<text class="tick y" x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">'
            f"{tick:g}</text>",
            f'<line x1="{x:.1f}" y1="{bottom}" x2="{x:.1f}" y2="{bottom + 5}" stroke="#1f2328"/>',
            f'<text class="tick x" x="{x:.1f}" y="{bottom + 18}" text-anchor="middle">'
            f"{value:g}</text>",
        ]
    middle = (TOP + HEIGHT - BOTTOM) / 2
    parts += [  # the axes over the grid
        f'<g class="axes" stroke="#1f2328" fill="none">'
        f'<line x1="{LEFT}" y1="{bottom}" x2="{WIDTH - RIGHT}" y2="{bottom}"/>'
        f'<line x1="{LEFT}" y1="{bottom}" x2="{LEFT}" y2="{top}"/></g>',
        f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{HEIGHT - 14}" text-anchor="middle">'
        f"threshold on the gate's score ({html.escape(score)})</text>",
        f'<text x="16" y="{middle}" transform="rotate(-90 16 {middle})" '
        'text-anchor="middle">rate (0 to 1)</text>',
    ]
    return parts


def _legend(series: list[Series]) -> str:
    items = []
    for i, line in enumerate(series):
        x = LEFT + i * 190
        items.append(
            f'<g class="legend-item"><line x1="{x}" y1="20" x2="{x + 28}" y2="20" '
            f'stroke="{line.colour}" stroke-width="{line.width:g}" stroke-dasharray="{line.dash}"/>'
            f'<text x="{x + 34}" y="24">{html.escape(line.label)}</text></g>'
        )
    return f'<g class="legend">{"".join(items)}</g>'


def _lines(report: Report, series: list[Series], span: float) -> list[str]:
    out = []
    for line in series:
        points = " ".join(
            f"{_x(p['threshold'], span):.1f},{_y(p[line.key]):.1f}" for p in report.curve
        )
        out.append(
            f'<polyline class="series" data-series="{line.key}" fill="none" '
            f'stroke="{line.colour}" stroke-width="{line.width:g}" stroke-dasharray="{line.dash}" '
            f'points="{points}"><title>{html.escape(line.label)}</title></polyline>'
        )
    return out


def _gate_mark(threshold: float, span: float) -> str:
    x = _x(min(max(threshold, 0.0), span), span)
    return (
        f'<g class="gate"><line x1="{x:.1f}" y1="{TOP - 8}" x2="{x:.1f}" '
        f'y2="{HEIGHT - BOTTOM}" stroke="#1f2328" stroke-width="1.5" stroke-dasharray="5 3"/>'
        f'<text x="{x + 4:.1f}" y="{TOP - 10}">gate {threshold:g}</text></g>'
    )


def _curve(report: Report) -> str:
    """The curve's section: the SVG, what it shows, and why a line is missing."""
    if not report.curve:
        return "<p class='note'>No curve: the report has no points.</p>"
    series = [
        line
        for line in SERIES
        if (report.out_of_scope if line.key == "oos_recall" else report.in_scope)
    ]
    notes = []
    if not report.out_of_scope:
        notes.append(
            "The data has no out-of-scope rows (intent oos), so there is nothing to plot the "
            "accuracy against: out-of-scope recall can't be measured, and what the gate buys "
            "(messages rightly refused) can't be weighed against what it costs (in-scope "
            "messages lost). Add messages no bot should take to see it."
        )
    if not report.in_scope:
        notes.append("The data has no in-scope rows: there is no accuracy to plot.")
    if not series:
        return "".join(f"<p class='note'>{html.escape(n)}</p>" for n in notes)
    span = max(p["threshold"] for p in report.curve) or 1.0
    names = ", ".join(line.label for line in series)
    svg = "".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="curve-title">',
            f'<title id="curve-title">{html.escape(names)} over the gate threshold</title>',
            *_axes(span, _score_text(report.gate)),
            *_lines(report, series, span),
            _gate_mark(report.gate["threshold"], span),
            _legend(series),
            "</svg>",
        ]
    )
    explained = (
        "Each line is a rate (0 to 1) measured with the gate's threshold set to x, at its "
        f"minimum similarity ({report.gate['min_similarity']:g}); the dashed vertical line "
        "is the gate in use. Raising the threshold refuses more messages: out-of-scope "
        "recall rises and in-scope accuracy falls. The headline figures above also count "
        "the messages the router sends to one of several clear topics when the gate refuses "
        "them, so at the gate their accuracy can be a little higher, and their recall a "
        "little lower, than the lines."
    )
    missing = "".join(f"<p class='note'>{html.escape(n)}</p>" for n in notes)
    return f"{missing}{svg}<p class='note'>{html.escape(explained)}</p>"


def chart_html(report: Report) -> str:
    """A self-contained HTML page: the figures, the bot confusion matrix and the curve."""
    group = html.escape(report.group)
    return (
        "<!doctype html><html lang='en'><meta charset='utf-8'>"
        f"<title>baton eval: group {group}</title><style>{STYLE}</style>"
        f"<h1>baton eval: group {group}</h1>{_figures(report)}"
        "<h2>Bot confusion matrix</h2>"
        f"{_confusion(report)}"
        "<h2>In-scope accuracy and out-of-scope recall over the gate threshold</h2>"
        f"{_curve(report)}</html>"
    )
