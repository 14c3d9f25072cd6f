"""Shared fixtures: where the shared corpus is (tests skip cleanly without it)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _find_shared() -> Path:
    """``$DIALPLAN_SHARED``, else the nearest ``shared/`` beside the checkout or above it."""
    if os.environ.get("DIALPLAN_SHARED"):
        return Path(os.environ["DIALPLAN_SHARED"])
    for folder in ROOT.parents:
        if (folder / "shared" / "corpus").is_dir():
            return folder / "shared"
    return ROOT.parent / "shared"


SHARED = _find_shared()
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


# the throwaway PostgreSQL server and its databases, for any test folder
from tests.pgfixtures import pg_db, pg_dsn, pg_server, shared_dsn  # noqa: E402, F401
