from collections.abc import Callable
from pathlib import Path

from baton.domain.errors import Problem
from baton.project import check_project, load_project
from baton.project.loader import read_project

from .conftest import Files, write_project

Run = Callable[[Files], list[Problem]]
FLOWS = "bots/main/flows.yml"
BOT = "bots/main/bot.yml"
MAIN_BOT = "name: Main\nprimary: true\nstart_flow: hello\n"


def flows(*steps: str) -> str:
    """A flows.yml whose flow 'hello' has these steps (each a YAML list item, 6 spaces in)."""
    body = "".join(f"      {line}\n" for step in steps for line in step.splitlines())
    return f"flows:\n  hello:\n    steps:\n{body}"


def bot(extra: str) -> str:
    return MAIN_BOT + extra


def test_check_of_a_loaded_project_is_clean() -> None:
    project = load_project(Path(__file__).parent / "fixtures" / "clinic")
    assert check_project(project) == []


def test_check_reads_lines_from_disk(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"bots/main/flows.yml": flows("- transfer: nobody")})
    project = read_project(root).project
    assert project is not None
    [problem] = check_project(project)
    assert (problem.file, problem.line) == (FLOWS, 4)


def test_transfer_to_missing_bot(problems: Run) -> None:
    assert problems(
        {
            FLOWS: flows("- say: Hi", "- transfer: biling"),
            "bots/billing/bot.yml": "name: Billing\n",
        }
    ) == [
        Problem(
            FLOWS, 5, "transfers to bot 'biling', which does not exist", "did you mean 'billing'?"
        )
    ]


def test_call_to_missing_bot_and_flow(problems: Run) -> None:
    found = problems(
        {
            FLOWS: flows(
                "- call: {bot: other, flow: nope}",
                "- call:\n    bot: ghost",
            ),
            "bots/other/bot.yml": "name: Other\nstart_flow: go\n",
            "bots/other/flows.yml": "flows:\n  go:\n    steps:\n      - end: true\n",
        }
    )
    assert found == [
        Problem(
            FLOWS,
            4,
            "calls flow 'nope' of bot 'other', which does not exist",
            "flows of 'other': 'go'",
        ),
        Problem(
            FLOWS,
            6,
            "calls to bot 'ghost', which does not exist",
            "bots in this project: 'main', 'other'",
        ),
    ]


def test_a_handover_to_a_bot_on_none_of_the_bots_channels(problems: Run) -> None:
    found = problems(
        {
            "baton.yml": "name: p\nchannels: [web, sms]\n",
            BOT: bot("channels: [web]\n"),
            FLOWS: flows("- transfer: texter"),
            "bots/texter/bot.yml": "name: Texter\nchannels: [sms]\n",
            "bots/smsdesk/bot.yml": "name: SMS desk\nprimary: true\nchannels: [sms]\n",
        }
    )
    assert [(p.file, p.line, p.message) for p in found] == [
        (
            FLOWS,
            4,
            "transfers to bot 'texter', which serves none of this bot's channels ('web'; "
            "it serves 'sms'): the handover would be refused every time",
        )
    ]


def test_slot_types_hold_for_set_literals_ask_overrides_and_slot_keys(problems: Run) -> None:
    found = problems(
        {
            BOT: bot(
                "slots:\n"
                "  age: {type: number, min: 0, max: 120}\n"
                "  pick: {type: choice, choices: [red, blue]}\n"
                "  note: {type: text, min: 3, choices: [a]}\n"
                "  mail: {type: email}\n"
            ),
            FLOWS: flows(
                "- set: {slot: age, value: abc}",
                "- set: {slot: pick, value: purple}",
                "- set: {slot: age, value: '{{ slots.age }}'}",
                "- set: {slot: pick, value: red}",
                "- ask: {slot: mail, prompt: 'Email?', type: number}",
                "- ask: {slot: pick, prompt: 'Colour?', choices: [green]}",
            ),
        }
    )
    said = [(p.file, p.line, p.message) for p in found]
    assert said == [
        (BOT, 7, "slot 'note' is of type text, which ignores `choices`"),
        (BOT, 7, "slot 'note' is of type text, which ignores `min`"),
        (
            FLOWS,
            4,
            "sets slot 'age' (number) to 'abc', which it can't hold: "
            + found[2].message.split("which it can't hold: ")[1],
        ),
        (
            FLOWS,
            5,
            "sets slot 'pick' (choice) to 'purple', which it can't hold: "
            + found[3].message.split("which it can't hold: ")[1],
        ),
        (FLOWS, 8, "asks for slot 'mail' as number, but bot.yml declares it email"),
        (FLOWS, 9, "offers 'green', which slot 'pick' does not allow"),
    ]


