"""A project's NLU: one model per bot, one cross-bot index per collaboration group.

Models are cached in ``cache_dir`` (by default ``<project>/.baton/nlu/``) under a name
that carries their fingerprint: the sha256 of the engine version, the training settings
and the training data. A bot whose intents did not change reuses its file; a group index
retrains when any member's fingerprint changes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import re
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from baton.domain.ports import IntentMatch, Recognition
from baton.nlu.index import SHORTLIST_ENGINE, ShortlistIndex, train_shortlist
from baton.nlu.model import (
    EMBEDDINGS_ENGINE,
    Analysis,
    EngineSettings,
    IntentModel,
    train_model,
)
from baton.nlu.thresholds import (
    EMBEDDINGS_MIN_SIMILARITY,
    Gate,
    Thresholds,
    load_project_thresholds,
)
from baton.nlu.topics import CLAUSE_MARGIN, clauses
from baton.spec.project import BotDefinition, Project

log = logging.getLogger(__name__)

#: ``progress(done, total, description)``: called before each model and once at the end.
Progress = Callable[[int, int, str], None]
TOP = 5
#: a group's cross-bot index: one joint model, or a shortlist over its members' models
GroupModel = IntentModel | ShortlistIndex
#: cached model files: pickles (the cache is the project's own, written by ``baton train``)
SUFFIX = ".model"


@dataclass(frozen=True)
class Candidates:
    """A message's ranking before any threshold, and its nearest-example similarity."""

    ranking: tuple[IntentMatch, ...]
    similarity: float


class ModelClassifier:
    """An :class:`~baton.domain.ports.IntentClassifier` over one model and one gate."""

    def __init__(
        self, model: IntentModel | ShortlistIndex | None, gate: Gate, top: int = TOP
    ) -> None:
        self.model = model
        self.gate = gate
        self.top = top
        labels = model.labels if model is not None else ()
        self._matches = [tuple(label.split(".", 1)) for label in labels]
        self._per_bot = Counter(bot for bot, _ in self._matches)
        self._last: tuple[str, str | None, Recognition] | None = None

    def candidates(self, text: str, exclude: str | None = None) -> Candidates:
        """Ranked candidates (no threshold applied) and the similarity; none of bot
        ``exclude`` (a shortlist index then spends no work on that bot)."""
        model = self.model
        if model is None:
            return Candidates((), 0.0)
        if isinstance(model, ShortlistIndex):
            analysis: Analysis = model.analyse(text, self.top, exclude)
        else:  # room for the top candidates once the excluded bot's are dropped
            analysis = model.analyse(text, self.top + self._per_bot.get(exclude or "", 0))
        matches = self._matches
        labels = model.labels
        ranking = tuple(
            IntentMatch(matches[c][0], labels[c], p)
            for c, p in zip(analysis.classes, analysis.probabilities, strict=True)
            if matches[c][0] != exclude
        )
        return Candidates(ranking, analysis.similarity)

    def decide(self, candidates: Candidates, gate: Gate | None = None) -> Recognition:
        """Apply a gate (this classifier's by default) to candidates."""
        gate = gate or self.gate
        ranking = candidates.ranking
        confident = []
        for match in ranking:  # best first: the first candidate the gate refuses ends it
            if not gate.accepts(match.confidence, candidates.similarity):
                break
            confident.append(match)
        return Recognition(confident[0] if confident else None, ranking, tuple(confident))

    def classify(self, text: str, exclude: str | None = None) -> Recognition:
        """Ranked candidates (of every bot but ``exclude``); ``best`` is None when out of
        scope. The last answer is kept: a turn may ask twice about one message (a bot
        runs again once the router has checked its reading against the group's)."""
        last = self._last
        if last is not None and last[0] == text and last[1] == exclude:
            return last[2]
        recognition = self.decide(self.candidates(text, exclude))
        if recognition.best is None:
            recognition = self.topics(text, exclude) or recognition
        self._last = (text, exclude, recognition)
        return recognition

    def topics(self, text: str, exclude: str | None = None) -> Recognition | None:
        """A message of two topics or more, each clear in its own clause (``nlu.topics``):
        the clearest first, the others after it; None when fewer than two are clear."""
        parts = clauses(text)
        if not parts:
            return None
        gate = replace(self.gate, threshold=self.gate.threshold + CLAUSE_MARGIN)
        found = [self.decide(self.candidates(part, exclude), gate).best for part in parts]
        clear = sorted((m for m in found if m is not None), key=lambda m: -m.confidence)
        if len(clear) < 2:
            return None
        return Recognition(clear[0], tuple(clear), tuple(clear))


