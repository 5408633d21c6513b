"""The compiled serializers write the same text as the plain ``json`` road."""

import dataclasses

from baton.domain import events as ev
from baton.domain.events import EVENT_TYPES, event_to_dict
from baton.domain.state import ConversationState
from baton.storage.codec import dumps, event_text, snapshot_text
from tests.domain.test_events_documented import _sample


def _every_event() -> list[ev.Event]:
    made = []
    for cls in EVENT_TYPES.values():
        required = {
            f.name: _sample(f.type)
            for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        }
        made.append(cls(**required))
    return made


def test_every_event_type_is_written_as_json_writes_it() -> None:
    events = [
        *_every_event(),
        ev.MessageReceived("naïve “quotes” \u2028 and \\ slashes", "web", "m-1"),
        ev.ContextSet("score", 2.5, "bot:assess"),
        ev.ContextSet("nothing", float("nan"), "bot:assess"),
        ev.SlotSet("bot", "when", None),
    ]
    for event in events:
        assert event_text(event) == dumps(event_to_dict(event)), event


def test_a_state_is_written_as_json_writes_it() -> None:
    state = ConversationState()
    for event in _every_event():
        try:
            state.apply(event)
        except (KeyError, ValueError, TypeError):
            continue  # a sample that does not fit this state: the text is what is tested
    assert snapshot_text(state) == dumps(state.to_dict())
