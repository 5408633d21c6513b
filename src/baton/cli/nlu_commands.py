"""``baton train``, ``baton import``, ``baton eval`` and ``baton clashes``."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from baton.cli.chart import chart_html, precision_text
from baton.cli.output import console, fail, print_problems
from baton.domain.errors import ProjectInvalid
from baton.nlu import ProjectNlu, Thresholds, save_thresholds, train_project
from baton.nlu.clashes import Clash, find_clashes
from baton.nlu.data import SHOWN_PROBLEMS, Row, read_rows, slug, unseen
from baton.nlu.evaluation import Report, evaluate, tune
from baton.nlu.project import bot_training_data, default_cache_dir
from baton.nlu.thresholds import THRESHOLDS_FILE, load_project_thresholds
from baton.project.importer import STALE_THRESHOLDS
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


def train_with_progress(project: Project, retuning: bool = False) -> ProjectNlu:
    """Train (or reuse) every model of a project, with a Rich progress bar.

    ``retuning``: the project's ``nlu.yml`` is about to be replaced, so it is not read (a
    stale or broken one must not stop the tuning that mends it)."""
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

        try:
            thresholds = Thresholds() if retuning else None
            return train_project(project, progress=progress, thresholds=thresholds)
        except ProjectInvalid as invalid:  # nlu.yml
            print_problems(invalid.problems)
            raise typer.Exit(1) from invalid


def print_clashes(clashes: list[Clash]) -> None:
    """One block per clash: the two intents, how often confused, example pairs, advice."""
    for clash in clashes:
        console.print(
            f"[yellow]clash[/] {clash.first} ↔ {clash.second}: {clash.confusions} of "
            f"{clash.examples} examples confused ({clash.rate:.0%})"
        )
        for (mine, theirs), (here, there) in zip(clash.pairs, clash.places, strict=True):
            console.print(f"    “{mine}” ({here}) ~ “{theirs}” ({there})", markup=False)
        files = " and ".join(f"bots/{bot}/intents.yml" for bot in clash.bots)
        console.print(f"    [green]suggestion:[/] {escape(clash.advice)} (in {escape(files)})")


#: fewer out-of-scope tuning rows than this and the tuned gate is noise (a recall measured
#: on 20 rows has a standard error of ~9 points)
FEW_OOS_ROWS = 20


def _message(error: Exception) -> str:
    """An error's text (a KeyError's str() would quote it)."""
    return str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)


def _rate(value: float, rows: int) -> str:
    """A rate, or n/a when the data has no rows it could be measured on."""
    return f"{value:.2%}" if rows else "n/a (no such rows)"


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _import_notes(rows: list[Row], out: Path, had_gates: bool) -> list[str]:
    """What the import left out, and what it left in place, for the summary."""
    notes = []
    oos = sum(1 for row in rows if not row.in_scope)
    if oos:
        notes.append(f"{oos} out-of-scope row(s) skipped: they are not training data")
    # as import keys them: case and spacing aside
    taught = {(r.bot, slug(r.intent), " ".join(r.text.lower().split())) for r in rows if r.in_scope}
    repeated = sum(1 for r in rows if r.in_scope) - len(taught)
    if repeated:
        notes.append(
            f"{repeated} repeated row(s) written once (the same text for the same intent, "
            "case and spacing aside)"
        )
    tune_again = "tune again (baton eval DIR DATA.tsv --tune VAL.tsv)"
    if (out / THRESHOLDS_FILE).exists():
        notes.append(
            f"{THRESHOLDS_FILE} kept: its gates were tuned for the earlier data; {tune_again}"
        )
    elif had_gates:
        aside = max(out.glob(f"{STALE_THRESHOLDS}*"), key=lambda p: p.stat().st_mtime)
        notes.append(
            f"{THRESHOLDS_FILE} moved to {aside.name}: its gates named bots the new "
            f"data lacks, and the project would not load with it; {tune_again}"
        )
    return notes


def _group_name(project: Project, group: str | None) -> str:
    """The collaboration group to measure: ``group``, or the project's only one."""
    groups = sorted({b.settings.group for b in project.bots.values() if b.settings.group})
    if group is not None:
        if group not in groups:
            raise KeyError(f"no collaboration group '{group}' (groups: {', '.join(groups)})")
        return group
    if len(groups) != 1:
        raise KeyError(
            f"name the group to evaluate (--group); the project has: {', '.join(groups)}"
        )
    return groups[0]


def _members(project: Project, group: str) -> list[str]:
    return sorted(b.bot_id for b in project.bots.values() if b.settings.group == group)


