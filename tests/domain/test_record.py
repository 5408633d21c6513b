"""``@record``: immutable for the type checker, a light slotted dataclass at run time."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from mypy import api as mypy_api

from baton.domain import events as ev
from baton.domain.record import record
from baton.domain.state import HistoryLine


@record
class _Point:
    x: int
    label: str = "p"


def test_a_record_compares_hashes_and_copies_by_its_fields() -> None:
    assert _Point(1) == _Point(1, "p")
    assert hash(_Point(1)) == hash(_Point(1, "p"))
    assert {_Point(1), _Point(1), _Point(2)} == {_Point(1), _Point(2)}
    assert dataclasses.replace(_Point(1), label="q") == _Point(1, "q")
    assert not hasattr(_Point(1), "__dict__")  # slotted


def test_events_and_state_records_are_records() -> None:
    event = ev.MessageSent("hi", "bot", "triage")
    assert hash(event) == hash(ev.MessageSent("hi", "bot", "triage"))
    assert HistoryLine("user", "hi") == HistoryLine("user", "hi")


def test_the_type_checker_refuses_to_change_a_record(tmp_path: Path) -> None:
    source = tmp_path / "change_a_record.py"
    source.write_text(
        "from baton.domain.events import MessageSent\n"
        "event = MessageSent('hi', 'bot', 'triage')\n"
        "event.text = 'changed'\n"
    )
    out, _err, status = mypy_api.run(
        ["--strict", "--no-incremental", "--follow-imports=silent", str(source)]
    )
    assert status == 1
    assert 'Property "text" defined in "MessageSent" is read-only' in out
