"""kill -9 of a running campaign, then resume: nothing lost, nothing doubled."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dialplan.broadcast.store.sqlite import Store

from ..counters_check import assert_counters_agree
from .helpers import MAX_ATTEMPTS, N, count, crash_campaign, snapshot

ROOT = Path(__file__).resolve().parents[2]


def _child(campaign: Path, db: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.broadcast.crash_child", str(campaign), str(db)],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
    )


@pytest.mark.parametrize("kill_when", ["loading", "calling"])
def test_kill_9_then_resume_loses_and_doubles_nothing(tmp_path: Path, kill_when: str) -> None:
    campaign = crash_campaign(tmp_path / "c")
    clean_db = tmp_path / "clean.sqlite"
    crash_db = tmp_path / "crash.sqlite"

    proc = _child(campaign, crash_db)
    sql = (
        "SELECT COUNT(*) FROM recipients"
        if kill_when == "loading"
        else "SELECT COUNT(*) FROM attempts"
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if count(crash_db, sql) > 0:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the campaign finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = count(crash_db, "SELECT COUNT(*) FROM attempts")
    unfinished = count(crash_db, "SELECT COUNT(*) FROM campaigns WHERE state != 'finished'")
    assert unfinished == 1  # it really died mid-campaign

    for db in (crash_db, clean_db):  # resume the crashed one; run a clean one for comparison
        done = _child(campaign, db)
        _, err = done.communicate(timeout=300)
        assert done.returncode == 0, err.decode()

    rows, events = snapshot(crash_db)
    clean_rows, clean_events = snapshot(clean_db)
    for db in (crash_db, clean_db):  # the stats counters survived the kill with the rows
        store = Store(db, readonly=True)
        assert_counters_agree(store)
        store.close()
    assert len(rows) == N + 2
    # every recipient ends with exactly one final result; nobody exceeds max_attempts
    assert all(r["final_result"] for r in rows)
    assert max(len(r["attempts"]) for r in rows) <= MAX_ATTEMPTS
    con = sqlite3.connect(crash_db)
    assert (
        con.execute(
            "SELECT COUNT(*) FROM (SELECT recipient_id, attempt_no FROM attempts"
            " GROUP BY 1, 2 HAVING COUNT(*) > 1)"
        ).fetchone()[0]
        == 0
    )
    # the resumed campaign is exactly the uninterrupted one: same calls, same events
    assert rows == clean_rows
    assert [e for e, _ in events] == [e for e, _ in clean_events]
    assert events == clean_events
    # ... and every attempt has its disconnected event in the outbox (nothing lost)
    disconnected = sum(1 for _, b in events if b'"event":"disconnected"' in b)
    assert disconnected == sum(len(r["attempts"]) for r in rows)
    assert sum(1 for _, b in events if b'"event":"broadcastcall_complete"' in b) == 1
    assert killed_at < sum(len(r["attempts"]) for r in rows)
