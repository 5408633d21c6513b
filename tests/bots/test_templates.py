"""Templates and conditions read context keys in every form ``baton check`` accepts."""

from __future__ import annotations

from baton.bots.templates import Condition, Template, nest_context


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
