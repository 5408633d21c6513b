"""Offline intent recognition: TF-IDF + linear SVM per bot and per collaboration group.

See docs/nlu.md for the design, the out-of-scope method and the CLINC150 figures.
"""

from baton.nlu.model import ENGINE_VERSION, EngineSettings, IntentModel, train_model
from baton.nlu.project import (
    Candidates,
    ModelClassifier,
    ProjectNlu,
    bot_fingerprint,
    group_fingerprint,
    train_project,
)
from baton.nlu.thresholds import (
    Gate,
    Thresholds,
    load_project_thresholds,
    load_thresholds,
    save_thresholds,
)

__all__ = [
    "ENGINE_VERSION",
    "Candidates",
    "EngineSettings",
    "Gate",
    "IntentModel",
    "ModelClassifier",
    "ProjectNlu",
    "Thresholds",
    "bot_fingerprint",
    "group_fingerprint",
    "load_project_thresholds",
    "load_thresholds",
    "save_thresholds",
    "train_model",
    "train_project",
]
