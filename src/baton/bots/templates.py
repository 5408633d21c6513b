"""Jinja2 templates and conditions as bots use them, sandboxed and cached.

Names available to a template or a condition: ``slots`` (the bot's own),
``context`` (shared keys as ``context.<bot>.<key>``), ``contact``,
``message``, ``inputs``, ``outputs``, ``result`` and ``history``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

from jinja2 import ChainableUndefined
from jinja2.exceptions import SecurityError
from jinja2.filters import FILTERS as DEFAULT_FILTERS
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

from baton.domain.values import Value

#: the longest text a template may make: a user's answer can steer a template's size
#: (``{{ '*' * slots.rating }}`` given "50000000" made a 50 MB reply)
MAX_TEXT = 100_000
#: the largest integer exponent (``10 ** 10 ** 8`` is seconds of CPU)
MAX_EXPONENT = 1_000


#: ``str`` methods whose integer arguments say how long their result is
_PADDING_METHODS = frozenset({"ljust", "rjust", "center", "zfill", "expandtabs"})
#: a replacement field whose format spec holds another field: ``{:>{}}`` takes its width
#: from an argument
_NESTED_FIELD = re.compile(r"\{[^{}]*\{")


class _Environment(SandboxedEnvironment):
    """The sandbox, with each template's globals in a plain dict, and a bound on the size
    of what a template makes: a repetition (``*``), a width taken from a value (``%*s``,
    ``{:>{}}``, ``|format``, ``|center``, ``|indent``, ``str.ljust``...) or an integer
    exponent is checked before it runs, and a rendered text over ``MAX_TEXT`` fails its
    step.

    Jinja keeps globals in a ``ChainMap`` over the environment's, and every
    render iterates that twice (to build the context and its key set), a
    few percent of a turn. Nothing here changes globals after start-up, so
    the chain's liveness buys nothing.
    """

    intercepted_binops = frozenset({"*", "%", "**"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        """``left operator right``, refused when its result would be too large."""
        if operator == "*":
            for items, times in ((left, right), (right, left)):
                if isinstance(items, str | list | tuple) and isinstance(times, int):
                    _bounded(len(items) * times, "a repetition")
        elif operator == "%" and isinstance(left, str) and "*" in left:  # "%*s": a width
            _widths(right if isinstance(right, tuple) else (right,), "a % format")
        elif operator == "**" and _huge_power(left, right):
            raise SecurityError(f"an exponent of {right} (at most {MAX_EXPONENT})")
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        """Call ``__obj`` as the sandbox does; a ``str`` method that pads (``ljust``,
        ``zfill``...) is refused a width over ``MAX_TEXT`` first."""
        if isinstance(getattr(__obj, "__self__", None), str) and (
            getattr(__obj, "__name__", "") in _PADDING_METHODS
        ):
            _widths((*args, *kwargs.values()), f"str.{__obj.__name__}")
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """``str.format`` as the sandbox wraps it; a format whose widths come from its
        arguments (``{:>{}}``) is refused one over ``MAX_TEXT``."""
        wrapped = super().wrap_str_format(value)
        if wrapped is None or not _NESTED_FIELD.search(value.__self__):
            return wrapped
        formatted = wrapped

        def bounded(*args: Any, **kwargs: Any) -> str:
            given = [*args, *kwargs.values()]
            given += [v for a in args if isinstance(a, Mapping) for v in a.values()]
            _widths(given, "str.format")
            return formatted(*args, **kwargs)

        return bounded

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        """The environment's globals overlaid with ``d``, copied into one dict."""
        return {**self.globals, **(d or {})}

    def getattr(self, obj: Any, attribute: str) -> Any:
        """``obj.attribute`` as the sandbox answers it, without its detour for dicts.

        For ``slots.score`` the sandbox tries the attribute first and, as a dict
        has none of that name, catches an ``AttributeError`` before it reads the
        item. A plain dict's item is read at once when the name is none of a
        dict's attributes: the same answer, without raising.
        """
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)


_DICT_ATTRIBUTES = frozenset(dir({}))


def _huge_power(base: Any, exponent: Any) -> bool:
    numbers = isinstance(base, int) and isinstance(exponent, int)
    return numbers and abs(exponent) > MAX_EXPONENT and abs(base) > 1


def _bounded(size: int, what: str) -> None:
    if size > MAX_TEXT:
        raise SecurityError(f"{what} of {size:,} (at most {MAX_TEXT:,})")


def _widths(values: Any, where: str) -> None:
    """Refuse an integer among ``values`` over ``MAX_TEXT``: a width it may be."""
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool):
            _bounded(abs(value), f"a width in {where}")


def _format_filter(value: Any, *args: Any, **kwargs: Any) -> str:
    """Jinja's ``|format`` (``value % args``), refusing a ``*`` width over ``MAX_TEXT``."""
    if "*" in str(value):
        _widths((*args, *kwargs.values()), "|format")
    result: str = DEFAULT_FILTERS["format"](value, *args, **kwargs)
    return result