def test_two_primary_bots(problems: Run) -> None:
    found = problems(
        {
            "bots/second/bot.yml": "name: Second\nprimary: true\nstart_flow: hello\n",
            "bots/second/flows.yml": flows("- say: Hi"),
        }
    )
    assert found == [
        Problem(
            "bots/second/bot.yml",
            2,
            "bots 'main' and 'second' are both primary on channel(s) web, rest, cli",
            "keep one primary bot per channel: set `primary: false` here or split `channels:`",
        )
    ]


def test_primary_bots_on_separate_channels(tmp_path: Path) -> None:
    root = write_project(
        tmp_path,
        {
            "baton.yml": "name: t\nchannels: [web, sms]\n",
            BOT: bot("channels: [web]\n"),
            "bots/text/bot.yml": "name: T\nprimary: true\nchannels: [sms]\nstart_flow: hello\n",
            "bots/text/flows.yml": flows("- say: Hi"),
        },
    )
    assert sorted(load_project(root).bots) == ["main", "text"]


def test_no_primary_bot(problems: Run) -> None:
    assert problems({BOT: "name: Main\nstart_flow: hello\n"}) == [
        Problem(
            "baton.yml",
            1,
            "no bot is primary, so messages not routed elsewhere have no bot",
            "set `primary: true` in the bot.yml of the bot that greets users",
        )
    ]


def test_channel_without_primary(problems: Run) -> None:
    found = problems(
        {"baton.yml": "name: t\nchannels:\n  - web\n  - sms\n", BOT: bot("channels: [web]\n")}
    )
    assert found == [
        Problem(
            "baton.yml",
            4,
            "no primary bot serves channel 'sms'",
            "add 'sms' to a primary bot's channels, or remove it from baton.yml",
        )
    ]


def test_unknown_project_channel(problems: Run) -> None:
    [problem] = problems({"baton.yml": "name: t\nchannels: [web, whatsap]\n"})
    assert problem == Problem(
        "baton.yml", 2, "unknown channel 'whatsap'", "did you mean 'whatsapp'?"
    )


def test_bot_channel_not_in_project(problems: Run) -> None:
    found = problems(
        {"baton.yml": "name: t\nchannels: [web]\n", BOT: bot("channels:\n  - web\n  - sms\n")}
    )
    assert found == [
        Problem(
            BOT,
            6,
            "channel 'sms' is not one of the project's channels",
            "add it to `channels:` in baton.yml (now 'web')",
        )
    ]


def test_missing_actions_file(problems: Run) -> None:
    assert problems({"baton.yml": "name: t\nactions: actions.py\n"}) == [
        Problem(
            "baton.yml",
            2,
            "actions file 'actions.py' does not exist",
            "create actions.py next to baton.yml, or remove `actions:`",
        )
    ]


def test_intent_names_a_missing_flow(problems: Run) -> None:
    intents = (
        "intents:\n  greet:\n    examples: [hi]\n    flow: helo\n  bye:\n    examples: [bye]\n"
    )
    assert problems({"bots/main/intents.yml": intents}) == [
        Problem(
            "bots/main/intents.yml",
            4,
            "intent 'greet' starts flow 'helo', which bots/main/flows.yml lacks",
            "did you mean 'hello'?",
        ),
        Problem(
            "bots/main/intents.yml",
            5,
            "intent 'bye' starts flow 'bye', which bots/main/flows.yml lacks",
            "add a flow 'bye', or set `flow:` to one of: 'hello'",
        ),
    ]


def test_unreachable_flow(problems: Run) -> None:
    text = flows("- say: Hi") + "  orphan:\n    steps:\n      - say: alone\n"
    assert problems({FLOWS: text}) == [
        Problem(
            FLOWS,
            5,
            "flow 'orphan' is never started",
            "start it from an intent (an intent named 'orphan' or `flow: orphan`), "
            "make it the bot's start_flow, call it from another bot, or delete it",
        )
    ]


def test_missing_start_flow(problems: Run) -> None:
    found = problems({BOT: "name: Main\nprimary: true\nstart_flow: helo\n"})
    assert found[0] == Problem(
        BOT, 3, "start_flow 'helo' is not a flow of this bot", "did you mean 'hello'?"
    )


