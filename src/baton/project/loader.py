"""Reads a project folder into a :class:`~baton.spec.project.Project`, or says what is wrong.

Every file is parsed and every problem collected before anything is raised.
The whole-project check (:func:`~baton.project.check.check_project`) runs
once every file has parsed: a check over half-parsed bots would report
mistakes that are only echoes of the parse errors.

Only YAML files are judged in a bot folder: other files (a README, knowledge
documents) are left alone, but a YAML file that is not one of
:data:`BOT_FILES` is a problem, since it is most often a misnamed file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from baton.domain.errors import Problem, ProjectInvalid
from baton.project.check import check_project
from baton.project.hints import closest
from baton.project.validation import validate
from baton.spec.bot import BotFile, IntentsFile, ResponsesFile
from baton.spec.flow import FlowsFile
from baton.spec.project import BotDefinition, Project
from baton.spec.settings import ProjectFile
from baton.spec.workflow import WorkflowFile
from baton.spec.yamlfile import Sources, load_yaml

M = TypeVar("M", bound=BaseModel)

BOT_FILES = ("bot.yml", "intents.yml", "flows.yml", "responses.yml")
BOT_ID = re.compile(r"^[a-z][a-z0-9_]*$")


def load_project(root: Path) -> Project:
    """Load and check the project at ``root``; raise ``ProjectInvalid`` with every problem."""
    reading = read_project(root)
    problems = reading.problems
    if reading.project is not None and not problems:
        problems = check_project(reading.project, reading.sources)
    if problems or reading.project is None:
        raise ProjectInvalid(problems)
    return reading.project


@dataclass
class Reading:
    """What reading a project folder gave: the project (if every file parsed), files, problems."""

    project: Project | None
    sources: Sources = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def read_project(root: Path) -> Reading:
    """Parse every file of the project at ``root`` without the semantic check."""
    reading = Reading(None)
    if not root.is_dir():
        fix = "pass the folder that holds baton.yml"
        reading.problems.append(Problem(str(root), 0, "no project folder here", fix))
        return reading
    settings = _settings(root, reading)
    bots = _bots(root, reading)
    workflows = _workflows(root, reading)
    _strays(root, reading)
    if settings is not None and not reading.problems:
        reading.project = Project(root=root, settings=settings, bots=bots, workflows=workflows)
    reading.problems.sort(key=lambda p: (p.file, p.line))
    return reading


#: what Baton reads at a project's root; a YAML file or folder named like one of them but
#: not quite (``nlu.yaml``, ``workflow/``, ``test/``) is never read, a typo until shown
#: otherwise. Other YAML (``docker-compose.yml``, ``deploy/``) is the project's business.
ROOT_FILES = ("baton.yml", "nlu.yml")
ROOT_FOLDERS = ("bots", "workflows", "tests")
#: names of a bot's own stories folder written otherwise
STORY_FOLDERS = ("test", "tests", "stories", "story", "spec", "specs")


def _strays(root: Path, reading: Reading) -> None:
    """YAML files and folders at the root named like what Baton reads, but not quite."""
    for entry in sorted(root.iterdir()):
        if entry.name.startswith((".", "_")) or entry.name in (*ROOT_FOLDERS, "baton.yaml"):
            continue  # _settings says to rename baton.yaml
        if entry.is_file() and _is_yaml(entry) and entry.name not in ROOT_FILES:
            near = closest(entry.stem, [f.removesuffix(".yml") for f in ROOT_FILES])
            if near is None:
                continue
            fix = f"rename it to {near}.yml: Baton reads {', '.join(ROOT_FILES)} at the root"
            reading.problems.append(Problem(entry.name, 0, "unknown file: nothing reads it", fix))
        elif entry.is_dir() and (near := _folder_meant(entry.name)) and _holds_yaml(entry):
            fix = f"rename it to {near}/: Baton reads bots/, workflows/ and tests/ at the root"
            message = "unknown folder of YAML files: nothing reads them"
            reading.problems.append(Problem(f"{entry.name}/", 0, message, fix))


def _folder_meant(name: str) -> str | None:
    """The root folder a folder's name was probably meant to be (``workflow`` →
    ``workflows``, ``stories`` → ``tests``)."""
    if name.lower() in STORY_FOLDERS:
        return "tests"
    return closest(name.lower(), ROOT_FOLDERS)


def _is_yaml(path: Path) -> bool:
    return path.suffix in (".yml", ".yaml")


def _holds_yaml(folder: Path) -> bool:
    """Whether a folder holds YAML files, itself or one level down."""
    return any(_is_yaml(p) for pattern in ("*", "*/*") for p in folder.glob(pattern))


def _project_above(folder: Path) -> Path | None:
    """The nearest folder above ``folder`` that holds a baton.yml, if any."""
    for parent in folder.resolve().parents:
        if (parent / "baton.yml").is_file():
            return parent
    return None


def _settings(root: Path, reading: Reading) -> ProjectFile | None:
    path = root / "baton.yml"
    if not path.is_file():
        fix = "create baton.yml with at least `name: my-project`"
        if (root / "baton.yaml").is_file():
            fix = "rename baton.yaml to baton.yml"
        project = _project_above(root)
        if project is not None:  # a bot's folder, or another inside a project
            inside = root.resolve().relative_to(project)
            in_bot = len(inside.parts) > 1 and inside.parts[0] == "bots"
            where = f"bot {inside.parts[1]!r}" if in_bot else f"the folder {inside}"
            fix = (
                f"this is {where} of the project at {project}: run the command on that "
                "folder (`baton test P -k WORDS` picks stories by name)"
            )
        reading.problems.append(Problem("baton.yml", 0, f"no baton.yml in {root}", fix))
        return None
    doc, problems = load_yaml(path, "baton.yml")
    reading.sources[doc.file] = doc
    reading.problems += problems
    if problems:
        return None
    settings, problems = validate(ProjectFile, doc)
    reading.problems += problems
    return settings


def _bots(root: Path, reading: Reading) -> dict[str, BotDefinition]:
    bots: dict[str, BotDefinition] = {}
    folder = root / "bots"
    if not folder.is_dir():
        return bots
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith((".", "_")):
            continue
        if not entry.is_dir():
            if entry.suffix in (".yml", ".yaml"):
                fix = f"move it to bots/{entry.stem}/bot.yml: each bot is a folder"
                message = "bots/ holds one folder per bot, not YAML files"
                reading.problems.append(Problem(f"bots/{entry.name}", 0, message, fix))
            continue
        if not BOT_ID.match(entry.name):
            suggestion = re.sub(r"[^a-z0-9_]", "_", entry.name.lower()).lstrip("_0123456789")
            message = f"bot folder name '{entry.name}' is not a valid bot id"
            fix = f"rename it to '{suggestion or 'my_bot'}': lower-case letters, digits, '_'"
            reading.problems.append(Problem(f"bots/{entry.name}", 0, message, fix))
            continue
        bot = _bot(root, entry, reading)
        if bot is not None:
            bots[bot.bot_id] = bot
    return bots


def _workflows(root: Path, reading: Reading) -> dict[str, WorkflowFile]:
    """``workflows/<name>.yml``: one workflow per file, named by the file."""
    workflows: dict[str, WorkflowFile] = {}
    folder = root / "workflows"
    if not folder.is_dir():
        return workflows
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith((".", "_")) or not entry.is_file():
            continue
        file = f"workflows/{entry.name}"
        if entry.suffix == ".yaml":
            fix = f"rename it to workflows/{entry.stem}.yml"
            reading.problems.append(Problem(file, 0, "workflow files end in .yml", fix))
            continue
        if entry.suffix != ".yml":
            continue
        if not BOT_ID.match(entry.stem):
            suggestion = re.sub(r"[^a-z0-9_]", "_", entry.stem.lower()).lstrip("_0123456789")
            message = f"workflow file name '{entry.name}' is not a valid workflow name"
            fix = (
                f"rename it to '{suggestion or 'my_workflow'}.yml': lower-case letters, digits, '_'"
            )
            reading.problems.append(Problem(file, 0, message, fix))
            continue
        spec = _file(root, file, WorkflowFile, reading, required=True)
        if spec is not None:
            workflows[entry.stem] = spec
    return workflows


def _bot(root: Path, folder: Path, reading: Reading) -> BotDefinition | None:
    bot_id = folder.name
    base = f"bots/{bot_id}"
    for extra in sorted(folder.iterdir()):
        if extra.name.startswith((".", "_")):
            continue
        if extra.is_file() and _is_yaml(extra) and extra.name not in BOT_FILES:
            if extra.stem in ("tests", "test", "stories"):
                fix = f"move it to {base}/tests/{extra.name}: a bot's stories go in its tests/"
            else:
                near = closest(extra.stem, [f.removesuffix(".yml") for f in BOT_FILES])
                hint = f"rename it to {near}.yml; " if near else ""
                fix = f"{hint}a bot folder holds {', '.join(BOT_FILES)}, and tests/ (stories)"
            reading.problems.append(Problem(f"{base}/{extra.name}", 0, "unknown file", fix))
        elif (
            extra.is_dir()
            and extra.name in STORY_FOLDERS[:1] + STORY_FOLDERS[2:]
            and (_holds_yaml(extra))
        ):
            fix = (
                f"rename it to {base}/tests/ if it holds stories; a bot folder holds "
                f"{', '.join(BOT_FILES)}, and tests/"
            )
            message = "unknown folder of YAML files: nothing reads them"
            reading.problems.append(Problem(f"{base}/{extra.name}/", 0, message, fix))
    if not (folder / "bot.yml").is_file():
        message = f"{base} has no bot.yml"
        fix = f"create {base}/bot.yml with at least `name: ...`"
        reading.problems.append(Problem(f"{base}/bot.yml", 0, message, fix))
        return None
    before = len(reading.problems)
    settings = _file(root, f"{base}/bot.yml", BotFile, reading, required=True)
    intents = _file(root, f"{base}/intents.yml", IntentsFile, reading, required=False)
    flows = _file(root, f"{base}/flows.yml", FlowsFile, reading, required=False)
    responses = _file(root, f"{base}/responses.yml", ResponsesFile, reading, required=False)
    if len(reading.problems) > before or settings is None:
        return None
    return BotDefinition(
        bot_id=bot_id,
        folder=folder,
        settings=settings,
        intents=dict(intents.intents) if intents else {},
        flows=dict(flows.flows) if flows else {},
        responses={
            name: [text] if isinstance(text, str) else list(text)
            for name, text in (responses.responses.items() if responses else ())
        },
    )


def _file(root: Path, file: str, model: type[M], reading: Reading, *, required: bool) -> M | None:
    """Parse one bot file; ``None`` when absent (and not required) or invalid."""
    path = root / file
    if not path.is_file() and not required:
        return None
    doc, problems = load_yaml(path, file)
    reading.sources[file] = doc
    reading.problems += problems
    if problems:
        return None
    spec, problems = validate(model, doc)
    reading.problems += problems
    return spec
