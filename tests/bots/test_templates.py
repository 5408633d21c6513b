"""Templates and conditions read context keys in every form ``baton check`` accepts."""

from __future__ import annotations

import pytest

from baton.bots.templates import Condition, Template, TemplateFailed, nest_context
from tests.conftest import EngineOpener, ProjectWriter


def test_context_keys_read_nested_and_qualified() -> None:
    names = {"context": nest_context({"assessment.risk": "high", "triage.topic": "sleep"})}
    for form in (
        "context.assessment.risk == 'high'",
        "context['assessment']['risk'] == 'high'",
        "context['assessment.risk'] == 'high'",
    ):
        assert Condition(form).holds(names), form
    assert not Condition("context['assessment.nope'] == 'high'").holds(names)
    assert not Condition("context['nobody.risk'] == 'high'").holds(names)
    shown = Template("{{ context }}").render(names)
    assert shown == "{'assessment': {'risk': 'high'}, 'triage': {'topic': 'sleep'}}"


def test_a_template_of_one_expression_keeps_its_values_type() -> None:
    """``{{ slots.issue }}`` passed to an action was read back as a number or a boolean:
    the user's "1.50", "0.10" and "TRUE" reached an LLM as 1.5, 0.1 and True."""
    from baton.bots.templates import Template

    names = {"slots": {"issue": "1.50", "yes": "TRUE", "n": 2, "on": True}}
    assert Template("{{ slots.issue }}").value(names) == "1.50"
    assert Template(" {{ slots.yes }} ").value(names) == "TRUE"
    assert Template("{{ slots.n }}").value(names) == 2
    assert Template("{{ slots.n * 1.5 }}").value(names) == 3.0
    assert Template("{{ slots.on }}").value(names) is True
    assert Template("{{ slots.unset }}").value(names) is None
    assert Template("{{ slots.n }}{{ slots.n }}").value(names) == 22  # text: read back


async def test_a_bot_sees_the_history_its_policy_allows_in_its_templates(
    write_project: ProjectWriter, open_project: EngineOpener
) -> None:
    """``history:`` in bot.yml was computed and handed to the bot, but no template or
    action could read it: a bot calling an LLM could not send it the conversation."""
    from baton.router.messages import Inbound

    root = write_project(
        {
            "baton.yml": "name: history\nchannels: [web]\n",
            "bots/front/bot.yml": "name: Front\nprimary: true\nhistory: {policy: last, last: 3}\n",
            "bots/front/intents.yml": (
                "intents:\n  recap:\n    examples: [recap please, what did I say, recap]\n"
                "  chat:\n    examples: [hello, hi there, good morning]\n"
            ),
            "bots/front/flows.yml": (
                "flows:\n"
                "  chat:\n    steps:\n      - say: Hello.\n"
                "  recap:\n    steps:\n"
                "      - say: \"{{ history | map(attribute='text') | join(' | ') }}\"\n"
            ),
        }
    )
    engine = await open_project(root)
    await engine.router.handle(Inbound("web", "h", "hello"))
    said = await engine.router.handle(Inbound("web", "h", "recap please"))
    assert [r.text for r in said.replies] == ["hello | Hello. | recap please"]


@pytest.mark.parametrize(
    "source",
    [
        "{{ '*' * n }}",
        "{{ n * 'ab' }}",
        "{{ [0] * n }}",
        "{{ '%*s' % (n, 'x') }}",
        "{{ 'x'|center(n) }}",
        "{{ 'a\nb'|indent(n) }}",
        "{{ 10 ** n }}",
        "{% for i in range(99999) %}{{ 'abcdef' }}{% endfor %}",
        "{{ ''.ljust(n) }}",
        "{{ 'x'.zfill(n) }}",
        "{{ 'a\tb'.expandtabs(n) }}",
        "{{ '%*s'|format(n, 'x') }}",
        "{{ '{:>{}}'.format('', n) }}",
        "{{ '{a:>{w}}'.format_map({'a': '', 'w': n}) }}",
    ],
)
def test_a_template_the_users_answer_would_blow_up_fails_its_step_at_once(source: str) -> None:
    """``{{ '*' * slots.rating }}`` answered "50000000" made a 50 MB reply, stored and sent."""
    with pytest.raises(TemplateFailed) as failed:
        Template(source).render({"n": 50_000_000})
    assert failed.value.error.startswith("SecurityError: ")
    assert "at most" in failed.value.error


def test_ordinary_repetition_formatting_and_powers_still_render() -> None:
    big = {"n": 200_000}  # an amount or an order number is no width
    assert Template("{{ '%d items' % n }} {{ 'Order #%s' % n }}").render(big) == (
        "200000 items Order #200000"
    )
    assert Template("{{ '%.2f'|format(n) }} {{ '{:,}'.format(n) }}").render(big) == (
        "200000.00 200,000"
    )
    names = {"n": 5}
    assert Template("{{ 'x'.ljust(n) }}|{{ '{:>{}}'.format('y', n) }}").render(names) == (
        "x    |    y"
    )
    assert (
        Template("{{ '*' * n }} {{ '%03d' % n }} {{ 2 ** 10 }}").render(names) == "***** 005 1024"
    )
    assert Template("[{{ 'x'|center(5) }}]").render(names) == "[  x  ]"