def test_undeclared_slots(problems: Run) -> None:
    found = problems(
        {
            BOT: bot("slots:\n  name: {}\n"),
            FLOWS: flows(
                "- ask: {slot: nmae, prompt: Name}",
                "- set: {slot: age, value: 3}",
                "- action: {name: look, save_as: found}",
                "- say: 'Hi {{ slots.name }} {{ slots[\"city\"] }}'",
            ),
        }
    )
    assert found == [
        Problem(
            FLOWS, 4, "slot 'nmae' is not declared in bots/main/bot.yml", "did you mean 'name'?"
        ),
        Problem(
            FLOWS,
            5,
            "slot 'age' is not declared in bots/main/bot.yml",
            "declare it under `slots:` in bots/main/bot.yml, e.g. `age: {type: text}`",
        ),
        Problem(
            FLOWS,
            6,
            "slot 'found' is not declared in bots/main/bot.yml",
            "declare it under `slots:` in bots/main/bot.yml, e.g. `found: {type: text}`",
        ),
        Problem(
            FLOWS,
            7,
            "template reads slot 'city', which bots/main/bot.yml does not declare",
            "declare it under `slots:` in bots/main/bot.yml",
        ),
    ]


def test_call_outputs_need_slots(problems: Run) -> None:
    found = problems(
        {
            FLOWS: flows("- call:\n    bot: other\n    outputs:\n      - total"),
            "bots/other/bot.yml": "name: O\nstart_flow: go\n",
            "bots/other/flows.yml": "flows:\n  go:\n    steps:\n      - return: {}\n",
        }
    )
    assert [(p.line, p.message, p.fix) for p in found] == [
        (7, "slot 'total' is not declared in bots/main/bot.yml", found[0].fix),
        (
            7,
            "takes output 'total', which flow 'go' of bot 'other' never returns",
            "return it there: `- return: {outputs: {total: ...}}`",
        ),
    ]


def test_call_outputs_must_be_returned_and_a_call_needs_a_flow(problems: Run) -> None:
    found = problems(
        {
            FLOWS: flows(
                "- call: {bot: other, outputs: [totl]}",
                "- call: bare",
            ),
            BOT: bot("slots:\n  totl: {type: text}\n"),
            "bots/other/bot.yml": "name: O\nstart_flow: go\n",
            "bots/other/flows.yml": (
                "flows:\n  go:\n    steps:\n      - return: {outputs: {total: 1}}\n"
            ),
            "bots/bare/bot.yml": "name: B\n",
            "bots/bare/flows.yml": "flows: {}\n",
        }
    )
    assert [(p.line, p.message, p.fix) for p in found] == [
        (
            4,
            "takes output 'totl', which flow 'go' of bot 'other' never returns",
            "did you mean 'total'?",
        ),
        (
            5,
            "calls bot 'bare', which has no start_flow, so the call does nothing",
            "name the flow: `call: {bot: bare, flow: ...}`, or give it a start_flow",
        ),
    ]


def test_context_write_not_declared(problems: Run) -> None:
    found = problems(
        {
            BOT: bot("context:\n  writes: [plan]\n"),
            FLOWS: flows(
                "- set: {context: plna, value: gold}", "- set: {context: other.x, value: 1}"
            ),
        }
    )
    assert found == [
        Problem(
            FLOWS,
            4,
            "writes context key 'plna', which context.writes does not list",
            "did you mean 'plan'?",
        ),
        Problem(
            FLOWS,
            5,
            "writes context key 'other.x' of another bot",
            "a bot writes only its own keys: write 'x' (stored as main.x)",
        ),
    ]


def test_context_read_not_declared(problems: Run) -> None:
    found = problems(
        {
            FLOWS: flows(
                "- say: \"{{ context.main.mine }} {{ context['assess']['risk'] }}\"",
                '- branch:\n    - if: "context.assess.score > 3"\n      then: [{say: hi}]',
            ),
            "bots/assess/bot.yml": "name: A\ncontext:\n  writes: [risk, score]\n",
        }
    )
    assert found == [
        Problem(
            FLOWS,
            4,
            "template reads context key 'assess.risk', which context.reads does not list",
            "add 'assess.risk' under `context: reads:` in bots/main/bot.yml",
        ),
        Problem(
            FLOWS,
            6,
            "template reads context key 'assess.score', which context.reads does not list",
            "add 'assess.score' under `context: reads:` in bots/main/bot.yml",
        ),
    ]


