import json
from pathlib import Path

from baton.project import file_schemas, write_schemas


def test_every_file_kind_has_a_schema() -> None:
    schemas = file_schemas()
    assert sorted(schemas) == [
        "baton.yml",
        "bot.yml",
        "flows.yml",
        "intents.yml",
        "nlu.yml",
        "responses.yml",
        "workflow.yml",
    ]
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
        "nlu.schema.json",
        "responses.schema.json",
        "workflow.schema.json",
    ]
    loaded = json.loads((tmp_path / "schemas" / "bot.schema.json").read_text())
    assert loaded == file_schemas()["bot.yml"]


def test_every_example_file_is_valid_against_its_schema() -> None:
    """The schemas describe the files Baton reads: each example's files pass them, and
    the schemas refuse what the loader refuses (an unknown key)."""
    import jsonschema_rs
    import yaml

    from baton.testing.story import StoryFile

    schemas = file_schemas({"stories.yml": StoryFile})
    examples = Path(__file__).parents[2] / "examples"
    kinds = {
        "baton.yml": "*/baton.yml",
        "bot.yml": "*/bots/*/bot.yml",
        "intents.yml": "*/bots/*/intents.yml",
        "flows.yml": "*/bots/*/flows.yml",
        "responses.yml": "*/bots/*/responses.yml",
        "workflow.yml": "*/workflows/*.yml",
        "stories.yml": "*/tests/*.yml",
    }
    for kind, pattern in kinds.items():
        files = sorted(examples.glob(pattern))
        assert files, pattern
        for path in files:
            jsonschema_rs.validate(schemas[kind], yaml.safe_load(path.read_text(encoding="utf-8")))
    tuned = {"note": "tuned", "engine": "tfidf-svc-3", "groups": {"all": {"threshold": 0.6}}}
    jsonschema_rs.validate(schemas["nlu.yml"], tuned)
    for kind, wrong in (("nlu.yml", {"group": {}}), ("workflow.yml", {"trigerr": {}})):
        try:
            jsonschema_rs.validate(schemas[kind], wrong)
        except jsonschema_rs.ValidationError:
            continue
        raise AssertionError(f"the {kind} schema took {wrong}")
