import json
from pathlib import Path

from baton.project import file_schemas, write_schemas


def test_every_file_kind_has_a_schema() -> None:
    schemas = file_schemas()
    assert sorted(schemas) == ["baton.yml", "bot.yml", "flows.yml", "intents.yml", "responses.yml"]
    bot = schemas["bot.yml"]
    properties = bot["properties"]
    assert isinstance(properties, dict)
    assert "primary" in properties
    assert bot["additionalProperties"] is False
    assert bot["required"] == ["name"]


def test_schemas_use_the_yaml_names() -> None:
    text = json.dumps(file_schemas()["flows.yml"])
    assert '"return"' in text
    assert '"if"' in text
    assert "return_" not in text
    assert "if_" not in text


def test_write_schemas(tmp_path: Path) -> None:
    written = write_schemas(tmp_path / "schemas")
    assert sorted(p.name for p in written) == [
        "baton.schema.json",
        "bot.schema.json",
        "flows.schema.json",
        "intents.schema.json",
        "responses.schema.json",
    ]
    loaded = json.loads((tmp_path / "schemas" / "bot.schema.json").read_text())
    assert loaded == file_schemas()["bot.yml"]
