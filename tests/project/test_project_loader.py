from collections.abc import Callable
from pathlib import Path

import pytest

from baton.domain.errors import Problem, ProjectInvalid
from baton.project import load_project

from .conftest import Files, write_project

Run = Callable[[Files], list[Problem]]
CLINIC = Path(__file__).parent / "fixtures" / "clinic"


def test_fixture_project_loads() -> None:
    project = load_project(CLINIC)
    assert project.name == "clinic"
    assert sorted(project.bots) == ["assessment", "booking", "reception"]
    reception = project.bots["reception"]
    assert reception.responses == {
        "hello": ["Hi, welcome to the clinic.", "Hello! This is the clinic."]
    }
    assert reception.flow_for_intent("book") == "to_booking"
    assert reception.flow_for_intent("feeling_low") == "feeling_low"
    assert project.primary_for("web") is reception
    assert project.bots["booking"].settings.slots["day"].type == "date"


def test_single_response_becomes_a_list(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"bots/main/responses.yml": "responses:\n  hi: Hello\n"})
    assert load_project(root).bots["main"].responses == {"hi": ["Hello"]}


def test_empty_optional_file_is_fine(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"bots/main/intents.yml": ""})
    assert load_project(root).bots["main"].intents == {}


def test_missing_baton_yml(problems: Run, tmp_path: Path) -> None:
    assert problems({"baton.yml": None}) == [
        Problem(
            "baton.yml",
            0,
            f"no baton.yml in {tmp_path}",
            "create baton.yml with at least `name: my-project`",
        )
    ]


def test_baton_yaml_is_named_in_the_fix(problems: Run) -> None:
    [problem] = problems({"baton.yml": None, "baton.yaml": "name: x\n"})
    assert problem.fix == "rename baton.yaml to baton.yml"


def test_unknown_key_with_a_close_match(problems: Run) -> None:
    assert problems({"bots/main/bot.yml": "name: Main\nprimay: true\n"}) == [
        Problem(
            "bots/main/bot.yml", 2, "unknown key 'primay' in bot.yml", "did you mean 'primary'?"
        )
    ]


def test_unknown_key_lists_the_allowed_keys(problems: Run) -> None:
    [problem] = problems({"baton.yml": "name: x\nsettings:\n  port: 1\n  zzz: 2\n"})
    assert (problem.file, problem.line) == ("baton.yml", 4)
    assert problem.message == "unknown key 'zzz' in 'settings'"
    assert problem.fix.startswith("allowed keys here: 'action_timeout_seconds', 'database_url'")


def test_missing_required_key(problems: Run) -> None:
    assert problems({"bots/main/bot.yml": "primary: true\n"}) == [
        Problem(
            "bots/main/bot.yml",
            1,
            "missing required key 'name' in bot.yml",
            "add `name: ...` (display name)",
        )
    ]


def test_wrong_type(problems: Run) -> None:
    bot = "name: Main\nprimary: true\nstart_flow: hello\nthreshold: abc\n"
    assert problems({"bots/main/bot.yml": bot}) == [
        Problem(
            "bots/main/bot.yml",
            4,
            "wrong value for 'threshold': expected a number, got 'abc'",
            "write a number for 'threshold'",
        )
    ]


def test_literal_lists_allowed_values(problems: Run) -> None:
    bot = "name: Main\nprimary: true\nhistory:\n  policy: everything\n"
    assert problems({"bots/main/bot.yml": bot}) == [
        Problem(
            "bots/main/bot.yml",
            4,
            "'everything' is not allowed for 'history.policy'",
            "use one of: 'full', 'last', 'none', 'summary'",
        )
    ]


def test_literal_with_a_close_match(problems: Run) -> None:
    [problem] = problems({"bots/main/bot.yml": "name: Main\nprimary: true\nmode: sugest\n"})
    assert (problem.line, problem.fix) == (3, "did you mean 'suggest'?")


def test_number_out_of_range(problems: Run) -> None:
    [problem] = problems({"bots/main/bot.yml": "name: Main\nprimary: true\nthreshold: 3\n"})
    assert problem.line == 3
    assert problem.message == (
        "wrong value for 'threshold': must be less than or equal to 1, got 3"
    )
    assert problem.fix == "write a number less than or equal to 1 for 'threshold'"


FLOWS = """\
flows:
  hello:
    steps:
      - say: Hi
      - sya: oops
      - say: Bye
        extra: 1
      - ask:
          slot: x
          promt: Which?
      - action:
          nme: lookup
      - just words
"""


