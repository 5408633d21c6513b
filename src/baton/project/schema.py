"""JSON Schemas of the project files, for editors that validate YAML as it is typed."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from baton.spec.bot import BotFile, IntentsFile, ResponsesFile
from baton.spec.flow import FlowsFile
from baton.spec.settings import ProjectFile
from baton.spec.workflow import WorkflowFile


class _Gate(BaseModel):
    """A tuned gate (``nlu.yml``): see docs/nlu.md, "Out of scope and thresholds"."""

    model_config = ConfigDict(extra="forbid")
    threshold: float | None = Field(None, ge=0, le=100)
    min_similarity: float | None = Field(None, ge=0, le=1)
    similarity_weight: float | None = Field(None, ge=0, le=100)


class NluFile(BaseModel):
    """``nlu.yml``, written by ``baton eval --tune`` (read by hand-written checks: this
    model is its schema for editors)."""

    model_config = ConfigDict(extra="forbid")
    note: str | None = None
    engine: str | None = Field(None, description="the engine the gates were tuned for")
    groups: dict[str, _Gate] = Field(default_factory=dict)
    bots: dict[str, _Gate] = Field(default_factory=dict)


_MODELS: dict[str, type[BaseModel]] = {
    "baton.yml": ProjectFile,
    "bot.yml": BotFile,
    "intents.yml": IntentsFile,
    "flows.yml": FlowsFile,
    "responses.yml": ResponsesFile,
    "workflow.yml": WorkflowFile,
    "nlu.yml": NluFile,
}


def file_schemas(
    more: Mapping[str, type[BaseModel]] | None = None,
) -> dict[str, dict[str, object]]:
    """The JSON Schema of each kind of project file, by file name (``workflow.yml`` for
    each ``workflows/*.yml``); ``more`` adds kinds that upper layers define (stories)."""
    schemas: dict[str, dict[str, object]] = {}
    for name, model in {**_MODELS, **(more or {})}.items():
        schema: dict[str, object] = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            **model.model_json_schema(by_alias=True),
        }
        schemas[name] = schema
    return schemas


def write_schemas(out_dir: Path, more: Mapping[str, type[BaseModel]] | None = None) -> list[Path]:
    """Write ``<kind>.schema.json`` for each file kind into ``out_dir``; return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, schema in file_schemas(more).items():
        path = out_dir / f"{name.removesuffix('.yml')}.schema.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        written.append(path)
    return written