def test_declared_read_that_no_bot_writes(problems: Run) -> None:
    found = problems(
        {
            BOT: bot("context:\n  reads:\n    - assess.risk\n    - ghost.key\n    - flat\n"),
            "bots/assess/bot.yml": "name: A\ncontext:\n  writes: [risks]\n",
        }
    )
    assert found == [
        Problem(BOT, 6, "reads 'assess.risk', a key that no bot writes", "did you mean 'risks'?"),
        Problem(
            BOT,
            7,
            "reads a key of bot 'ghost', which does not exist",
            "bots: 'assess', 'main'",
        ),
        Problem(
            BOT,
            8,
            "context read 'flat' is not 'bot.key'",
            "name the key with its bot, e.g. 'assessment.risk'",
        ),
    ]


def test_choice_without_choices(problems: Run) -> None:
    found = problems(
        {
            BOT: bot("slots:\n  size: {type: choice}\n"),
            FLOWS: flows("- ask: {slot: size, prompt: Which size}"),
        }
    )
    assert found == [
        Problem(
            FLOWS,
            4,
            "asks for slot 'size' of type choice without choices",
            "add `choices: [...]` to this ask step or to slot 'size' in bot.yml",
        )
    ]


BRANCH = """\
- branch:
    - else: [{say: a}]
    - if: "message == 'x'"
      then: [{say: b}]
    - then: [{say: c}]
"""


def test_branch_case_rules(problems: Run) -> None:
    assert problems({FLOWS: flows(BRANCH)}) == [
        Problem(
            FLOWS, 5, "`else` must be the last case of a branch", "move the else case to the end"
        ),
        Problem(
            FLOWS,
            8,
            "a branch case needs `if:` (or is the final `else:`)",
            "write `- if: CONDITION` with `then: [...]`, or `- else: [...]` last",
        ),
    ]


def test_template_and_condition_syntax(problems: Run) -> None:
    found = problems(
        {
            FLOWS: flows(
                "- say: 'Hello {{ slots.name'",
                "- branch:\n    - if: \"{{ message }} == 'x'\"\n      then: [{say: hi}]",
                "- branch:\n    - if: 'slots.name >= '\n      then: [{say: hi}]",
            ),
            BOT: bot("slots:\n  name: {}\n"),
        }
    )
    assert [(p.line, p.message, p.fix) for p in found] == [
        (
            4,
            "invalid template: unexpected end of template, expected 'end of print statement'.",
            "close every {{ with }} and every {% with %}",
        ),
        (
            6,
            "invalid condition: expected token ':', got '}'",
            "write a bare Jinja expression without {{ }}, e.g. `slots.age >= 18`",
        ),
        (
            9,
            "invalid condition: the condition ends too early",
            "write a bare Jinja expression without {{ }}, e.g. `slots.age >= 18`",
        ),
    ]


def test_unknown_name_in_template(problems: Run) -> None:
    assert problems({FLOWS: flows("- say: '{{ slot.name }}'")}) == [
        Problem(FLOWS, 4, "unknown name 'slot' in template", "did you mean 'slots'?")
    ]


def test_a_fallback_or_handoff_naming_a_response_is_checked(problems: Run) -> None:
    found = problems(
        {
            FLOWS: flows("- say: Hi"),
            BOT: bot("fallback: '@sory'\nhandoff_message: '@hello'\n"),
            "bots/main/responses.yml": "responses:\n  hello: Hi\n  sorry: [Sorry, Pardon]\n",
        }
    )
    assert found == [
        Problem(
            BOT,
            4,
            "response '@sory' is not defined in bots/main/responses.yml",
            "did you mean 'sorry'?",
        )
    ]


def test_a_fallback_with_template_syntax_is_a_problem(problems: Run) -> None:
    found = problems(
        {
            FLOWS: flows("- say: Hi"),
            BOT: bot("fallback: '@sorry'\nhandoff_message: 'Hi {{ contact.fields.name }}'\n"),
            "bots/main/responses.yml": "responses:\n  sorry: ['Sorry {{ message }}', Pardon]\n",
        }
    )
    assert [(p.line, p.message) for p in found] == [
        (4, "`fallback` is said as written, so its {{ }} would reach the user"),
        (5, "`handoff_message` is said as written, so its {{ }} would reach the user"),
    ]