def test_flow_step_errors_point_at_their_lines(problems: Run) -> None:
    assert problems({"bots/main/flows.yml": FLOWS}) == [
        Problem("bots/main/flows.yml", 5, "unknown step kind 'sya'", "did you mean 'say'?"),
        Problem(
            "bots/main/flows.yml",
            7,
            "unknown key 'extra' in a 'say' step",
            "allowed keys here: 'say'",
        ),
        Problem(
            "bots/main/flows.yml",
            8,
            "missing required key 'prompt' under 'flows.hello.steps[3].ask'",
            "add `prompt: ...`",
        ),
        Problem(
            "bots/main/flows.yml",
            10,
            "unknown key 'promt' in 'flows.hello.steps[3].ask'",
            "did you mean 'prompt'?",
        ),
        Problem(
            "bots/main/flows.yml",
            11,
            "missing required key 'name' under 'flows.hello.steps[4].action'",
            "add `name: ...`",
        ),
        Problem(
            "bots/main/flows.yml",
            12,
            "unknown key 'nme' in 'flows.hello.steps[4].action'",
            "did you mean 'name'?",
        ),
        Problem(
            "bots/main/flows.yml",
            13,
            "a step must be a mapping, got 'just words'",
            "to send this text, write `- say: just words`; a step starts with one of: "
            "say, ask, set, branch, action, fire, transfer, call, return, escalate, end",
        ),
    ]


def test_two_steps_in_one_item(problems: Run) -> None:
    flows = "flows:\n  hello:\n    steps:\n      - say: Hi\n        ask: {slot: x, prompt: y}\n"
    assert problems({"bots/main/flows.yml": flows}) == [
        Problem(
            "bots/main/flows.yml",
            5,
            "unknown key 'ask' in a 'say' step",
            "one step per list item: start 'ask' on its own line with '- ask:'",
        )
    ]


def test_union_value_of_the_wrong_type(problems: Run) -> None:
    flows = "flows:\n  hello:\n    steps:\n      - say: {text: Hi}\n"
    assert problems({"bots/main/flows.yml": flows}) == [
        Problem(
            "bots/main/flows.yml",
            4,
            "wrong value for 'flows.hello.steps[0].say': expected text or a list of texts, "
            "got a mapping",
            "write text or a list of texts for 'flows.hello.steps[0].say'",
        )
    ]


def test_file_that_is_not_a_mapping(problems: Run) -> None:
    assert problems({"bots/main/intents.yml": "- greet\n"}) == [
        Problem(
            "bots/main/intents.yml",
            1,
            "intents.yml must be a mapping, got a list",
            "start intents.yml with keys, e.g. `name: ...`",
        )
    ]


def test_invalid_bot_folder_name(problems: Run) -> None:
    assert problems({"bots/Front-Desk/bot.yml": "name: Desk\n"}) == [
        Problem(
            "bots/Front-Desk",
            0,
            "bot folder name 'Front-Desk' is not a valid bot id",
            "rename it to 'front_desk': lower-case letters, digits, '_'",
        )
    ]


def test_unknown_file_in_bot_folder(problems: Run) -> None:
    assert problems({"bots/main/flow.yml": "flows: {}\n", "bots/main/README.md": "hi"}) == [
        Problem(
            "bots/main/flow.yml",
            0,
            "unknown file",
            "rename it to flows.yml; a bot folder holds bot.yml, intents.yml, flows.yml, "
            "responses.yml, and tests/ (stories)",
        )
    ]


def test_bot_folder_without_bot_yml(problems: Run) -> None:
    assert problems({"bots/other/flows.yml": "flows: {}\n"}) == [
        Problem(
            "bots/other/bot.yml",
            0,
            "bots/other has no bot.yml",
            "create bots/other/bot.yml with at least `name: ...`",
        )
    ]


def test_every_problem_in_every_file_is_reported(problems: Run) -> None:
    found = problems(
        {
            "baton.yml": "name: x\nchanels: [web]\n",
            "bots/main/bot.yml": "name: Main\nprimary: true\nname: Again\n",
            "bots/main/intents.yml": "intents:\n  hi:\n    examples: []\n",
            "bots/other/bot.yml": "name: Other\nkind: llm\n",
            "bots/other/flows.yml": "flows:\n  a:\n    steps:\n      - say: [unclosed\n",
        }
    )
    assert [(p.file, p.line) for p in found] == [
        ("baton.yml", 2),
        ("bots/main/bot.yml", 3),
        ("bots/main/intents.yml", 3),
        ("bots/other/bot.yml", 2),
        ("bots/other/flows.yml", 5),
    ]
    assert found[0].fix == "did you mean 'channels'?"
    assert found[2].message == "'intents.hi.examples' needs at least 1 item(s), got none"
    assert found[3].message == "'llm' is not allowed for 'kind'"


