"""The tiny two-bot project as a folder made by ``import_rows``."""

from __future__ import annotations

from pathlib import Path

import pytest

from baton.project import load_project
from baton.project.importer import import_rows
from baton.spec.project import Project
from tests.nlu.tiny import rows


@pytest.fixture
def tiny(tmp_path: Path) -> Project:
    return load_project(import_rows(rows(), tmp_path / "tiny", "tiny"))


@pytest.fixture(autouse=True)
def _tfidf_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests pin the default engine (what CI installs); see test_embeddings.py."""
    monkeypatch.setenv("BATON_NLU_EMBEDDINGS", "off")
