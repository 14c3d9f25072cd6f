"""kill -9 of a running campaign, then resume: nothing lost, nothing doubled."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from dialplan.broadcast.stats import export_rows
from dialplan.broadcast.store import Store

from .helpers import write_campaign

ROOT = Path(__file__).resolve().parents[2]
N = 2500
MAX_ATTEMPTS = 3


def _campaign(tmp: Path) -> Path:
    rows = [
        {"phone_number": f"({('212', '312', '415', '808')[i % 4]}) 555-{i:04d}", "first": f"n{i}"}
        for i in range(N)
    ]
    rows += [
        {"phone_number": "(212) 555-0007", "first": "dup"},
        {"phone_number": "99", "first": "bad"},
    ]
    return write_campaign(
        tmp,
        rows,
        dnc=["2125550100", "4155550102"],
        max_active=20,
        calls_per_second=5,
        tables={
            "retry_config": {
                "max_attempts": MAX_ATTEMPTS,
                "minutes_between_attempts": 20,
                "retry_results": ["BUSY", "NO_ANS", "CARRIER_ERROR"],
            },
            "local_time_restriction": {"begin": "09:00", "end": "21:00"},
            "webhook": {"url": "http://127.0.0.1:9/hook", "secret": "k"},
            "network": {"allow_private": True},
            "simulation": {"seed": 3, "start": "2026-12-01T12:00:00Z"},
        },
    )


def _child(campaign: Path, db: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.broadcast.crash_child", str(campaign), str(db)],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
    )


def _count(db: Path, sql: str) -> int:
    if not db.exists():
        return 0
    try:
        con = sqlite3.connect(db, timeout=5)
        try:
            return int(con.execute(sql).fetchone()[0])
        finally:
            con.close()
    except sqlite3.OperationalError:
        return 0


def _snapshot(db: Path) -> tuple[list[dict[str, Any]], list[tuple[str, bytes]]]:
    store = Store(db)
    try:
        rows = list(export_rows(store, "test"))
        events = sorted(
            (e, bytes(b)) for e, b in store.db.execute("SELECT event_id, body FROM outbox")
        )
        return rows, events
    finally:
        store.close()


@pytest.mark.parametrize("kill_when", ["loading", "calling"])
def test_kill_9_then_resume_loses_and_doubles_nothing(tmp_path: Path, kill_when: str) -> None:
    campaign = _campaign(tmp_path / "c")
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
        if _count(crash_db, sql) > 0:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the campaign finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = _count(crash_db, "SELECT COUNT(*) FROM attempts")
    unfinished = _count(crash_db, "SELECT COUNT(*) FROM campaigns WHERE state != 'finished'")
    assert unfinished == 1  # it really died mid-campaign

    for db in (crash_db, clean_db):  # resume the crashed one; run a clean one for comparison
        done = _child(campaign, db)
        _, err = done.communicate(timeout=300)
        assert done.returncode == 0, err.decode()

    rows, events = _snapshot(crash_db)
    clean_rows, clean_events = _snapshot(clean_db)
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