def test_unknown_response(problems: Run) -> None:
    found = problems(
        {
            FLOWS: flows("- say: '@helo'", "- ask: {slot: x, prompt: '@nothing'}"),
            BOT: bot("slots:\n  x: {}\n"),
            "bots/main/responses.yml": "responses:\n  hello: Hi\n  bad: '{{ oops'\n",
        }
    )
    assert found == [
        Problem(
            FLOWS,
            4,
            "response '@helo' is not defined in bots/main/responses.yml",
            "did you mean 'hello'?",
        ),
        Problem(
            FLOWS,
            5,
            "response '@nothing' is not defined in bots/main/responses.yml",
            "add `nothing: ...` under `responses:` in bots/main/responses.yml",
        ),
        Problem(
            "bots/main/responses.yml",
            3,
            "invalid template: unexpected end of template, expected 'end of print statement'.",
            "close every {{ with }} and every {% with %}",
        ),
    ]


def test_semantic_problems_across_files(problems: Run) -> None:
    found = problems(
        {
            FLOWS: flows("- transfer: nowhere"),
            "bots/main/intents.yml": "intents:\n  x:\n    examples: [x]\n",
            "bots/b/bot.yml": "name: B\nstart_flow: missing\n",
        }
    )
    assert [(p.file, p.line) for p in found] == [
        ("bots/b/bot.yml", 2),
        (FLOWS, 4),
        ("bots/main/intents.yml", 2),
    ]


def test_contact_keys_slot_bounds_and_a_group_typo(problems: Run) -> None:
    found = problems(
        {
            BOT: bot(
                "group: desk\n"
                "slots:\n  age: {type: number, min: 120, max: 18}\n"
                "context:\n  writes: [risk]\n  contact: [riskk, main.risk]\n"
            ),
            "bots/a/bot.yml": "name: A\ngroup: desks\nstart_flow: go\n",
            "bots/a/flows.yml": "flows:\n  go:\n    steps:\n      - say: a\n",
            "bots/b/bot.yml": "name: B\ngroup: desks\nstart_flow: go\n",
            "bots/b/flows.yml": "flows:\n  go:\n    steps:\n      - say: b\n",
        }
    )
    assert [(p.file, p.line, p.message, p.fix) for p in found] == [
        (
            BOT,
            4,
            "no other bot is in collaboration group 'desk', so none can take over here",
            "did you mean 'desks'?",
        ),
        (
            BOT,
            6,
            "slot 'age' has min 120 above max 18: no answer fits",
            "swap them, or fix the one that is wrong",
        ),
        (
            BOT,
            9,
            "context.contact lists 'main.risk'; keys are named without the bot prefix",
            "write 'risk'",
        ),
        (
            BOT,
            9,
            "context.contact lists 'riskk', which this bot does not write",
            "did you mean 'risk'?",
        ),
    ]


def test_an_example_in_two_intents_of_one_bot(problems: Run) -> None:
    found = problems(
        {
            "bots/main/intents.yml": (
                "intents:\n  hello:\n    examples: [hi, good morning]\n"
                "  bye:\n    flow: hello\n    examples: [bye, Good  Morning]\n"
            ),
        }
    )
    assert [(p.line, p.message) for p in found] == [
        (
            6,
            "'Good  Morning' is an example of intents 'hello' and 'bye': "
            "the classifier can't tell them apart on it",
        )
    ]


def test_an_example_twice_in_one_intent(problems: Run) -> None:
    found = problems(
        {"bots/main/intents.yml": "intents:\n  hello:\n    examples: [hi, good morning, Hi]\n"}
    )
    assert [(p.line, p.message) for p in found] == [
        (3, "'Hi' is an example of intent 'hello' twice")
    ]


def test_context_keys_a_transfer_cites(problems: Run) -> None:
    found = problems(
        {
            FLOWS: flows("- transfer: {to: other, context: [main.risk, main.riks, '', nobot.x]}"),
            BOT: bot("context:\n  writes: [risk]\n"),
            "bots/other/bot.yml": "name: O\nstart_flow: go\n",
            "bots/other/flows.yml": "flows:\n  go:\n    steps:\n      - say: o\n",
        }
    )
    assert [p.message for p in found] == [
        "cites a context key of bot 'nobot', which does not exist",
        "cites context key '', which is not 'bot.key'",
        "cites context key 'main.riks', which bot 'main' does not write",
    ]


