"""What a flow's templates and conditions use, read from their Jinja2 syntax tree.

Texts in flows (``say``, ``ask.prompt``, ``ask.reprompt``, string values of
``set``, ``action.inputs``, ``fire.payload``, ``call.inputs``,
``return.outputs``, ``escalate.message``, ``end``) and the texts of
``responses.yml`` are Jinja2 templates; ``branch`` conditions are Jinja2
expressions (written bare, without ``{{ }}``). At runtime they see these names:

``slots``
    this bot's slots (``slots.date``, ``slots['date']``); other bots' slots are private.
``context``
    the conversation's shared context, nested by the bot that wrote it:
    ``context.assessment.risk`` or ``context['assessment']['risk']``
    (``context['assessment.risk']`` also works). A bot reads its own keys
    freely and another bot's keys only when ``context.reads`` lists them.
``contact``
    the person: ``contact.tags``, ``contact.fields``, ``contact.language``.
``message``
    the text of the user's last message.
``inputs``
    the inputs a ``call`` gave this bot.
``outputs``
    the outputs a bot called with ``call`` returned.
``result``
    the result of the last ``action`` step.
``history``
    the conversation as the bot's ``history:`` policy lets it see it (``full``, the
    ``last`` N lines, a ``summary`` line, or ``none``): lines with ``role`` (``user``,
    ``bot``, ``human``, ``summary``), ``text`` and ``bot_id``, oldest first, across
    bots; for an LLM prompt, ``{{ history | map(attribute='text') | join('\n') }}``.

Any other top-level name is a mistake reported by ``baton check``.
"""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import Environment, meta, nodes

RUNTIME_NAMES = frozenset(
    {"slots", "context", "contact", "message", "inputs", "outputs", "result", "history"}
)
#: what ``contact`` holds in a template (``contact.feilds`` rendered as nothing)
CONTACT_KEYS = frozenset({"tags", "fields", "language"})
_DICT_METHODS = frozenset({"get", "items", "keys", "values"})


@dataclass(frozen=True, slots=True)
class TemplateUse:
    """The names, slots and shared-context keys one template or condition refers to."""

    names: frozenset[str]
    slots: frozenset[str]
    reads: frozenset[tuple[str, str | None]]
    """``(bot, key)``; key is None when the template reads a bot's whole namespace."""
    inputs: frozenset[str] = frozenset()
    """The call inputs it reads (``inputs.postcode``)."""
    contact: frozenset[str] = frozenset()
    """What it reads of the contact (``contact.fields``)."""


class TemplateReader:
    """Parses templates and conditions (raising ``jinja2.TemplateSyntaxError``)."""

    def __init__(self) -> None:
        self._env = Environment(autoescape=False)

    @property
    def filters(self) -> frozenset[str]:
        """The filters templates may use (Jinja's own)."""
        return frozenset(self._env.filters)

    @property
    def known_names(self) -> frozenset[str]:
        """Names a template may use: the runtime variables and Jinja's globals."""
        return RUNTIME_NAMES | frozenset(self._env.globals)

    def read(self, text: str, *, is_condition: bool = False) -> TemplateUse:
        """Parse ``text`` and list what it uses."""
        if is_condition:
            self._env.compile_expression(text)  # its own syntax errors, not the wrapper's
        source = f"{{{{ ({text}) }}}}" if is_condition else text
        tree = self._env.parse(source)
        names = meta.find_undeclared_variables(tree)
        chains = _chains(tree)
        slots = {chain[1] for chain in chains if chain[0] == "slots" and len(chain) > 1}
        reads = {_read(chain[1:]) for chain in chains if chain[0] == "context" and len(chain) > 1}
        inputs = {chain[1] for chain in chains if chain[0] == "inputs" and len(chain) > 1}
        contact = {chain[1] for chain in chains if chain[0] == "contact" and len(chain) > 1}
        return TemplateUse(
            names=frozenset(names),
            slots=frozenset(s for s in slots if s not in _DICT_METHODS),
            reads=frozenset(reads),
            inputs=frozenset(i for i in inputs if i not in _DICT_METHODS),
            contact=frozenset(c for c in contact if c not in _DICT_METHODS),
        )


def _read(parts: tuple[str, ...]) -> tuple[str, str | None]:
    first = parts[0]
    if "." in first:
        bot, _, key = first.partition(".")
        return bot, key
    if len(parts) == 1 or parts[1] in _DICT_METHODS:
        return first, None
    return first, parts[1]


def _chains(tree: nodes.Template) -> list[tuple[str, ...]]:
    """Longest attribute/item chains on a name: ``context.a.b`` → ``('context', 'a', 'b')``."""
    found: set[tuple[str, ...]] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        chain = _chain(node)
        if chain:
            found.add(chain)
    return [c for c in found if not any(o != c and o[: len(c)] == c for o in found)]


def _chain(node: nodes.Node) -> tuple[str, ...] | None:
    parts: list[str] = []
    while True:
        if isinstance(node, nodes.Getattr):
            parts.append(node.attr)
            node = node.node
        elif isinstance(node, nodes.Getitem):
            if not (isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str)):
                return None
            parts.append(node.arg.value)
            node = node.node
        elif isinstance(node, nodes.Name):
            parts.append(node.name)
            return tuple(reversed(parts))
        else:
            return None