class ProjectNlu:
    """Trained classifiers of a project, by bot and by collaboration group."""

    def __init__(
        self,
        project: Project,
        bot_models: dict[str, IntentModel],
        group_models: dict[str, GroupModel],
        thresholds: Thresholds,
        trained: list[str] | None = None,
        reused: list[str] | None = None,
        engine: str = "",
    ) -> None:
        self.project = project
        self.bot_models = bot_models
        self.group_models = group_models
        self._classifiers: dict[str, ModelClassifier] = {}
        self.thresholds = thresholds
        self.trained = trained or []
        self.reused = reused or []
        #: the engine the models were trained with (``EngineSettings.engine``)
        self.engine = engine

    @property
    def thresholds(self) -> Thresholds:
        """The gates in use; setting new ones rebuilds the classifiers on next use."""
        return self._thresholds

    @thresholds.setter
    def thresholds(self, thresholds: Thresholds) -> None:
        self._thresholds = thresholds
        self._classifiers.clear()

    def for_bot(self, bot_id: str) -> ModelClassifier:
        """The bot's own classifier: its intents only, its own gate."""
        known = self._classifiers.get(f"bot:{bot_id}")
        if known is not None:
            return known
        bot = self.project.bots.get(bot_id)
        if bot is None:
            raise KeyError(f"no bot '{bot_id}' in project {self.project.name}")
        model = self.bot_models.get(bot_id)
        made = ModelClassifier(model, self.thresholds.for_bot(bot, _default_gate(model)))
        self._classifiers[f"bot:{bot_id}"] = made
        return made

    def for_group(self, group: str) -> ModelClassifier:
        """The cross-bot index of a collaboration group: top candidates across its bots."""
        known = self._classifiers.get(f"group:{group}")
        if known is None:
            model = self.group_models.get(group)
            gate = self.thresholds.for_group(group, _default_gate(model))
            known = ModelClassifier(model, gate)
            self._classifiers[f"group:{group}"] = known
        return known

    @property
    def groups(self) -> list[str]:
        return sorted(self.group_models)

    def warm_up(self) -> list[str]:
        """Load the sentence encoders the models use, so the first message that needs
        them does not wait for it (~0.2 s for MiniLM, ~0.7 s for USE); their names."""
        from baton.nlu import encoder, use_encoder

        models = [*self.bot_models.values(), *self.group_models.values()]
        loaded = []
        if any(isinstance(m, IntentModel) and m.head is not None for m in models):
            encoder.get_encoder().encode_one("hello")
            loaded.append(encoder.MODEL_NAME)
        uses_use = any(
            (isinstance(m, IntentModel) and m.head is not None)
            or (isinstance(m, ShortlistIndex) and m.vectors is not None)
            for m in models
        )
        if uses_use:
            use_encoder.get_use_encoder().encode_one("hello")
            loaded.append(use_encoder.MODEL_NAME)
        return loaded


def _default_gate(model: IntentModel | ShortlistIndex | None) -> Gate:
    """The gate of an untuned model: a higher similarity bound when it is a MiniLM cosine."""
    if isinstance(model, IntentModel) and model.engine == EMBEDDINGS_ENGINE:
        return Gate(min_similarity=EMBEDDINGS_MIN_SIMILARITY)
    return Gate()


def _digest(data: object) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode("utf-8")).hexdigest()


def bot_training_data(bot: BotDefinition) -> tuple[list[str], list[str]]:
    """Examples and qualified labels (``bot.intent``) of a bot."""
    texts: list[str] = []
    labels: list[str] = []
    for name, spec in bot.intents.items():
        for example in spec.examples:
            if example.strip():
                texts.append(example)
                labels.append(bot.qualified(name))
    return texts, labels


def bot_fingerprint(bot: BotDefinition, settings: EngineSettings) -> str:
    """sha256 of the engine, its settings and the bot's training data."""
    texts, labels = bot_training_data(bot)
    return _digest({"settings": settings.as_dict(), "bot": bot.bot_id, "data": [texts, labels]})


def group_fingerprint(members: dict[str, str], settings: EngineSettings) -> str:
    """sha256 of the engine, its settings and the members' fingerprints."""
    return _digest(
        {
            "settings": settings.as_dict(),
            "index": SHORTLIST_ENGINE,
            "members": sorted(members.items()),
        }
    )


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)


def _cached_or_trained(
    cache_dir: Path,
    kind: str,
    name: str,
    fingerprint: str,
    train: Callable[[], IntentModel | ShortlistIndex],
    engine: str = "tfidf",
) -> tuple[IntentModel | ShortlistIndex, bool]:
    """The cached model, or a new one trained and cached (True). Files are named
    ``<kind>-<name>-<engine>-<fingerprint>``: a model replaces its older files of the same
    engine, so switching ``BATON_NLU_EMBEDDINGS`` back and forth retrains nothing."""
    safe = _safe(name)
    if safe != name:  # "a.b" and "a_b" must not share files
        safe += "-" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    prefix = f"{kind}-{safe}-"
    path = cache_dir / f"{prefix}{engine}-{fingerprint[:20]}{SUFFIX}"
    # this model's older files of this engine (or of before engines were named), not those
    # of a name that merely starts the same ("all-stars")
    own = re.compile(re.escape(prefix) + rf"(?:{engine}-)?[0-9a-f]{{20}}" + re.escape(SUFFIX))
    if path.is_file():
        try:
            with path.open("rb") as file:
                model = pickle.load(file)
            if isinstance(model, IntentModel | ShortlistIndex) and model.fingerprint == fingerprint:
                return model, False
        except Exception:  # a corrupt or foreign file: train again
            pass
    model = train()
    try:
        _write(model, path)
        for stale in cache_dir.glob(f"{prefix}*{SUFFIX}"):
            if stale != path and own.fullmatch(stale.name):
                stale.unlink(missing_ok=True)
    except OSError as exc:  # a read-only file system: the model serves from memory
        if cache_dir not in _UNWRITABLE:
            _UNWRITABLE.add(cache_dir)
            log.warning(
                "the NLU cache %s can't be written (%s): models are trained at each start; "
                "set BATON_NLU_CACHE to a writable folder to keep them",
                cache_dir,
                exc,
            )
    return model, True