def _in_group(project: Project, group: str, rows: list[Row], kind: str) -> list[Row]:
    """The rows the group's index is measured on: out-of-scope ones, and those of its
    bots; rows of the project's other bots are left out, and said so (counted, they
    were errors no gate could mend)."""
    members = set(_members(project, group))
    outside = [r for r in rows if r.in_scope and r.bot in project.bots and r.bot not in members]
    if outside:
        bots = ", ".join(sorted({r.bot for r in outside}))
        console.print(
            f"{len(outside)} {kind} row(s) of bots outside group {escape(group)} left out "
            f"({escape(bots)}; measure their group with --group)"
        )
    return [r for r in rows if not (r.in_scope and r.bot in project.bots) or r.bot in members]


def _other_gates(project: Project, engine: str, group: str, members: list[str]) -> Thresholds:
    """The gates of ``nlu.yml`` that tuning ``group`` leaves as they are: the other
    groups' and their bots'. None when the file can't be kept (it names a bot the project
    lost, or was tuned for another engine): then it is written anew, and said so."""
    try:
        old = load_project_thresholds(project, engine)
    except ProjectInvalid as invalid:
        first = invalid.problems[0]
        console.print(
            f"[yellow]note[/] {THRESHOLDS_FILE} is written anew, without its other gates: "
            f"{escape(first.message)}"
        )
        return Thresholds()
    return Thresholds(
        bots={b: gate for b, gate in old.bots.items() if b not in members},
        groups={g: gate for g, gate in old.groups.items() if g != group},
    )