def test_steps_after_a_step_that_leaves_the_flow(problems: Run) -> None:
    found = problems(
        {
            FLOWS: flows(
                "- branch:\n"
                "    - if: \"message == 'x'\"\n"
                "      then:\n"
                "        - end: true\n"
                "        - say: never\n"
                "    - else:\n"
                "        - say: fine",
                "- transfer: other",
                "- say: never either",
            ),
            "bots/other/bot.yml": "name: O\nstart_flow: go\n",
            "bots/other/flows.yml": "flows:\n  go:\n    steps:\n      - say: o\n",
        }
    )
    assert [(p.line, p.message) for p in found] == [
        (8, "this step never runs: the `end` before it leaves the flow"),
        (12, "this step never runs: the `transfer` before it leaves the flow"),
    ]


def test_a_response_that_refers_to_another_response(problems: Run) -> None:
    found = problems({"bots/main/responses.yml": "responses:\n  hi: Hello\n  hey: '@hi'\n"})
    assert [(p.file, p.line, p.message) for p in found] == [
        ("bots/main/responses.yml", 3, "response 'hey' refers to another response (@hi)")
    ]


def test_end_takes_true_flow_or_conversation_only(problems: Run) -> None:
    # a text (never said) or a misspelling (the conversation stayed open) was accepted
    [typo] = problems({"bots/main/flows.yml": flows("- end: conversaton")})
    assert (typo.file, typo.line) == (FLOWS, 4) and "did you mean 'conversation'" in typo.fix
    [text] = problems({"bots/main/flows.yml": flows("- end: Bye {{ slots.name }}")})
    assert "'conversation', 'flow'" in text.fix


def test_a_call_whose_inputs_the_called_flow_reads_under_other_names(
    problems: Run, tmp_path: Path
) -> None:
    helper = (
        "flows:\n  lookup:\n    steps:\n      - say: 'Checking {{ inputs.post_code }}.'\n"
        "      - return: {outputs: {}}\n"
    )
    files = {
        "bots/helper/bot.yml": "name: Helper\n",
        "bots/helper/flows.yml": helper,
        "bots/main/flows.yml": flows("- call: {bot: helper, flow: lookup, inputs: {postcode: 1}}"),
    }
    [problem] = problems(files)
    assert problem.file == FLOWS and problem.line == 4
    assert "passes input 'postcode', which flow 'lookup' of bot 'helper' never reads" in (
        problem.message
    )
    assert "did you mean 'post_code'" in problem.fix
    # an input the flow reads but no call passes, when the call passes nothing else: optional
    files["bots/main/flows.yml"] = flows("- call: {bot: helper, flow: lookup}")
    load_project(write_project(tmp_path / "optional", files))


def test_an_unknown_filter_or_a_single_equals_gets_a_fix_that_names_it(problems: Run) -> None:
    found = problems(
        {
            BOT: bot("slots:\n  size: {}\n"),
            FLOWS: flows(
                "- say: '{{ message | uppr }}'",
                "- branch:\n    - if: \"slots.size = 'small'\"\n      then: [{say: small}]",
            ),
        }
    )
    assert [(p.line, p.message.split(":")[0], p.fix) for p in found] == [
        (4, "unknown filter 'uppr'", "did you mean 'upper'?"),
        (
            6,
            "invalid condition",
            "compare with `==` (a single `=` assigns), e.g. `slots.size == 'small'`",
        ),
    ]


def test_did_you_mean_names_every_option_as_close() -> None:
    from baton.project.hints import did_you_mean

    assert did_you_mean("sey", ["say", "set", "ask"], "") == "did you mean 'say' or 'set'?"
    assert did_you_mean("triag", ["triage", "assessment"], "") == "did you mean 'triage'?"


def test_an_unknown_contact_attribute_in_a_template(problems: Run) -> None:
    found = problems({FLOWS: flows("- say: 'Plan {{ contact.feilds.plan }} {{ contact.tags }}'")})
    assert [(p.line, p.message, p.fix) for p in found] == [
        (4, "unknown contact attribute 'feilds' in template", "did you mean 'fields'?")
    ]


def test_bounds_on_a_text_slot_an_ask_reads_as_a_number_are_used_not_ignored(
    tmp_path: Path,
) -> None:
    root = write_project(
        tmp_path,
        {
            BOT: bot("slots:\n  age: {min: 0, max: 120}\n  pick: {type: choice}\n"),
            FLOWS: flows(
                "- ask: {slot: age, prompt: 'Age?', type: number}",
                "- ask: {slot: pick, prompt: 'Colour?', choices: [red, blue]}",
                "- set: {slot: pick, value: red}",
            ),
        },
    )
    project = read_project(root).project
    assert project is not None
    assert check_project(project) == []