#: cache folders already reported as unwritable (one warning each, not one per model)
_UNWRITABLE: set[Path] = set()


def _write(model: IntentModel | ShortlistIndex, path: Path) -> None:
    """Write the model beside ``path`` under a name of this process's own, then move it
    into place: replicas training at once each write their own file (a shared ``.tmp``
    name was truncated by one while another renamed it, and that one crashed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        os.fchmod(handle, 0o666 & ~_UMASK)  # as open() would: mkstemp makes it 0600
        with os.fdopen(handle, "wb") as file:
            pickle.dump(model, file, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: read once, at import (setting it to read it is not safe while other threads make files)
_UMASK = _read_umask()


def default_cache_dir(project: Project) -> Path:
    """Where a project's models are cached: ``BATON_NLU_CACHE`` (one project's models per
    folder) or the project's ``.baton/nlu``."""
    chosen = os.environ.get("BATON_NLU_CACHE")
    return Path(chosen) if chosen else project.root / ".baton" / "nlu"


def _engine_tag(settings: EngineSettings) -> str:
    """The engine's short name in cache file names."""
    return "emb" if settings.engine == EMBEDDINGS_ENGINE else "tfidf"


def _train_group(
    texts: list[str], labels: list[str], settings: EngineSettings, fingerprint: str
) -> GroupModel:
    """A joint classifier, or a shortlist index above ``settings.joint_max_labels`` intents."""
    if len(set(labels)) <= settings.joint_max_labels:
        return train_model(texts, labels, settings, fingerprint)
    return train_shortlist(
        texts,
        labels,
        settings.features,
        settings.prototype_features,
        settings.shortlist_bots,
        fingerprint,
        embeddings=settings.resolved().embeddings == "on",
    )


def train_project(
    project: Project,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
    settings: EngineSettings | None = None,
    thresholds: Thresholds | None = None,
) -> ProjectNlu:
    """Train (or load from cache) every bot's model and every group's cross-bot index."""
    settings = settings or EngineSettings()
    cache_dir = cache_dir or default_cache_dir(project)
    bots = {b: bot for b, bot in sorted(project.bots.items()) if bot_training_data(bot)[0]}
    groups: dict[str, list[BotDefinition]] = {}
    for bot in bots.values():
        if bot.settings.group is not None:
            groups.setdefault(bot.settings.group, []).append(bot)
    total = len(bots) + len(groups)
    done = 0
    trained: list[str] = []
    reused: list[str] = []
    fingerprints: dict[str, str] = {}
    bot_models: dict[str, IntentModel] = {}
    for bot_id, bot in bots.items():
        if progress:
            progress(done, total, f"bot {bot_id}")
        fingerprints[bot_id] = bot_fingerprint(bot, settings)

        def train(bot: BotDefinition = bot, fingerprint: str = fingerprints[bot_id]) -> IntentModel:
            return train_model(*bot_training_data(bot), settings, fingerprint)

        model, fresh = _cached_or_trained(
            cache_dir, "bot", bot_id, fingerprints[bot_id], train, _engine_tag(settings)
        )
        if not isinstance(model, IntentModel):
            raise TypeError(f"the cached model of bot {bot_id} is not a bot model")
        bot_models[bot_id] = model
        (trained if fresh else reused).append(f"bot:{bot_id}")
        done += 1
    group_models: dict[str, GroupModel] = {}
    for group, members in sorted(groups.items()):
        if progress:
            progress(done, total, f"group {group}")

        fingerprint = group_fingerprint(
            {m.bot_id: fingerprints[m.bot_id] for m in members}, settings
        )

        def train_group(
            members: list[BotDefinition] = members, fingerprint: str = fingerprint
        ) -> GroupModel:
            texts: list[str] = []
            labels: list[str] = []
            for member in members:
                t, lab = bot_training_data(member)
                texts += t
                labels += lab
            return _train_group(texts, labels, settings, fingerprint)

        group_model, fresh = _cached_or_trained(
            cache_dir, "group", group, fingerprint, train_group, _engine_tag(settings)
        )
        if isinstance(group_model, ShortlistIndex):
            group_model.attach(bot_models)
        group_models[group] = group_model
        (trained if fresh else reused).append(f"group:{group}")
        done += 1
    if progress:
        progress(done, total, "done")
    if thresholds is None:
        thresholds = load_project_thresholds(project, settings.engine)
    return ProjectNlu(
        project, bot_models, group_models, thresholds, trained, reused, settings.engine
    )
