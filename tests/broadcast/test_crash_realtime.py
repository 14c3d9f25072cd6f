"""kill -9 during real-clock calls, then resume: at most one dial per (recipient, attempt).

Each attempt is committed before its call is placed; the attempts that were in flight when the
runner died are booked ``INTERNAL_ERROR`` with the reason, and the retry policy decides what
follows — they are never dialled blindly again."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from dialplan.broadcast.campaign import load_campaign
from dialplan.broadcast.reporting.stats import campaign_stats
from dialplan.broadcast.service import run_campaign
from dialplan.broadcast.store.sqlite import Store
from dialplan.broadcast.telephony.port import AttemptOutcome, CallRequest

from .helpers import count, write_campaign

ROOT = Path(__file__).resolve().parents[2]


def _child(campaign: Path, db: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.broadcast.crash_child", str(campaign), str(db),
         "--log", str(log), "--clock", "real"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
    )  # fmt: skip


@pytest.mark.parametrize("retry_lost", [False, True])
def test_kill_9_mid_call_never_dials_an_attempt_twice(tmp_path: Path, retry_lost: bool) -> None:
    rows = [{"phone_number": f"(212) 555-{i:04d}", "sim_result": "BUSY"} for i in range(10)]
    retry_results = ["BUSY", "INTERNAL_ERROR"] if retry_lost else ["BUSY"]
    campaign = write_campaign(
        tmp_path,
        rows,
        max_active=4,
        calls_per_second=20,
        tables={
            "retry_config": {
                "max_attempts": 2,
                "minutes_between_attempts": 0,
                "retry_results": retry_results,
            }
        },
    )
    db, log = tmp_path / "db.sqlite", tmp_path / "dialled.log"
    proc = _child(campaign, db, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if count(db, "SELECT COUNT(*) FROM in_flight") >= 3:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the campaign finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    con = sqlite3.connect(db)
    lost = set(con.execute("SELECT recipient_id, attempt_no FROM in_flight").fetchall())
    con.close()
    assert len(lost) >= 3

    done = _child(campaign, db, log)
    _, err = done.communicate(timeout=120)
    assert done.returncode == 0, err.decode()

    dialled = Counter(tuple(map(int, line.split())) for line in log.read_text().splitlines())
    assert dialled and max(dialled.values()) == 1, "a (recipient, attempt) was dialled twice"
    con = sqlite3.connect(db)
    booked = {
        (rid, n): (result, reason)
        for rid, n, result, reason in con.execute(
            "SELECT recipient_id, attempt_no, result, reason FROM attempts"
        )
    }
    finals = dict(con.execute("SELECT id, final_result FROM recipients").fetchall())
    assert con.execute("SELECT COUNT(*) FROM in_flight").fetchone()[0] == 0
    con.close()
    assert set(booked) == set(dialled)  # every dial is booked, nothing else is
    for key in lost:
        result, reason = booked[key]
        assert result == "INTERNAL_ERROR" and "runner was lost" in reason
    assert all(booked[k][0] == "BUSY" for k in set(booked) - lost)
    assert None not in finals.values()
    for rid, n in lost:
        if retry_lost and n < 2:
            assert (rid, n + 1) in booked  # the policy retried it as the next attempt
            assert finals[rid] == booked[(rid, n + 1)][0]
        else:
            assert finals[rid] == "INTERNAL_ERROR"
    export = subprocess.run(
        [sys.executable, "-m", "dialplan", "broadcast", "export", "test", "--db", str(db),
         "--format", "json"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, check=True,
    )  # fmt: skip
    reasons = [a.get("reason") for r in json.loads(export.stdout) for a in r["attempts"]]
    assert sum(1 for r in reasons if r) == len(lost)
    store = Store(db, readonly=True)
    try:
        stats = campaign_stats(store, "test")
    finally:
        store.close()
    lost_finals = sum(1 for v in finals.values() if v == "INTERNAL_ERROR")
    assert stats["errorCount"] == lost_finals  # counted as errors, and the counts add up
    assert stats["busyCount"] + stats["errorCount"] == stats["totalCount"] == 10


class Auditor:
    """A real-clock driver that, at every dial, reads what is committed from another
    connection: a booked attempt without its recipient's update would be redialled after a
    crash at that instant."""

    clocks = frozenset({"real"})
    unsupported: frozenset[type] = frozenset()

    def __init__(self, db: Path) -> None:
        self.db = db
        self.dials = 0
        self.torn: list[tuple[int, int]] = []

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def dial(self, call: CallRequest, at: float) -> AttemptOutcome:
        self.dials += 1
        con = sqlite3.connect(self.db, timeout=5)
        try:
            self.torn += con.execute(
                "SELECT a.recipient_id, a.attempt_no FROM attempts a JOIN recipients r"
                " ON r.id = a.recipient_id WHERE r.attempts < a.attempt_no"
            ).fetchall()
            in_flight = con.execute(
                "SELECT COUNT(*) FROM in_flight WHERE recipient_id = ? AND attempt_no = ?",
                (call.recipient_id, call.attempt_no),
            ).fetchone()[0]
        finally:
            con.close()
        assert in_flight == 1  # this very attempt is committed before it is dialled
        await asyncio.sleep(0.05)
        return AttemptOutcome("BUSY", 17, None, 0.05, 0.0)


def test_every_commit_keeps_attempts_and_their_recipients_together(tmp_path: Path) -> None:
    rows = [{"phone_number": f"(212) 555-{i:04d}"} for i in range(12)]
    retry = {"max_attempts": 2, "minutes_between_attempts": 0, "retry_results": ["BUSY"]}
    path = write_campaign(
        tmp_path, rows, max_active=1, calls_per_second=100, tables={"retry_config": retry}
    )
    driver = Auditor(tmp_path / "db.sqlite")
    run_campaign(load_campaign(path), tmp_path / "db.sqlite", driver=driver, clock="real")
    assert driver.dials == 24
    assert driver.torn == []