def _unknown_labels(project: Project, rows: list[Row]) -> list[str]:
    """Bots and intents the data names that the project lacks (they can only be errors),
    each with its first row and the closest name the project has."""
    known = sorted(bot.qualified(name) for bot in project.bots.values() for name in bot.intents)
    named = {f"{bot.bot_id}.{slug(name)}" for bot in project.bots.values() for name in bot.intents}
    first: dict[str, Row] = {}
    for row in rows:
        if not row.in_scope:
            continue
        if row.bot not in project.bots:
            first.setdefault(f"bot {row.bot}", row)
        elif row.qualified not in named:
            first.setdefault(f"intent {row.qualified}", row)
    found = []
    for name, row in list(first.items())[:SHOWN_PROBLEMS]:
        kind, _, label = name.partition(" ")
        options = project.bots if kind == "bot" else known
        close = difflib.get_close_matches(label, list(options), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else ""
        found.append(f"{row.where or 'a row'}: {kind} {label} is not in the project{hint}")
    if len(first) > SHOWN_PROBLEMS:
        found.append(f"... and {len(first) - SHOWN_PROBLEMS} more bot(s) or intent(s)")
    return found


def report_table(report: Report) -> Table:
    """The headline figures and per-bot precision/recall as a Rich table."""
    table = Table(title=f"group {report.group}: {report.rows} utterances")
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows = [
        ("bot accuracy (in scope)", _rate(report.bot_accuracy, report.in_scope)),
        ("intent accuracy (in scope)", _rate(report.intent_accuracy, report.in_scope)),
        ("bot accuracy, no OOS gate", _rate(report.bot_accuracy_ungated, report.in_scope)),
        ("intent accuracy, no OOS gate", _rate(report.intent_accuracy_ungated, report.in_scope)),
        ("out-of-scope recall", _rate(report.oos_recall, report.out_of_scope)),
        ("out-of-scope precision", precision_text(report)),
        ("latency p50 / p95", f"{report.latency_p50_ms:.2f} / {report.latency_p95_ms:.2f} ms"),
        ("gate", _gate_text(report.gate)),
    ]
    for name, value in rows:
        table.add_row(name, value)
    for bot, score in report.per_bot.items():
        table.add_row(
            f"  {bot}",
            f"P {_share(score.precision)}  R {_share(score.recall)}  n={score.support}",
        )
    return table


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
            f"{len(nlu.reused)} reused from {default_cache_dir(loaded)}"
        )

    @app.command(name="import")
    def import_(
        data: Path = typer.Argument(..., help="TSV with columns text, intent, bot"),
        out: Path = typer.Option(..., "--out", help="project folder to create (new or empty)"),
        name: str = typer.Option(None, "--name", help="project name (default: the folder's)"),
        primary: str = typer.Option(None, "--primary", help="primary bot (default: first)"),
        force: bool = typer.Option(
            False, "--force", help="write over a non-empty folder (its baton.yml and bots/)"
        ),
    ) -> None:
        """Create a project from labelled data: one bot per value of the bot column."""
        from baton.project import load_project
        from baton.project.importer import import_rows, merged_names

        try:
            rows = read_rows(data)  # read once: the notes and the import use the same rows
            had_gates = (out / THRESHOLDS_FILE).exists()
            for merged in merged_names(rows):
                console.print(f"[yellow]note[/] {escape(merged)}")
            project = load_project(import_rows(rows, out, name, primary, force=force))
        except (ValueError, OSError) as error:
            fail(str(error))
        except ProjectInvalid as invalid:
            print_problems(invalid.problems)
            raise typer.Exit(1) from invalid
        intents = sum(len(b.intents) for b in project.bots.values())
        first = next(b for b in project.bots.values() if b.settings.primary)
        console.print(
            f"[green]ok[/] {out}: {len(project.bots)} bot(s), {intents} intent(s); "
            f"primary bot {escape(first.bot_id)}"
            + ("" if primary else " (the first by name; choose with --primary)")
        )
        for line in _import_notes(rows, out, had_gates):
            console.print(f"  {escape(line)}")

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
        try:  # the inputs are checked before anything is trained or written
            if chart is not None and chart.suffix.lower() not in (".html", ".htm"):
                raise ValueError("--chart writes HTML: name the file .html")
            for path in (json_path, chart):
                if path is not None and not path.parent.is_dir():
                    raise ValueError(f"{path}: folder {path.parent} does not exist")
                if path is not None and path.is_dir():
                    raise ValueError(f"{path} is a folder; name a file")
            if (min_oos_recall is not None or min_oos_precision is not None) and not tune_on:
                raise ValueError("--min-oos-recall and --min-oos-precision go with --tune")
            if not any(bot.settings.group for bot in loaded.bots.values()):
                raise ValueError(
                    "the project has no collaboration group (group: in bot.yml); baton eval "
                    "measures a group's cross-bot index"
                )
            name = _group_name(loaded, group)
            test_rows = _in_group(loaded, name, read_rows(data), "test")
            tuning: list[Row] = []
            if tune_on:
                tuning, left_out = unseen(
                    _in_group(loaded, name, [r for p in tune_on for r in read_rows(p)], "tuning"),
                    _examples(loaded),
                )
                if left_out:
                    console.print(f"{left_out} tuning row(s) left out: training examples")
                if not any(row.in_scope for row in tuning):
                    raise ValueError(
                        "no in-scope tuning rows left: give rows the models were not taught"
                        if left_out
                        else "the tuning rows hold no in-scope row: give rows of the "
                        "project's intents besides the out-of-scope ones"
                    )
                outside = sum(not row.in_scope for row in tuning)
                if 0 < outside < FEW_OOS_ROWS:
                    console.print(
                        f"[yellow]warning[/] only {outside} out-of-scope tuning row(s): the "
                        f"gate will be a rough guess (give {FEW_OOS_ROWS} or more)"
                    )
                if all(row.in_scope for row in tuning):
                    raise ValueError(
                        "the tuning rows hold no out-of-scope row (intent oos): without them "
                        "the gate would be tuned to accept everything; add messages no bot "
                        "should take"
                    )
            unknown = _unknown_labels(loaded, test_rows + tuning)
            for problem in unknown:
                console.print(f"[yellow]warning[/] {escape(problem)}")
            if unknown:
                console.print("  (rows of a bot or intent the project lacks count as errors)")
            _, taught = unseen(test_rows, _examples(loaded))
            if taught:
                console.print(
                    f"[yellow]warning[/] {taught} of {len(test_rows)} test row(s) are training "
                    "examples: the models were taught them, so the figures are inflated; "
                    "evaluate on rows the project was not imported from"
                )
        except (KeyError, ValueError) as error:
            fail(_message(error))
        nlu = train_with_progress(loaded, retuning=bool(tune_on))
        try:
            if tune_on:
                members = _members(loaded, name)
                thresholds = tune(
                    nlu,
                    tuning,
                    name,
                    min_oos_recall=min_oos_recall,
                    min_oos_precision=min_oos_precision,
                    keep=_other_gates(loaded, nlu.engine, name, members),
                )
                tuned = {bot_id: loaded.bots[bot_id] for bot_id in members}
                path = save_thresholds(loaded.root, thresholds, tuned)
                unmet = "no gate reaches" in thresholds.note
                mark = "[yellow]warning[/]" if unmet else "[green]ok[/]"
                console.print(f"{mark} {escape(thresholds.note)}")
                console.print(f"thresholds written to {path} and bot.yml files")
                loaded = _load(project)
                nlu = train_project(loaded)
            report = evaluate(nlu, test_rows, name)
        except (KeyError, ValueError) as error:
            fail(_message(error))
        console.print(report_table(report))
        if json_path is not None:
            json_path.write_text(json.dumps(report.as_dict(), indent=1), encoding="utf-8")
            console.print(f"report written to {json_path}")
        if chart is not None:
            chart.write_text(chart_html(report), encoding="utf-8")
            console.print(f"chart written to {chart}")

    @app.command()
    def clashes(
        project: Path = typer.Argument(Path("."), help="project folder (with baton.yml)"),
    ) -> None:
        """Intents of different bots that the classifier confuses (cross-validated)."""
        found = find_clashes(_load(project))
        print_clashes(found)
        console.print(f"{len(found)} clash(es)")