def test_texts_said_to_the_user_may_not_be_empty(problems: Run) -> None:
    found = problems(
        {
            "bots/main/flows.yml": (
                "flows:\n  hello:\n    steps:\n      - say: []\n      - say: ''\n"
                "      - ask: {slot: name, prompt: ' '}\n"
            ),
            "bots/main/responses.yml": "responses:\n  welcome: [hi, '']\n",
            "bots/main/intents.yml": "intents:\n  hi:\n    examples:\n      - hello\n      - ' '\n",
        }
    )
    assert [(p.file, p.line, p.message) for p in found] == [
        ("bots/main/flows.yml", 4, "'flows.hello.steps[0].say' needs at least 1 item(s), got none"),
        (
            "bots/main/flows.yml",
            5,
            "'flows.hello.steps[1].say' is an empty text: the user would get a blank message",
        ),
        (
            "bots/main/flows.yml",
            6,
            "'flows.hello.steps[2].ask.prompt' is an empty text: "
            "the user would get a blank message",
        ),
        (
            "bots/main/intents.yml",
            5,
            "'intents.hi.examples[1]' is an empty example: it teaches the classifier nothing",
        ),
        (
            "bots/main/responses.yml",
            2,
            "'responses.welcome[1]' is an empty text: the user would get a blank message",
        ),
    ]


def test_a_step_setting_written_beside_the_step_is_told_to_indent(problems: Run) -> None:
    found = problems(
        {
            "bots/main/bot.yml": "name: Main\nprimary: true\nstart_flow: hello\n"
            "slots:\n  x: {type: text}\n",
            "bots/main/flows.yml": (
                "flows:\n  hello:\n    steps:\n      - ask:\n          slot: x\n"
                "          prompt: hi\n        max_retries: 2\n"
            ),
        }
    )
    assert [(p.line, p.message, p.fix) for p in found] == [
        (
            7,
            "unknown key 'max_retries' in an 'ask' step",
            "indent 'max_retries' under 'ask:', with the step's other settings",
        )
    ]


def test_a_bare_step_kind_is_told_its_colon(problems: Run) -> None:
    found = problems(
        {"bots/main/flows.yml": "flows:\n  hello:\n    steps:\n      - say: Hi\n      - end\n"}
    )
    assert [(p.line, p.fix) for p in found] == [(5, "'end' is a step kind: write `- end: true`")]


def test_a_language_that_is_no_code_or_a_time_not_hh_mm_says_what_to_write(
    problems: Run,
) -> None:
    found = problems(
        {
            "bots/main/bot.yml": "name: Main\nprimary: true\nlanguage: english\n",
            "workflows/open.yml": (
                "trigger: {message_received: {}}\n"
                "conditions: {time: {after: '9:00'}}\n"
                "actions: [{send: hi}]\n"
            ),
        }
    )
    assert [(p.file, p.line, p.message, p.fix) for p in found] == [
        (
            "bots/main/bot.yml",
            3,
            "wrong value for 'language': 'english' is not a language code",
            "write one such as en, es or pt-BR",
        ),
        (
            "workflows/open.yml",
            2,
            "'conditions.time.after' is not a time of day as HH:MM, got '9:00'",
            "write '09:00' (two digits each)",
        ),
    ]


def test_a_database_url_the_store_cannot_open_is_a_problem(problems: Run) -> None:
    found = problems({"baton.yml": "name: p\nsettings:\n  database_url: mysql://x/db\n"})
    assert [(p.file, p.line, p.message, p.fix) for p in found] == [
        (
            "baton.yml",
            3,
            "wrong value for 'settings.database_url': Baton keeps its data in SQLite or "
            "PostgreSQL, not mysql",
            "write sqlite:///path/to/baton.db or postgresql://user@host/db, or leave it empty",
        )
    ]


def test_a_bots_folder_is_named_with_the_project_it_belongs_to(tmp_path: Path) -> None:
    """`baton test` run inside a bot's folder told the team to create a baton.yml there."""
    root = tmp_path / "shop"
    (root / "bots" / "billing").mkdir(parents=True)
    (root / "baton.yml").write_text("name: shop\n")
    (root / "bots" / "billing" / "bot.yml").write_text("name: Billing\nprimary: true\n")
    with pytest.raises(ProjectInvalid) as raised:
        load_project(root / "bots" / "billing")
    [problem] = raised.value.problems
    assert problem.fix.startswith(f"this is bot 'billing' of the project at {root.resolve()}")
    with pytest.raises(ProjectInvalid) as raised:  # the bots folder itself (an IndexError)
        load_project(root / "bots")
    [problem] = raised.value.problems
    assert problem.fix.startswith(f"this is the folder bots of the project at {root.resolve()}")
