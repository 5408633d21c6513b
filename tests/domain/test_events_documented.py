import dataclasses
from pathlib import Path

from baton.domain.events import EVENT_TYPES, event_from_dict, event_to_dict

DOC = (Path(__file__).parents[2] / "docs" / "events.md").read_text()


def test_every_event_and_field_is_documented() -> None:
    for name, cls in EVENT_TYPES.items():
        heading = f"## `{name}` (v{cls.version})"
        assert heading in DOC, f"docs/events.md lacks {heading}"
        section = DOC.split(heading, 1)[1].split("\n## ", 1)[0]
        for field in dataclasses.fields(cls):
            assert f"- `{field.name}`" in section, f"{name}.{field.name} is undocumented"


def test_every_event_round_trips_through_its_dict() -> None:
    for cls in EVENT_TYPES.values():
        required = {
            f.name: _sample(f.type)
            for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        }
        event = cls(**required)
        assert event_from_dict(event.type, event_to_dict(event)) == event


def _sample(annotation: object) -> object:
    text = str(annotation)
    if "float" in text and "str" not in text:
        return 0.5
    if text.startswith("int"):
        return 3
    if "bool" in text and "str" not in text:
        return True
    if "Mode" in text:
        return "auto"
    if "BotStatusName" in text:
        return "paused"
    if "TransferReason" in text:
        return "api"
    if "Value" in text:
        return "v"
    return "x"
