"""``baton import``: a project made from labelled examples (a TSV of text, intent, bot).

One bot folder per value of the ``bot`` column, with its intents and examples; rows whose
intent is ``oos`` (out of scope) are not training data and are skipped. Each intent gets a
one-step flow that says which intent it is, so the project loads and runs at once; teams
replace those flows with real ones. Every bot joins the collaboration group ``all``; one bot
is primary (the one named, else the first alphabetically).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import yaml

from baton.nlu.data import Row, read_rows, slug
from baton.spec.project import Project

GROUP = "all"


def _dump(data: object) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def import_rows(
    rows: Iterable[Row],
    out: Path,
    project_name: str | None = None,
    primary: str | None = None,
    group: str = GROUP,
) -> Path:
    """Write a project folder at ``out`` from labelled rows; return its root."""
    bots: dict[str, dict[str, list[str]]] = {}
    for row in rows:
        if not row.in_scope:
            continue
        examples = bots.setdefault(row.bot, {}).setdefault(slug(row.intent), [])
        if row.text not in examples:
            examples.append(row.text)
    if not bots:
        raise ValueError("no in-scope rows: nothing to import")
    chosen = slug(primary) if primary else sorted(bots)[0]
    if chosen not in bots:
        raise ValueError(f"primary bot '{primary}' is not in the data ({', '.join(sorted(bots))})")
    out.mkdir(parents=True, exist_ok=True)
    name = project_name or out.resolve().name
    (out / "baton.yml").write_text(_dump({"name": name}), encoding="utf-8")
    for bot_id, intents in sorted(bots.items()):
        folder = out / "bots" / bot_id
        folder.mkdir(parents=True, exist_ok=True)
        settings = {
            "name": bot_id.replace("_", " ").capitalize(),
            "description": f"Imported: {len(intents)} intents.",
            "primary": bot_id == chosen,
            "group": group,
        }
        (folder / "bot.yml").write_text(_dump(settings), encoding="utf-8")
        intents_doc = {"intents": {i: {"examples": ex} for i, ex in sorted(intents.items())}}
        (folder / "intents.yml").write_text(_dump(intents_doc), encoding="utf-8")
        flows = {"flows": {i: {"steps": [{"say": f"({bot_id}.{i})"}]} for i in sorted(intents)}}
        (folder / "flows.yml").write_text(_dump(flows), encoding="utf-8")
    return out


def import_tsv(
    data: Path, out: Path, project_name: str | None = None, primary: str | None = None
) -> Project:
    """Import a TSV (``text``, ``intent``, ``bot``) into a project at ``out`` and load it."""
    from baton.project.loader import load_project

    import_rows(read_rows(data), out, project_name, primary)
    return load_project(out)
