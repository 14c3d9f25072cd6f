"""Schema migrations: a database written by release 1 (``fixtures/release1-charity-drive.sql``,
a ``sqlite3 .dump`` of the demo campaign made with that release's code) opens and upgrades; a
schema newer than the code knows is refused with a one-line error (exit 2)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from dialplan.broadcast.reporting.stats import campaign_stats, export_rows
from dialplan.broadcast.store.migrations import LATEST, SchemaTooNew, version_of
from dialplan.broadcast.store.sqlite import Store

DUMP = Path(__file__).parent / "fixtures" / "release1-charity-drive.sql"


def release1_db(tmp_path: Path) -> Path:
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript(DUMP.read_text(encoding="utf-8"))
    db.close()
    return path


def test_release1_database_is_read_then_upgraded(tmp_path: Path) -> None:
    path = release1_db(tmp_path)
    before = sqlite3.connect(path)
    assert before.execute("PRAGMA user_version").fetchone()[0] == 0
    assert version_of(before) == 1
    before.close()
    old = Store(path, readonly=True)  # a reading command never changes the file
    exported = list(export_rows(old, "Charity Drive"))
    old.close()
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 0

    store = Store(path)  # a writing open upgrades
    try:
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == LATEST
        columns = {r[1] for r in store.db.execute("PRAGMA table_info(attempts)")}
        assert "reason" in columns
        assert store.in_flight(1) == []
        assert list(export_rows(store, "Charity Drive")) == exported
        stats = campaign_stats(store, "Charity Drive")
    finally:
        store.close()
    assert stats["callsAttempted"] == 7  # recipients called (11 calls placed)
    assert sum(len(r["attempts"]) for r in exported) == 11
    assert sum(len(r["responses"]) for r in exported) == 3
    # upgrading twice changes nothing
    again = Store(path)
    assert again.db.execute("PRAGMA user_version").fetchone()[0] == LATEST
    again.close()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = release1_db(tmp_path)
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {LATEST + 1}")
    db.close()
    for readonly in (False, True):
        with pytest.raises(SchemaTooNew, match=f"schema version {LATEST + 1}, newer"):
            Store(path, readonly=readonly)
    for command in ("stats", "export"):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "dialplan",
                "broadcast",
                command,
                "Charity Drive",
                "--db",
                str(path),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 2, done.stderr
        (line,) = done.stderr.strip().splitlines()
        assert "newer than this release knows" in line and str(path) in line
