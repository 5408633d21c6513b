"""``@record``: an immutable dataclass for the objects every turn makes by the dozen.

Events, history lines, flow positions, bot turns, intent matches: a turn makes
twenty or so, and a ``@dataclass(frozen=True)`` pays for its run-time guard in
its constructor, which sets each field through ``object.__setattr__`` (0.62 µs
for four fields against 0.19 µs unguarded). Measured in the in-process REST
harness, that guard was 5% of a turn's CPU.

So a record is frozen for the type checker and plain at run time:
``dataclass_transform(frozen_default=True)`` makes mypy (``--strict`` in CI)
refuse any assignment to a record's field, exactly as for a frozen dataclass,
and at run time the class is a slotted dataclass with a field-based hash
(``unsafe_hash``: safe here, as nothing assigns to a record once built).
``dataclasses.replace`` makes changed copies, as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar, dataclass_transform

T = TypeVar("T")


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def record(cls: type[T]) -> type[T]:
    """Make ``cls`` an immutable record (see the module's docstring)."""
    return dataclass(slots=True, unsafe_hash=True)(cls)
