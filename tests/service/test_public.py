"""The service package's public names, and its schema migrations."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import dialplan.service
from dialplan.errors import UsageError
from dialplan.service.storage import SCHEMA_VERSION, Database


def test_public_names() -> None:
    assert dialplan.service.__all__ == ["Settings", "create_app"]
    for name in dialplan.service.__all__:
        assert getattr(dialplan.service, name) is not None


def test_schema_version_is_recorded_and_reopening_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    Database(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        conn.execute("INSERT INTO flows VALUES ('flw_1', 'acme', 'x', 0)")
    Database(path)  # migrating again is a no-op
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM flows").fetchone()[0] == 1


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(UsageError, match="newer than this dialplan"):
        Database(path)
