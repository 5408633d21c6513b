"""`baton check` on values in workflows the runtime would ignore, skip or fail on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from baton.domain.errors import Problem
from baton.project import load_project
from baton.project.workflowvalues import LANGUAGE
from tests.project.conftest import Files, write_project

Problems = Callable[[Files], list[Problem]]
TAGS = "name: test\nworkflows: {tags: [x]}\n"


def _lines(found: list[Problem]) -> list[str]:
    return sorted(f"{p.file}:{p.line}: {p.message} | {p.fix}" for p in found)


def test_a_pause_until_that_is_no_iso_time_is_flagged(problems: Problems) -> None:
    found = problems(
        {
            "baton.yml": TAGS,
            "workflows/hold.yml": """
                trigger: {tag_added: x}
                actions:
                  - set_status: {status: paused, until: tomorrow}
            """,
        }
    )
    assert _lines(found) == [
        "workflows/hold.yml:3: `until` 'tomorrow' is not an ISO time: the action would fail"
        " and the bot would not be paused | write a quoted ISO time such as"
        " '2026-12-01T09:00:00+01:00' (no zone: UTC)"
    ]


def test_an_unquoted_time_is_told_to_be_quoted(problems: Problems) -> None:
    found = problems(
        {
            "baton.yml": TAGS,
            "workflows/hold.yml": """
                trigger: {tag_added: x}
                actions:
                  - set_status: {status: paused, until: 2026-12-01T09:00:00}
            """,
        }
    )
    assert _lines(found) == [
        "workflows/hold.yml:3: 'actions[0].set_status.until': YAML reads 2026-12-01T09:00:00"
        " unquoted as a date, not as the text wanted | quote it: '2026-12-01T09:00:00'"
    ]


def test_until_with_another_status_or_with_minutes_is_flagged(problems: Problems) -> None:
    found = problems(
        {
            "baton.yml": TAGS,
            "workflows/hold.yml": """
                trigger: {tag_added: x}
                actions:
                  - set_status: {status: active, until: "2026-12-01T09:00:00Z"}
                  - set_status:
                      status: paused
                      minutes: 30
                      until: "2026-12-01T09:00:00Z"
            """,
        }
    )
    assert _lines(found) == [
        "workflows/hold.yml:3: `until` only goes with a pause: with status active it is"
        " ignored | remove `until:`, or set `status: paused`",
        "workflows/hold.yml:7: a pause with both `minutes` and `until`: it lasts 30 minutes"
        " and `until` is ignored | keep one of `minutes:` and `until:`",
    ]


def test_every_until_the_runtime_reads_passes(tmp_path: Path) -> None:
    """The engine reads `until` with datetime.fromisoformat: a date, no zone (UTC), Z, basic."""
    untils = ["2026-12-01", "2026-12-01T09:00", "2026-12-01 09:00:00+01:00", "20261201T0900Z"]
    actions = "".join(f"  - set_status: {{status: paused, until: '{u}'}}\n" for u in untils)
    files: Files = {
        "baton.yml": TAGS,
        "workflows/hold.yml": f"trigger: {{tag_added: x}}\nactions:\n{actions}",
    }
    load_project(write_project(tmp_path, files))


def test_actions_after_end_are_flagged_once(problems: Problems) -> None:
    found = problems(
        {
            "baton.yml": TAGS,
            "workflows/close.yml": """
                trigger: {tag_added: x}
                actions:
                  - send: Bye.
                  - end: closed
                  - send: Still there?
                  - remove_tag: x
            """,
        }
    )
    assert _lines(found) == [
        "workflows/close.yml:5: the 2 actions after `end` never run: the conversation has"
        " ended by then (the run records workflow_action_skipped) | move them before `end`,"
        " or remove them"
    ]


def test_times_of_day_outside_the_clock_are_flagged(problems: Problems) -> None:
    found = problems(
        {
            "baton.yml": TAGS,
            "workflows/hours.yml": """
                trigger: {tag_added: x}
                conditions:
                  any:
                    - time: {after: "25:00"}
                    - time: {before: "09:99"}
                    - time: {after: "09:00", before: "09:00"}
                    - time: {after: "22:00", before: "24:00"}
                    - time: {before: "00:00"}
                actions:
                  - send: Hello.
            """,
        }
    )
    clock = "write HH:MM on a 24-hour clock, 00:00 to 23:59 (`before: '24:00'` is midnight)"
    assert _lines(found) == [
        f"workflows/hours.yml:4: '25:00' is not a time of day | {clock}",
        f"workflows/hours.yml:5: '09:99' is not a time of day | {clock}",
        "workflows/hours.yml:6: the window 09:00-09:00 is empty (`after` and `before` are the"
        " same) | widen the window, or leave out `before` (until midnight)",
        "workflows/hours.yml:8: `before: '00:00'` alone is an empty window (from 00:00)"
        " | widen the window, or leave out `before` (until midnight)",
    ]


def test_empty_texts_tags_and_field_names_are_flagged(problems: Problems) -> None:
    found = problems(
        {
            "baton.yml": "name: test\nworkflows: {tags: [x, ' '], forms: {f: {fields: ['']}}}\n",
            "workflows/blank.yml": """
                trigger: {tag_added: x}
                conditions:
                  - tag: ""
                  - field: {name: "", exists: true}
                actions:
                  - add_tag: ""
                  - remove_tag: " "
                  - set_field: {name: "", value: 1}
            """,
        }
    )
    assert _lines(found) == sorted(
        [
            "workflows/blank.yml:3: an empty tag name | write the tag's name",
            "workflows/blank.yml:4: an empty field name | write the field's name",
            "workflows/blank.yml:6: an empty tag name | write the tag's name",
            "workflows/blank.yml:7: an empty tag name | write the tag's name",
            "workflows/blank.yml:8: an empty field name | write the field's name",
            "baton.yml:2: an empty tag name | name the tag, or remove the empty item",
            "baton.yml:2: an empty field name in form 'f' | name the field, or remove it",
        ]
    )


def test_an_empty_send_is_flagged_like_an_empty_say(problems: Problems) -> None:
    found = problems(
        {
            "baton.yml": TAGS,
            "workflows/blank.yml": "trigger: {tag_added: x}\nactions:\n  - send: '  '\n",
        }
    )
    assert _lines(found) == [
        "workflows/blank.yml:3: 'actions[0].send' is an empty text: the user would get a"
        " blank message | write the text, or remove the line"
    ]


def test_language_codes_are_checked_where_a_language_is_expected(problems: Problems) -> None:
    found = problems(
        {
            "baton.yml": "name: test\nworkflows: {language_detection: {languages: [en, pt-BR]}}\n",
            "workflows/lang.yml": """
                trigger: {language_detected: {language: [english, EN, ca]}}
                conditions:
                  language: [pt-BR, zh-Hant-TW, "español"]
                actions:
                  - send: Hello.
            """,
        }
    )
    settings = "`workflows: {language_detection: {languages: [...]}}` in baton.yml"
    never = "(it chooses among 'en', 'pt-BR'), so this never triggers"
    assert _lines(found) == sorted(
        [
            "workflows/lang.yml:1: 'english' is not a language code"
            " | write a language code such as en, es or pt-BR",
            f"workflows/lang.yml:1: the detector never names 'EN' {never}"
            " | write 'en': the detector names a language by its lower-case code alone",
            f"workflows/lang.yml:1: the detector never names 'ca' {never} | add 'ca' to {settings}",
            "workflows/lang.yml:3: 'español' is not a language code"
            " | write a language code such as en, es or pt-BR",
            "baton.yml:2: 'pt-BR' is not a language the detector can name: it names languages by"
            " their lower-case ISO 639 code alone"
            " | write a code such as en, es, pt or yue (no region: pt, not pt-BR)",
        ]
    )


def test_a_language_the_detector_does_not_know_is_flagged(problems: Problems) -> None:
    found = problems(
        {
            "baton.yml": "name: test\nworkflows:\n  language_detection:\n"
            "    languages: [en, qq, esp]\n"
        }
    )
    assert _lines(found) == [
        "baton.yml:4: 'esp' is not among the 140 languages the detector knows: detection"
        " would fail on the first message | did you mean 'es'?",
        "baton.yml:4: 'qq' is not among the 140 languages the detector knows: detection"
        " would fail on the first message"
        " | use an ISO 639 code the detector knows (en, es, pt, zh ...), or remove it",
    ]


def test_no_listed_languages_means_any_the_detector_knows(problems: Problems) -> None:
    found = problems(
        {
            "baton.yml": "name: test\nworkflows: {language_detection: {languages: []}}\n",
            "workflows/lang.yml": """
                trigger: {language_detected: {language: [es, qq]}}
                actions:
                  - send: Hola.
            """,
        }
    )
    [only] = found  # es is one of the detector's languages; qq is none
    assert only.message == (
        "the detector never names 'qq' (it chooses among the languages its model knows),"
        " so this never triggers"
    )


def test_the_detectors_languages_are_its_models() -> None:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier  # type: ignore[import-untyped]

    from baton.workflows.language import DETECTABLE

    model = LanguageIdentifier.from_model_file(MODEL_FILE)
    assert set(model.nb_classes) == DETECTABLE


def test_a_language_trigger_with_detection_off_never_triggers(problems: Problems) -> None:
    found = problems(
        {
            "baton.yml": "name: test\nworkflows: {language_detection: {enabled: false}}\n",
            "workflows/lang.yml": "trigger: {language_detected: es}\nactions:\n  - send: Hola.\n",
        }
    )
    assert _lines(found) == [
        "workflows/lang.yml:1: language detection is off in baton.yml, so this never triggers"
        " | remove `enabled: false` under `workflows: {language_detection: ...}`"
    ]


def test_the_language_rule_is_the_apis() -> None:
    from baton.api.models import Language

    [constraints] = [m for m in Language.__metadata__ if hasattr(m, "pattern")]
    assert constraints.pattern == LANGUAGE.pattern


def test_template_syntax_in_a_workflow_text_is_flagged(problems: Problems) -> None:
    found = problems(
        {
            "baton.yml": "name: test\nworkflows: {tags: [x], fields: [size]}\n",
            "workflows/later.yml": """
                trigger: {tag_added: x}
                actions:
                  - set_field: {name: size, value: "{{ payload.size }}"}
                  - send: "How was your {{ payload.size }} pizza?"
                  - send: "Thanks for ordering!"
                  - webhook:  # a machine's template: left alone
                      url: https://crm.example.com/hook
                      payload: {template: "Hi {{ first_name }}"}
            """,
        }
    )
    assert [(p.line, p.message) for p in found] == [
        (3, "a workflow's texts are used as written, so this {{ }} would be too"),
        (4, "a workflow's texts are used as written, so this {{ }} would be too"),
    ]


def test_a_span_over_ten_years_is_flagged(problems: Problems) -> None:
    """A no_reply that ends past the year 9999 passed the check and broke every turn
    that sent a message."""
    found = problems(
        {
            "baton.yml": TAGS,
            "workflows/nudge.yml": """
                trigger: {no_reply: {minutes: 10000000000}}
                actions:
                  - wait: {days: 5000}
                  - wait: {days: 3000, hours: 50000}
                  - send: Still there?
            """,
        }
    )
    assert [(p.line, p.message.split(":")[0]) for p in found] == [
        (1, "wrong value for 'trigger.no_reply.minutes'"),
        (3, "wrong value for 'actions[0].wait.days'"),
        (4, "wrong value for 'actions[1].wait'"),
    ]


def test_a_rate_bound_over_the_runs_a_conversation_keeps_is_flagged(problems: Problems) -> None:
    found = problems({"baton.yml": "name: test\nworkflows: {max_runs: 250}\n"})
    assert [(p.line, p.message, p.fix) for p in found] == [
        (
            2,
            "max_runs 250 is never reached: a conversation remembers its last 200 workflow runs",
            "set it to 200 or less",
        )
    ]
