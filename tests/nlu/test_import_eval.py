from __future__ import annotations

import json
from pathlib import Path

import typer
import yaml
from typer.testing import CliRunner

from baton.cli.nlu_commands import register
from baton.nlu import load_thresholds, save_thresholds, train_project
from baton.nlu.clashes import find_clashes
from baton.nlu.data import Row, read_rows
from baton.nlu.evaluation import evaluate, tune
from baton.project import load_project
from baton.project.importer import import_rows, import_tsv
from baton.spec.project import Project
from tests.nlu.tiny import rows

OOS = [
    "what's the weather on mars",
    "tell me a joke",
    "who won the football yesterday",
    "translate hello into german",
]


def _tsv(path: Path, data: list[Row]) -> Path:
    lines = ["text\tintent\tbot"] + [f"{r.text}\t{r.intent}\t{r.bot}" for r in data]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_import_round_trip(tmp_path: Path) -> None:
    data = [*rows(), Row('say "hi" to Bob\'s team', "greet", "Front Desk")]
    data += [Row('Say  "HI" to Bob\'s team', "greet", "Front Desk")]  # the same, as check sees it
    data += [Row(text, "oos", "") for text in OOS]
    project = import_tsv(_tsv(tmp_path / "data.tsv", data), tmp_path / "proj", "demo")
    assert project.name == "demo"
    assert sorted(project.bots) == ["appointment", "billing", "front_desk"]
    assert [b for b, bot in project.bots.items() if bot.settings.primary] == ["appointment"]
    assert all(bot.settings.group == "all" for bot in project.bots.values())
    assert project.bots["front_desk"].intents["greet"].examples == ['say "hi" to Bob\'s team']
    assert len(project.bots["billing"].intents["refund"].examples) == 4
    assert not any("oos" in bot.intents for bot in project.bots.values())
    again = import_tsv(tmp_path / "data.tsv", tmp_path / "proj2", primary="billing")
    assert again.bots["billing"].settings.primary


def test_evaluate_report_and_tune(tiny: Project, tmp_path: Path) -> None:
    nlu = train_project(tiny, tmp_path / "cache")
    test_rows = [
        Row("I'd like to book a visit", "book", "appointment"),
        Row("please cancel my appointment tomorrow", "cancel", "appointment"),
        Row("give me a refund", "refund", "billing"),
        Row("what do I owe", "balance", "billing"),
        *[Row(text, "oos", "") for text in OOS],
    ]
    report = evaluate(nlu, test_rows, "all")
    assert report.rows == 8 and report.in_scope == 4 and report.out_of_scope == 4
    assert report.bot_accuracy >= 0.75 and report.oos_recall >= 0.75
    for value in (report.intent_accuracy, report.oos_precision, report.bot_accuracy_ungated):
        assert 0.0 <= value <= 1.0
    assert report.labels == ["appointment", "billing", "(none)"]
    assert sum(map(sum, report.confusion)) == 8
    assert set(report.per_bot) == {"appointment", "billing"}
    assert report.curve[0]["threshold"] == 0.0 and len(report.curve) > 10
    assert report.latency_p50_ms > 0 and report.latency_p95_ms >= report.latency_p50_ms
    json.dumps(report.as_dict())

    thresholds = tune(nlu, test_rows, "all")
    assert set(thresholds.groups) == {"all"} and set(thresholds.bots) == {"appointment", "billing"}
    save_thresholds(tiny.root, thresholds, tiny.bots)
    stored = load_thresholds(tiny.root)
    assert stored.groups["all"] == thresholds.groups["all"]
    bot_yml = yaml.safe_load((tiny.root / "bots" / "billing" / "bot.yml").read_text())
    assert bot_yml["threshold"] == round(thresholds.bots["billing"].threshold, 4)
    reloaded = train_project(load_project(tiny.root), tmp_path / "cache")
    assert reloaded.trained == []  # thresholds are not training data
    assert reloaded.for_group("all").gate == thresholds.groups["all"]


