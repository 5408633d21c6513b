from baton.domain.errors import Problem
from baton.spec.yamlfile import parse_yaml


def test_lines_of_keys_and_items() -> None:
    doc, problems = parse_yaml("a:\n  b:\n    - x\n    - y: 1\n      z: 2\nc: 3\n", "f.yml")
    assert problems == []
    assert doc.data == {"a": {"b": ["x", {"y": 1, "z": 2}]}, "c": 3}
    assert doc.line_of(("a", "b", 1, "z")) == 5
    assert doc.line_of(("a", "b", 0)) == 3
    assert doc.line_of(("c",)) == 6
    assert doc.line_of(("a", "missing", "deeper")) == 1


def test_unknown_parts_of_a_location_are_skipped() -> None:
    doc, _ = parse_yaml("a:\n  - b: 1\n    c: 2\n", "f.yml")
    assert doc.line_of(("a", 0, "Tag", "c")) == 3


def test_keys_stay_text() -> None:
    doc, _ = parse_yaml("no: 1\nyes: true\n1: x\n", "f.yml")
    assert doc.data == {"no": 1, "yes": True, "1": "x"}


def test_empty_file_is_an_empty_mapping() -> None:
    doc, problems = parse_yaml("# only a comment\n", "f.yml")
    assert (doc.data, problems) == ({}, [])


def test_merge_keys_are_applied() -> None:
    doc, problems = parse_yaml("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\n", "f.yml")
    assert problems == []
    assert doc.data == {"base": {"x": 1, "y": 2}, "other": {"x": 1, "y": 3}}


def test_duplicate_key() -> None:
    _, problems = parse_yaml("name: a\nprimary: true\nname: b\n", "bots/x/bot.yml")
    assert problems == [
        Problem(
            "bots/x/bot.yml",
            3,
            "duplicate key 'name' (first on line 1)",
            "keep one of them: a later key would silently replace the earlier one",
        )
    ]


def test_tab_indentation() -> None:
    _, problems = parse_yaml("a:\n\tb: 1\n", "f.yml")
    [problem] = problems
    assert (problem.file, problem.line) == ("f.yml", 2)
    assert problem.message.startswith("invalid YAML: found character '\\t'")
    assert problem.fix == "indent with spaces; YAML does not allow tabs"


def test_unquoted_response_reference() -> None:
    _, problems = parse_yaml("flows:\n  a:\n    steps:\n      - say: @hello\n", "f.yml")
    [problem] = problems
    assert problem.line == 4
    assert problem.fix == 'quote the text, e.g. say: "@greeting"'


def test_unclosed_flow_sequence_points_at_its_end() -> None:
    _, problems = parse_yaml("a: [1, 2\nb: 3\n", "f.yml")
    [problem] = problems
    assert problem.line == 2
    assert "expected ',' or ']'" in problem.message


def test_two_documents() -> None:
    _, problems = parse_yaml("a: 1\n---\nb: 2\n", "f.yml")
    [problem] = problems
    assert problem.line == 2
    assert problem.fix == "keep one document per file: remove the extra '---' line"


def test_a_file_of_nested_aliases_is_refused_before_it_eats_the_memory() -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    doc, problems = parse_yaml("\n".join(lines) + "\n", "baton.yml")
    assert doc.data == {}
    assert [p.message for p in problems] == [
        "the file expands to more than 200,000 values (YAML aliases of aliases)"
    ]


def test_a_key_indented_too_deep_is_told_apart_from_a_text_that_needs_quotes() -> None:
    deep = "flows:\n  a:\n    steps:\n      - ask:\n          slot: x\n            prompt: hi\n"
    [problem] = parse_yaml(deep, "flows.yml")[1]
    assert problem.line == 6 and problem.fix.startswith("indent this line like the keys")
    [problem] = parse_yaml("flows:\n  - say: Note: hello\n", "flows.yml")[1]
    assert problem.line == 2 and problem.fix.startswith("quote the text")


def test_an_unclosed_quote_is_pointed_at_where_it_opens_not_where_yaml_gave_up() -> None:
    items = ["hi", "hello", "hey there", "good morning", "hi, I'm new here", "hiya"]
    for quote in ('"', "'"):
        lines = ["intents:", "  greet:", "    examples:"]
        lines += [f"      - {quote}{t}" if t == "hey there" else f"      - {t}" for t in items]
        lines += ["  bye:", "    examples:", "      - bye"]
        [problem] = parse_yaml("\n".join(lines) + "\n", "intents.yml")[1]
        assert problem.line == 6, (quote, problem)
        assert problem.fix.startswith(f"close the quote: the text on this line starts with {quote}")
    [problem] = parse_yaml('say: "Note: it\'s "fine"\n', "flows.yml")[1]  # not a quote left open
    assert not problem.fix.startswith("close the quote")


def test_a_closed_quote_with_a_comment_after_it_is_not_taken_for_an_open_one() -> None:
    text = (
        'flows:\n  a:\n    steps:\n      - say: "Hello" # the greeting\n'
        "      - say: hi\n     - say: bad\n"
    )
    [problem] = parse_yaml(text, "flows.yml")[1]
    assert problem.line == 6 and not problem.fix.startswith("close the quote")


def test_did_you_mean_prefers_the_one_name_holding_a_many_part_word() -> None:
    from baton.domain.events import EVENT_TYPES
    from baton.project.hints import did_you_mean

    assert did_you_mean("action_fired", EVENT_TYPES, "") == "did you mean 'bot_action_fired'?"
    assert did_you_mean("flow", ["start_flow", "flows"], "") == "did you mean 'flows'?"
    assert did_you_mean("sey", ["say", "set"], "") == "did you mean 'say' or 'set'?"
