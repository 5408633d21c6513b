"""``baton import``: a project made from labelled examples (a TSV of text, intent, bot).

One bot folder per value of the ``bot`` column, with its intents and examples; rows whose
intent is ``oos`` (out of scope) are not training data and are skipped. Each intent gets a
one-step flow that says which intent it is, so the project loads and runs at once; teams
replace those flows with real ones. Every bot joins the collaboration group ``all``; one bot
is primary (the one named, else the first alphabetically).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

import yaml

from baton.domain.errors import ProjectInvalid
from baton.nlu.data import SHOWN_PROBLEMS, Row, read_rows, slug
from baton.spec.project import Project

GROUP = "all"
#: where ``--force`` moves an ``nlu.yml`` whose gates name bots the new data lacks
STALE_THRESHOLDS = "nlu.yml.old"


def _dump(data: object) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def merged_names(rows: Iterable[Row]) -> list[str]:
    """Bot and intent names that differ in the data but become one id (``Front Desk`` and
    ``front-desk`` are both ``front_desk``): said aloud, as they merge their examples."""
    spellings: dict[str, set[str]] = {}
    for row in rows:
        if row.in_scope:
            spellings.setdefault(f"bot {row.bot}", set()).add(row.bot_name or row.bot)
            spellings.setdefault(f"intent {row.qualified}", set()).add(row.intent)
    return [
        f"{', '.join(repr(n) for n in sorted(names))} all become {key}"
        for key, names in sorted(spellings.items())
        if len(names) > 1
    ]


def import_rows(
    rows: Iterable[Row],
    out: Path,
    project_name: str | None = None,
    primary: str | None = None,
    group: str = GROUP,
    force: bool = False,
) -> Path:
    """Write a project folder at ``out`` from labelled rows; return its root.

    ``out`` must be empty or new; with ``force`` an existing folder's ``baton.yml`` and
    ``bots/`` are replaced (its other files stay). The project is written to a temporary
    folder beside ``out`` first, so a failure leaves ``out`` as it was.
    """
    if out.is_file():
        raise ValueError(f"{out} is a file; --out names the project folder to create")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise ValueError(
            f"{out} is not empty: baton import creates a new project. Choose another folder, "
            "or add --force to replace its baton.yml and bots/ (other files stay)"
        )
    bots: dict[str, dict[str, list[str]]] = {}
    names: dict[str, str] = {}  # bot id -> the name as the file first spells it
    spelled: dict[tuple[str, str], str] = {}  # (bot, intent id) -> the label as first spelled
    labels: dict[tuple[str, str], dict[str, Row]] = {}  # (bot, text) -> its rows by intent
    seen: dict[tuple[str, str], set[str]] = {}  # (bot, intent) -> its examples, folded
    for row in rows:
        if not row.in_scope:
            continue
        names.setdefault(row.bot, row.bot_name.strip() or row.bot)
        examples = bots.setdefault(row.bot, {}).setdefault(slug(row.intent), [])
        spelled.setdefault((row.bot, slug(row.intent)), row.intent.strip())
        folded = " ".join(row.text.lower().split())  # as `baton check` compares examples
        kept = seen.setdefault((row.bot, slug(row.intent)), set())
        if folded not in kept:
            kept.add(folded)
            examples.append(row.text)
        said = labels.setdefault((row.bot, folded), {})
        said.setdefault(slug(row.intent), row)
    if not bots:
        raise ValueError("no in-scope rows: nothing to import")
    _refuse_two_labels(labels)
    chosen = slug(primary) if primary else sorted(bots)[0]
    if chosen not in bots:
        raise ValueError(f"primary bot '{primary}' is not in the data ({', '.join(sorted(bots))})")
    name = project_name or out.resolve().name
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.import-", dir=out.parent))
    try:
        _write(staging, name, bots, chosen, group, names, spelled)
        if out.is_dir():
            if (out / "bots").exists():
                shutil.rmtree(out / "bots")
            (staging / "bots").rename(out / "bots")
            (staging / "baton.yml").replace(out / "baton.yml")
            _set_aside_stale_gates(out, list(bots), group)
        else:
            staging.rename(out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return out


def _set_aside_stale_gates(root: Path, bots: list[str], group: str) -> None:
    """An ``nlu.yml`` kept from the data before that names a bot or group the new data
    lacks would stop the project from loading: it becomes ``nlu.yml.old``."""
    from baton.nlu.thresholds import THRESHOLDS_FILE, load_thresholds

    path = root / THRESHOLDS_FILE
    if not path.is_file():
        return
    try:
        load_thresholds(root, {"bots": bots, "groups": [group]})
    except ProjectInvalid:
        aside, n = root / STALE_THRESHOLDS, 1
        while aside.exists():  # an earlier import's is kept too
            aside, n = root / f"{STALE_THRESHOLDS}.{n}", n + 1
        path.replace(aside)


def _write(
    out: Path,
    name: str,
    bots: dict[str, dict[str, list[str]]],
    chosen: str,
    group: str,
    names: dict[str, str],
    spelled: dict[tuple[str, str], str],
) -> None:
    (out / "baton.yml").write_text(_dump({"name": name}), encoding="utf-8")
    for bot_id, intents in sorted(bots.items()):
        folder = out / "bots" / bot_id
        folder.mkdir(parents=True, exist_ok=True)
        count = f"{len(intents)} intent{'s' if len(intents) != 1 else ''}"
        settings = {
            "name": names.get(bot_id) or bot_id.replace("_", " ").capitalize(),
            "description": f"Imported: {count}.",
            "primary": bot_id == chosen,
            "group": group,
        }
        (folder / "bot.yml").write_text(_dump(settings), encoding="utf-8")
        # a label its id can't spell ("退款" is x_f1c91e1d) is kept as the description
        label = {i: _readable(spelled.get((bot_id, i), i), i) for i in intents}
        intents_doc = {
            "intents": {
                i: {"examples": ex, **({"description": label[i]} if label[i] != i else {})}
                for i, ex in sorted(intents.items())
            }
        }
        (folder / "intents.yml").write_text(_dump(intents_doc), encoding="utf-8")
        flows = {
            "flows": {i: {"steps": [{"say": f"({bot_id}.{label[i]})"}]} for i in sorted(intents)}
        }
        (folder / "flows.yml").write_text(_dump(flows), encoding="utf-8")


def _readable(label: str, intent: str) -> str:
    """The label as written when its id lost the words (non-Latin script), else the id."""
    return intent if label.isascii() else label


def import_tsv(
    data: Path,
    out: Path,
    project_name: str | None = None,
    primary: str | None = None,
    force: bool = False,
) -> Project:
    """Import a TSV (``text``, ``intent``, ``bot``) into a project at ``out`` and load it."""
    from baton.project.loader import load_project

    import_rows(read_rows(data), out, project_name, primary, force=force)
    return load_project(out)


def _refuse_two_labels(labels: dict[tuple[str, str], dict[str, Row]]) -> None:
    """A text labelled with two intents of one bot: the bot could not learn either from it."""
    clashing = [(bot, intents) for (bot, _), intents in labels.items() if len(intents) > 1]
    if not clashing:
        return
    shown = [
        f"  {next(iter(intents.values())).text!r}: bot {bot}, "
        + ", ".join(
            f"intent {i}" + (f" ({r.where})" if r.where else "") for i, r in sorted(intents.items())
        )
        for bot, intents in clashing[:SHOWN_PROBLEMS]
    ]
    more = (
        f"\n  ... and {len(clashing) - SHOWN_PROBLEMS} more"
        if len(clashing) > SHOWN_PROBLEMS
        else ""
    )
    raise ValueError(
        f"{len(clashing)} text(s) are labelled with two intents of one bot; give each one "
        "intent per bot (nothing was written):\n" + "\n".join(shown) + more
    )