def test_clash_between_bots(tmp_path: Path) -> None:
    data = rows() + [
        Row(text, "payment", "front")
        for text in [
            "I want to pay my bill",
            "how do I pay the invoice",
            "pay my bill by card",
            "settle what I owe",
        ]
    ]
    data += [Row(t, "hello", "front") for t in ["hi there", "hello", "good morning", "hey"]]
    project = load_project(import_rows(data, tmp_path / "clash"))
    clashes = find_clashes(project)
    assert clashes, "the copied billing intent should clash"
    top = clashes[0]
    assert {top.first, top.second} == {"billing.pay", "front.payment"}
    assert top.pairs and top.suggestion in ("merge", "rename", "owner")
    assert set(top.bots) == {"billing", "front"}
    assert not any({c.first, c.second} & {"front.hello"} for c in clashes)
    # bots of another collaboration group never compete with these: no clash
    bot_file = tmp_path / "clash" / "bots" / "front" / "bot.yml"
    bot_file.write_text(
        bot_file.read_text(encoding="utf-8").replace("group: all", "group: other"),
        encoding="utf-8",
    )
    assert find_clashes(load_project(tmp_path / "clash")) == []


def test_clashes_on_a_tiny_new_project(tmp_path: Path) -> None:
    """Five examples: no crash, no clash guessed from nothing, a shared example reported."""
    data = [
        Row("what is my balance", "balance", "bank"),
        Row("show my balance", "balance", "bank"),
        Row("bye", "bye", "front"),
        Row("see you", "bye", "front"),
        Row("opening hours", "hours", "front"),
    ]
    assert find_clashes(load_project(import_rows(data, tmp_path / "five"))) == []
    data.append(Row("Opening  hours", "branch_hours", "bank"))
    clashes = find_clashes(load_project(import_rows(data, tmp_path / "six")))
    assert [(c.first, c.second, c.suggestion) for c in clashes] == [
        ("bank.branch_hours", "front.hours", "merge")
    ]
    assert clashes[0].pairs[0] == ("Opening  hours", "opening hours")
    assert clashes[0].places[0] == ("bots/bank/intents.yml:8", "bots/front/intents.yml:8")


