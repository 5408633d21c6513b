"""``baton train``, ``baton import``, ``baton eval`` and ``baton clashes``."""

from __future__ import annotations

import html
import json
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from baton.cli.output import console, errors, print_problems
from baton.domain.errors import ProjectInvalid
from baton.nlu import ProjectNlu, save_thresholds, train_project
from baton.nlu.clashes import Clash, find_clashes
from baton.nlu.data import read_rows, unseen
from baton.nlu.evaluation import Report, evaluate, tune
from baton.nlu.project import bot_training_data
from baton.spec.project import Project


def _gate_text(gate: dict[str, float]) -> str:
    weight = gate.get("similarity_weight", 0.0)
    score = f"p + {weight} x sim" if weight else "p"
    return f"{score} ≥ {gate['threshold']}, sim ≥ {gate['min_similarity']}"


def _load(project: Path) -> Project:
    from baton.project import load_project

    try:
        return load_project(project)
    except ProjectInvalid as invalid:
        print_problems(invalid.problems)
        raise typer.Exit(1) from invalid


def _examples(project: Project) -> list[str]:
    return [text for bot in project.bots.values() for text in bot_training_data(bot)[0]]


def train_with_progress(project: Project) -> ProjectNlu:
    """Train (or reuse) every model of a project, with a Rich progress bar."""
    with Progress(
        TextColumn("[bold]training[/] {task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=not console.is_terminal,
    ) as bar:
        task = bar.add_task("models", total=None)

        def progress(done: int, total: int, description: str) -> None:
            bar.update(task, completed=done, total=total, description=description)

        return train_project(project, progress=progress)


def print_clashes(clashes: list[Clash]) -> None:
    """One block per clash: the two intents, how often confused, example pairs, advice."""
    for clash in clashes:
        console.print(
            f"[yellow]clash[/] {clash.first} ↔ {clash.second}: {clash.confusions} of "
            f"{clash.examples} examples confused ({clash.rate:.0%})"
        )
        for mine, theirs in clash.pairs:
            console.print(f"    “{mine}” ~ “{theirs}”")
        console.print(f"    [green]suggestion:[/] {clash.advice}")


def report_table(report: Report) -> Table:
    """The headline figures and per-bot precision/recall as a Rich table."""
    table = Table(title=f"group {report.group}: {report.rows} utterances")
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows = [
        ("bot accuracy (in scope)", f"{report.bot_accuracy:.2%}"),
        ("intent accuracy (in scope)", f"{report.intent_accuracy:.2%}"),
        ("bot accuracy, no OOS gate", f"{report.bot_accuracy_ungated:.2%}"),
        ("intent accuracy, no OOS gate", f"{report.intent_accuracy_ungated:.2%}"),
        ("out-of-scope recall", f"{report.oos_recall:.2%}"),
        ("out-of-scope precision", f"{report.oos_precision:.2%}"),
        ("latency p50 / p95", f"{report.latency_p50_ms:.2f} / {report.latency_p95_ms:.2f} ms"),
        ("gate", _gate_text(report.gate)),
    ]
    for name, value in rows:
        table.add_row(name, value)
    for bot, score in report.per_bot.items():
        table.add_row(
            f"  {bot}", f"P {score.precision:.1%}  R {score.recall:.1%}  n={score.support}"
        )
    return table


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


def register(app: typer.Typer) -> None:
    """Add the NLU commands to the ``baton`` app."""

    @app.command()
    def train(
        project: Path = typer.Argument(Path("."), help="project folder (with baton.yml)"),
    ) -> None:
        """Train every bot's intent model and each group's cross-bot index (cached)."""
        loaded = _load(project)
        nlu = train_with_progress(loaded)
        console.print(
            f"[green]ok[/] {loaded.name}: {len(nlu.trained)} model(s) trained, "
            f"{len(nlu.reused)} reused from {loaded.root / '.baton' / 'nlu'}"
        )

    @app.command(name="import")
    def import_(
        data: Path = typer.Argument(..., help="TSV with columns text, intent, bot"),
        out: Path = typer.Option(..., "--out", help="project folder to create"),
        name: str = typer.Option(None, "--name", help="project name (default: the folder's)"),
        primary: str = typer.Option(None, "--primary", help="primary bot (default: first)"),
    ) -> None:
        """Create a project from labelled data: one bot per value of the bot column."""
        from baton.project.importer import import_tsv

        try:
            project = import_tsv(data, out, name, primary)
        except (ValueError, OSError) as error:
            errors.print(f"[bold red]error[/] {error}")
            raise typer.Exit(1) from error
        except ProjectInvalid as invalid:
            print_problems(invalid.problems)
            raise typer.Exit(1) from invalid
        intents = sum(len(b.intents) for b in project.bots.values())
        console.print(f"[green]ok[/] {out}: {len(project.bots)} bot(s), {intents} intent(s)")

    @app.command(name="eval")
    def eval_(
        project: Path = typer.Argument(..., help="project folder (with baton.yml)"),
        data: Path = typer.Argument(..., help="TSV with columns text, intent, bot"),
        group: str = typer.Option(None, "--group", help="collaboration group (if several)"),
        tune_on: list[Path] = typer.Option(
            None,
            "--tune",
            help="validation TSV: tune thresholds and store them (repeat to add files; "
            "rows that are training examples are left out)",
        ),
        min_oos_recall: float = typer.Option(
            None,
            "--min-oos-recall",
            min=0.0,
            max=1.0,
            help="with --tune: best accuracy among gates reaching this out-of-scope recall",
        ),
        min_oos_precision: float = typer.Option(
            None,
            "--min-oos-precision",
            min=0.0,
            max=1.0,
            help="with --min-oos-recall: and this precision (at 20% out-of-scope traffic)",
        ),
        json_path: Path = typer.Option(None, "--json", help="write the report as JSON"),
        chart: Path = typer.Option(None, "--chart", help="write a chart (.html)"),
    ) -> None:
        """Bot and intent accuracy, out-of-scope recall/precision, confusion, latency."""
        loaded = _load(project)
        nlu = train_with_progress(loaded)
        try:
            if tune_on:
                rows, left_out = unseen(
                    [row for path in tune_on for row in read_rows(path)], _examples(loaded)
                )
                if left_out:
                    console.print(f"{left_out} tuning row(s) left out: training examples")
                if not rows:
                    raise ValueError("no tuning rows left: give rows the models were not taught")
                thresholds = tune(
                    nlu,
                    rows,
                    group,
                    min_oos_recall=min_oos_recall,
                    min_oos_precision=min_oos_precision,
                )
                path = save_thresholds(loaded.root, thresholds, loaded.bots)
                console.print(f"[green]ok[/] {thresholds.note}")
                console.print(f"thresholds written to {path} and bot.yml files")
                loaded = _load(project)
                nlu = train_project(loaded)
            report = evaluate(nlu, read_rows(data), group)
        except (KeyError, ValueError) as error:
            errors.print(f"[bold red]error[/] {error}")
            raise typer.Exit(1) from error
        console.print(report_table(report))
        if json_path is not None:
            json_path.write_text(json.dumps(report.as_dict(), indent=1), encoding="utf-8")
        if chart is not None:
            if chart.suffix.lower() not in (".html", ".htm"):
                errors.print("[bold red]error[/] --chart writes HTML: name the file .html")
                raise typer.Exit(1)
            chart.write_text(chart_html(report), encoding="utf-8")

    @app.command()
    def clashes(
        project: Path = typer.Argument(Path("."), help="project folder (with baton.yml)"),
    ) -> None:
        """Intents of different bots that the classifier confuses (cross-validated)."""
        found = find_clashes(_load(project))
        print_clashes(found)
        console.print(f"{len(found)} clash(es)")
