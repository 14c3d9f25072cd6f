"""Shared fixtures: where the shared corpus is (tests skip cleanly without it)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("DIALPLAN_SHARED", ROOT.parent / "shared"))
CORPUS = SHARED / "corpus"


def corpus_files() -> list[Path]:
    """Every dialplan in ../shared/corpus (empty when it is absent)."""
    return sorted(CORPUS.rglob("*.xml")) if CORPUS.is_dir() else []


def corpus_file(relative: str) -> Path:
    """One corpus file by path relative to ../shared/corpus, or skip the test."""
    path = CORPUS / relative
    if not path.is_file():
        pytest.skip(f"shared corpus file not available: {relative}")
    return path


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is not available")
    return CORPUS