def test_cli_import_train_eval(tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    data = _tsv(tmp_path / "train.tsv", rows())
    out = tmp_path / "proj"
    result = runner.invoke(app, ["import", str(data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["train", str(out)])
    assert result.exit_code == 0, result.output
    assert "3 model(s) trained" in result.output
    test = _tsv(
        tmp_path / "test.tsv",
        [Row("book a visit for me", "book", "appointment"), Row("tell me a joke", "oos", "")],
    )
    report, chart = tmp_path / "report.json", tmp_path / "chart.html"
    args = ["eval", str(out), str(test), "--tune", str(test), "--json", str(report)]
    result = runner.invoke(app, [*args, "--chart", str(chart)])
    assert result.exit_code == 0, result.output
    assert "bot accuracy" in result.output
    assert "only 1 out-of-scope tuning row(s)" in " ".join(result.output.split())
    assert json.loads(report.read_text())["rows"] == 2
    assert "<svg" in chart.read_text() and "http" not in chart.read_text().replace(
        "http://www.w3.org/2000/svg", ""
    )
    assert (out / "nlu.yml").is_file()
    assert read_rows(test)[1].in_scope is False
    bounds = ["--min-oos-recall", "1", "--min-oos-precision", "0.5"]
    result = runner.invoke(app, ["eval", str(out), str(test), "--tune", str(test), *bounds])
    assert result.exit_code == 0, result.output
    rule = "best in-scope accuracy with out-of-scope recall >= 1 and precision >= 0.5"
    assert rule in " ".join(result.output.split())
    assert rule in yaml.safe_load((out / "nlu.yml").read_text())["note"]
    assert "out-of-scope recall" in result.output
    result = runner.invoke(app, ["clashes", str(out)])
    assert result.exit_code == 0, result.output


def test_cli_tune_on_several_files_leaves_training_examples_out(tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    train = _tsv(tmp_path / "train.tsv", [*rows(), Row("tell me a joke", "oos", "")])
    out = tmp_path / "proj"
    assert runner.invoke(app, ["import", str(train), "--out", str(out)]).exit_code == 0
    val = _tsv(
        tmp_path / "val.tsv",
        [Row("book a visit for me", "book", "appointment"), Row("who won", "oos", "")],
    )
    # train.tsv again: its in-scope rows are the examples and are left out, its oos row stays
    result = runner.invoke(
        app, ["eval", str(out), str(val), "--tune", str(val), "--tune", str(train)]
    )
    assert result.exit_code == 0, result.output
    assert f"{len(rows())} tuning row(s) left out: training examples" in result.output
    assert "tuned on 3 rows" in yaml.safe_load((out / "nlu.yml").read_text())["note"]
    only_examples = _tsv(tmp_path / "examples.tsv", rows())
    result = runner.invoke(app, ["eval", str(out), str(val), "--tune", str(only_examples)])
    assert result.exit_code == 1
    assert "no in-scope tuning rows left" in result.output


def test_a_stale_nlu_yml_entry_is_reported_and_tuning_again_mends_it(tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    train = _tsv(tmp_path / "train.tsv", rows())
    out = tmp_path / "proj"
    assert runner.invoke(app, ["import", str(train), "--out", str(out)]).exit_code == 0
    (out / "nlu.yml").write_text(
        "groups:\n  all: {threshold: 0.5}\nbots:\n  front-desk: {threshold: 0.4}\n",
        encoding="utf-8",
    )
    test = _tsv(
        tmp_path / "test.tsv",
        [Row("book a visit for me", "book", "appointment"), Row("tell me a joke", "oos", "")],
    )
    result = runner.invoke(app, ["eval", str(out), str(test)])
    assert result.exit_code == 1
    said = " ".join(result.output.split())
    assert "nlu.yml:4" in said and "the project has no bot 'front-desk'" in said
    result = runner.invoke(app, ["eval", str(out), str(test), "--tune", str(test)])
    assert result.exit_code == 0, result.output
    tuned = yaml.safe_load((out / "nlu.yml").read_text())
    assert "front-desk" not in tuned["bots"] and tuned["engine"] == "tfidf-svc-3"


def test_import_refuses_a_text_labelled_with_two_intents_of_one_bot(tmp_path: Path) -> None:
    import pytest

    data = [*rows(), Row("Book me in for a  check-up", "cancel", "appointment")]
    with pytest.raises(ValueError, match="labelled with two intents of one bot") as raised:
        import_rows(data, tmp_path / "two")
    assert "bot appointment, intent book, intent cancel" in str(raised.value)
    assert not (tmp_path / "two").exists()
    data_file = _tsv(tmp_path / "two.tsv", data)
    with pytest.raises(ValueError) as raised:
        import_tsv(data_file, tmp_path / "two")
    said = str(raised.value)
    assert (
        f"intent book ({data_file}:6)" in said
        and f"intent cancel ({data_file}:{len(data) + 1})" in said
    )


def test_import_keeps_names_apart_and_reads_excel_quoting(tmp_path: Path) -> None:
    data = tmp_path / "names.tsv"
    data.write_text(
        "text\tintent\tbot\n"
        "お支払い\tpay\t請求\n"
        "ネットが繋がらない\tinternet_down\t技術サポート\n"
        "Zahlung bitte\tzahlen\tÜberweisung\n"
        '"the router says ""no signal"""\tinternet_down\t技術サポート\n',
        encoding="utf-8",
    )
    project = import_tsv(data, tmp_path / "out")
    names = {bot.settings.name for bot in project.bots.values()}
    assert names == {"請求", "技術サポート", "Überweisung"}
    assert "uberweisung" in project.bots and len(project.bots) == 3
    [support] = [b for b in project.bots.values() if b.settings.name == "技術サポート"]
    assert support.intents["internet_down"].examples[-1] == 'the router says "no signal"'


def test_cli_import_never_overwrites_a_project_unasked(tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    out = tmp_path / "proj"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    data = _tsv(tmp_path / "d.tsv", [*rows(), Row("hello there", "Greet", "Front-Desk")])
    data.write_text(data.read_text(encoding="utf-8") + "hi\tgreet\tFront Desk\n", encoding="utf-8")
    result = runner.invoke(app, ["import", str(data), "--out", str(out)])
    assert result.exit_code == 1 and "is not empty" in " ".join(result.output.split())
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    result = runner.invoke(app, ["import", str(data), "--out", str(out), "--force"])
    assert result.exit_code == 0, result.output
    assert "'Front Desk', 'Front-Desk' all become bot front_desk" in result.output
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"  # other files stay
    assert (out / "bots" / "front_desk" / "intents.yml").is_file()
    (out / "nlu.yml").write_text("groups: {}\n", encoding="utf-8")
    data.write_text(data.read_text(encoding="utf-8") + "hi\tgreet\tFront Desk\nrain?\toos\t\n")
    args = ["import", str(data), "--out", str(out), "--force", "--primary", "front_desk"]
    result = runner.invoke(app, args)
    summary = " ".join(result.output.split())
    assert result.exit_code == 0 and "primary bot front_desk" in summary, summary
    assert "choose with --primary" not in summary  # it was chosen
    assert "1 out-of-scope row(s) skipped" in summary and "1 repeated row(s)" in summary
    assert "nlu.yml kept: its gates were tuned for the earlier data; tune again" in summary


def test_cli_eval_checks_its_inputs_before_training(tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    out = tmp_path / "proj"
    assert (
        runner.invoke(
            app, ["import", str(_tsv(tmp_path / "t.tsv", rows())), "--out", str(out)]
        ).exit_code
        == 0
    )
    test = _tsv(tmp_path / "test.tsv", [Row("book a visit", "book", "appointment")])
    cases = [
        (["eval", str(out), str(tmp_path / "nope.tsv")], "no such file"),
        (["eval", str(out), str(test), "--tune", str(test)], "hold no out-of-scope row"),
        (
            ["eval", str(out), str(test), "--json", str(tmp_path / "no" / "r.json")],
            "does not exist",
        ),
        (["eval", str(out), str(test), "--chart", str(tmp_path / "c.png")], "writes HTML"),
        (["eval", str(out), str(test), "--min-oos-recall", "0.8"], "go with --tune"),
    ]
    for args, message in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 1, (args, result.output)
        assert message in " ".join(result.output.split()), (args, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not (out / ".baton").exists()  # nothing was trained
    assert not (out / "nlu.yml").exists()  # nothing was written
    unknown = _tsv(tmp_path / "u.tsv", [Row("hi", "greet", "front"), Row("sky", "oos", "")])
    result = runner.invoke(app, ["eval", str(out), str(unknown)])
    assert result.exit_code == 0, result.output
    assert "u.tsv:2: bot front is not in the project" in result.output


def test_a_shared_example_is_named_once_with_advice_that_fits(tmp_path: Path) -> None:
    data = [*rows(), Row("cancel my appointment", "pay", "billing")]
    clashes = find_clashes(load_project(import_rows(data, tmp_path / "shared")))
    [clash] = [c for c in clashes if {c.first, c.second} == {"appointment.cancel", "billing.pay"}]
    assert clash.suggestion == "owner"
    assert clash.advice.startswith(
        "pick an owner: appointment.cancel and billing.pay share the example "
        "'cancel my appointment' word for word"
    )
    assert len(clash.pairs) == len(set(clash.pairs))


def test_tuning_one_group_keeps_the_other_groups_gates(tmp_path: Path) -> None:
    """``--group support`` replaced nlu.yml whole: group ``all`` and its bots lost their
    tuned gates, so a project of two groups could never have both tuned."""
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    out = tmp_path / "proj"
    assert runner.invoke(app, ["import", str(_tsv(tmp_path / "t.tsv", rows())), "--out", str(out)])
    bot_file = out / "bots" / "billing" / "bot.yml"
    bot_file.write_text(bot_file.read_text().replace("group: all", "group: support"))
    val = _tsv(
        tmp_path / "val.tsv",
        [
            Row("book a visit for me", "book", "appointment"),
            Row("I want my money back please", "refund", "billing"),
            *(Row(text, "oos", "") for text in OOS),
        ],
    )
    for group in ("all", "support"):
        result = runner.invoke(
            app, ["eval", str(out), str(val), "--tune", str(val), "--group", group]
        )
        assert result.exit_code == 0, result.output
        said = " ".join(result.output.split())
        assert "1 test row(s) of bots outside group" in said  # the other group's row
    tuned = yaml.safe_load((out / "nlu.yml").read_text())
    assert sorted(tuned["groups"]) == ["all", "support"]
    assert sorted(tuned["bots"]) == ["appointment", "billing"]


def test_per_bot_figures_with_nothing_to_measure_are_none(tiny: Project, tmp_path: Path) -> None:
    nlu = train_project(tiny, tmp_path / "cache")
    report = evaluate(nlu, [Row(text, "oos", "") for text in OOS])
    assert all(s.recall is None and s.support == 0 for s in report.per_bot.values())


def test_eval_matches_an_intent_named_in_capitals(tmp_path: Path) -> None:
    """``Row.qualified`` slugs the intent, so a project's ``sayHello`` was never right."""
    project = import_rows(rows(), tmp_path / "p", "caps")
    for name in ("intents.yml", "flows.yml"):
        path = project / "bots" / "billing" / name
        path.write_text(path.read_text().replace("refund:", "askRefund:"))
    nlu = train_project(load_project(project), tmp_path / "cache")
    report = evaluate(nlu, [Row("I want my money back please", "askRefund", "billing")])
    assert report.intent_accuracy_ungated == 1.0


def test_import_force_sets_aside_gates_for_bots_the_new_data_lacks(tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    out = tmp_path / "proj"
    assert runner.invoke(app, ["import", str(_tsv(tmp_path / "t.tsv", rows())), "--out", str(out)])
    (out / "nlu.yml").write_text("groups:\n  all: {threshold: 0.5}\nbots:\n  billing: {}\n")
    fewer = _tsv(tmp_path / "fewer.tsv", [r for r in rows() if r.bot != "billing"])
    result = runner.invoke(app, ["import", str(fewer), "--out", str(out), "--force"])
    assert result.exit_code == 0, result.output
    assert "nlu.yml moved to nlu.yml.old" in " ".join(result.output.split())
    assert (out / "nlu.yml.old").is_file() and not (out / "nlu.yml").exists()
    assert runner.invoke(app, ["train", str(out)]).exit_code == 0


def test_an_intent_in_a_script_its_id_cant_spell_keeps_its_label(tmp_path: Path) -> None:
    """ "退款" and "发票" became x_f1c91e1d and x_a1523656, and nothing in the project said
    which was which."""
    data = tmp_path / "zh.tsv"
    data.write_text(
        "text\tintent\tbot\n我要退款\t退款\t客服\n开发票\t发票\t客服\nhello there\tGreet\t客服\n",
        encoding="utf-8",
    )
    project = import_tsv(data, tmp_path / "out")
    [bot] = project.bots.values()
    labels = {spec.description for spec in bot.intents.values()}
    assert labels == {"退款", "发票", ""}  # an id that spells its label needs none
    said = (tmp_path / "out" / "bots" / bot.bot_id / "flows.yml").read_text(encoding="utf-8")
    assert f"({bot.bot_id}.退款)" in said and f"({bot.bot_id}.greet)" in said
