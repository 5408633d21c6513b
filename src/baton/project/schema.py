"""JSON Schemas of the project files, for editors that validate YAML as it is typed."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from baton.spec.bot import BotFile, IntentsFile, ResponsesFile
from baton.spec.flow import FlowsFile
from baton.spec.settings import ProjectFile

_MODELS: dict[str, type[BaseModel]] = {
    "baton.yml": ProjectFile,
    "bot.yml": BotFile,
    "intents.yml": IntentsFile,
    "flows.yml": FlowsFile,
    "responses.yml": ResponsesFile,
}


def file_schemas() -> dict[str, dict[str, object]]:
    """The JSON Schema of each kind of project file, by file name."""
    schemas: dict[str, dict[str, object]] = {}
    for name, model in _MODELS.items():
        schema: dict[str, object] = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            **model.model_json_schema(by_alias=True),
        }
        schemas[name] = schema
    return schemas


def write_schemas(out_dir: Path) -> list[Path]:
    """Write ``<kind>.schema.json`` for each file kind into ``out_dir``; return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, schema in file_schemas().items():
        path = out_dir / f"{name.removesuffix('.yml')}.schema.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        written.append(path)
    return written
