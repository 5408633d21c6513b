"""``baton eval --chart``: the report as one self-contained HTML page."""

from __future__ import annotations

import html

from baton.nlu.evaluation import Report


def chart_html(report: Report) -> str:
    """A self-contained HTML page: the bot confusion matrix and the accuracy/recall curve."""
    peak = max((max(row) for row in report.confusion), default=1) or 1
    head = "".join(f"<th>{html.escape(label)}</th>" for label in report.labels)
    body = []
    for label, row in zip(report.labels, report.confusion, strict=True):
        cells = "".join(
            f'<td style="background:rgba(31,119,180,{0.08 + 0.9 * n / peak:.2f})">{n}</td>'
            for n in row
        )
        body.append(f"<tr><th>{html.escape(label)}</th>{cells}</tr>")
    width, height, pad = 480, 320, 40

    def x(v: float) -> float:
        return pad + v * (width - 2 * pad)

    def y(v: float) -> float:
        return height - pad - v * (height - 2 * pad)

    points = " ".join(
        f"{x(p['oos_recall']):.1f},{y(p['intent_accuracy']):.1f}" for p in report.curve
    )
    here = f'<circle cx="{x(report.oos_recall):.1f}" cy="{y(report.intent_accuracy):.1f}" r="5"/>'
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">'
        f'<rect x="{pad}" y="{pad}" width="{width - 2 * pad}" height="{height - 2 * pad}" '
        'fill="none" stroke="#999"/>'
        f'<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="{points}"/>'
        f'<g fill="#d62728">{here}</g>'
        f'<text x="{width / 2}" y="{height - 8}" text-anchor="middle">out-of-scope recall</text>'
        f'<text x="12" y="{height / 2}" transform="rotate(-90 12 {height / 2})" '
        'text-anchor="middle">in-scope intent accuracy</text>'
        f'<text x="{pad}" y="{height - pad + 14}">0</text>'
        f'<text x="{width - pad - 8}" y="{height - pad + 14}">1</text>'
        f'<text x="{pad - 14}" y="{pad + 4}">1</text></svg>'
    )
    return (
        "<!doctype html><meta charset='utf-8'><title>baton eval</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right;font-size:12px}</style>"
        f"<h1>baton eval: group {html.escape(report.group)}</h1>"
        f"<p>bot accuracy {report.bot_accuracy:.2%}, intent accuracy "
        f"{report.intent_accuracy:.2%}, out-of-scope recall {report.oos_recall:.2%}, "
        f"precision {report.oos_precision:.2%}; latency p50 {report.latency_p50_ms:.2f} ms.</p>"
        "<h2>Bot confusion matrix (rows: truth, columns: routed to)</h2>"
        f"<table><tr><th></th>{head}</tr>{''.join(body)}</table>"
        "<h2>In-scope accuracy vs out-of-scope recall over probability thresholds</h2>"
        f"{svg}<p>The red dot is the gate in use.</p>"
    )