def _padding(name: str, width_at: int) -> Callable[..., Any]:
    """Jinja's ``name`` filter, refusing a width over ``MAX_TEXT`` (its argument at
    ``width_at``, after the value)."""
    original = DEFAULT_FILTERS[name]

    def padded(*args: Any, **kwargs: Any) -> Any:
        width = kwargs.get("width", args[width_at] if len(args) > width_at else 0)
        _widths((width,), f"|{name}")
        return original(*args, **kwargs)

    return padded


def _shown(value: Any) -> Any:
    """What ``{{ value }}`` writes: an unset slot or output (None) writes nothing, as an
    undefined name does, rather than "None" to the contact."""
    return "" if value is None else value


_ENV = _Environment(undefined=ChainableUndefined, autoescape=False, finalize=_shown)
_ENV.filters["center"] = _padding("center", 1)
_ENV.filters["indent"] = _padding("indent", 1)
_ENV.filters["format"] = _format_filter
# Numbers as a number is written: no leading zero (a phone number, a postcode or an
# account number such as "07700900123" or "02139" is an identifier and stays text,
# as does anything longer than 15 digits, past what a float holds exactly).
_INT = re.compile(r"-?(0|[1-9]\d{0,14})")
_FLOAT = re.compile(r"-?(0|[1-9]\d{0,14})\.\d+")


class TemplateFailed(Exception):
    """A template or condition that could not be evaluated with the turn's names (a
    comparison with a value not set yet, a slice of a number...)."""

    def __init__(self, source: str, error: BaseException) -> None:
        self.source = source
        self.error = f"{type(error).__name__}: {error}"
        super().__init__(f"{source!r}: {self.error}")


#: a template that is one expression and nothing else: ``{{ slots.issue }}``
_ONE_EXPRESSION = re.compile(r"\s*\{\{((?:(?!\{\{|\}\}|\{%|\{#).)*)\}\}\s*", re.DOTALL)


class Template:
    """A compiled text template; plain text skips Jinja entirely."""

    __slots__ = ("_expression", "_render", "plain", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        #: no Jinja in it: it renders as ``source`` whatever the names
        self.plain = "{" not in source
        self._expression: Callable[..., Any] | None = None
        if not self.plain:
            compiled = _ENV.from_string(source)
            self._render: Callable[[Mapping[str, Any]], str] = compiled.render
            whole = _ONE_EXPRESSION.fullmatch(source)
            if whole is not None:
                self._expression = _ENV.compile_expression(whole[1], undefined_to_none=True)
        else:
            self._render = lambda _names: source

    def render(self, names: Mapping[str, Any]) -> str:
        """Render with the turn's names; :class:`TemplateFailed` if that raises."""
        try:
            text = self._render(names)
        except Exception as exc:  # whatever the expression raised: the author's to fix
            raise TemplateFailed(self.source, exc) from exc
        if len(text) > MAX_TEXT:  # a loop over a long list, say
            too_long = SecurityError(f"it made {len(text):,} characters (at most {MAX_TEXT:,})")
            raise TemplateFailed(self.source, too_long)
        return text

    def value(self, names: Mapping[str, Any]) -> Value:
        """The template's value: a template that is one expression gives the expression's
        own value, text staying text (the user's "1.50" or "TRUE" reached an action as
        1.5 or True); text around expressions is rendered, then numbers and booleans are
        read back as such."""
        if self._expression is not None:
            try:
                found = self._expression(names)
            except Exception as exc:
                raise TemplateFailed(self.source, exc) from exc
            if isinstance(found, str):
                return found if found.strip() else None  # unset renders as nothing
            if found is None or isinstance(found, bool | int | float):
                return found
        return coerce(self.render(names))


class Condition:
    """A compiled Jinja expression evaluated to a boolean."""

    __slots__ = ("_expression", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self._expression = _ENV.compile_expression(source, undefined_to_none=True)

    def holds(self, names: Mapping[str, Any]) -> bool:
        """Whether the condition is true for these names; :class:`TemplateFailed` if the
        expression raises."""
        try:
            return bool(self._expression(names))
        except Exception as exc:
            raise TemplateFailed(self.source, exc) from exc


def coerce(text: str) -> Value:
    """Turn a rendered template back into the scalar it spells."""
    stripped = text.strip()
    if _INT.fullmatch(stripped):
        return int(stripped)
    if _FLOAT.fullmatch(stripped):
        return float(stripped)
    lowered = stripped.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if not stripped:  # an unset value renders as nothing (``_shown``)
        return None
    return text


def literal(value: Value) -> Template | Value:
    """Compile strings as templates; keep other scalars as they are."""
    return Template(value) if isinstance(value, str) else value


class NestedContext(dict[str, dict[str, Value]]):
    """Context keys by bot (``context.a.k``, ``context['a']['k']``) that also answer the
    qualified key itself (``context['a.k']``), as ``baton check`` accepts."""

    def __missing__(self, key: str) -> Value:
        bot, dot, name = key.partition(".")
        inner = dict.get(self, bot) if dot else None
        if inner is None or name not in inner:
            raise KeyError(key)
        return inner[name]


def nest_context(flat: Mapping[str, Value]) -> NestedContext:
    """``{"a.k": 1}`` → ``{"a": {"k": 1}}`` so templates write ``context.a.k``."""
    nested = NestedContext()
    for key, value in flat.items():
        bot, _, name = key.partition(".")
        nested.setdefault(bot, {})[name] = value
    return nested
