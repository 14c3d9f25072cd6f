"""Ctrl-C (SIGINT) of a real-clock ``broadcast run`` in a subprocess: the calls in flight end
with their real results, the run exits 130 with the campaign resumable, and a second run calls
the rest — every (recipient, attempt) once, none booked INTERNAL_ERROR."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from .helpers import count, write_campaign

ROOT = Path(__file__).resolve().parents[2]


def _run(campaign: Path, db: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "dialplan", "broadcast", "run", str(campaign), "--db", str(db),
         "--clock", "real", "--progress", "--report", str(db.with_suffix(".html"))],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_sigint_drains_the_calls_in_flight_and_the_next_run_resumes(tmp_path: Path) -> None:
    # busy lines ring 1-4 s before they give up; no retries
    rows = [{"phone_number": f"(212) 555-{i:04d}", "sim_result": "BUSY"} for i in range(6)]
    campaign = write_campaign(
        tmp_path, rows, max_active=2, calls_per_second=20,
        tables={"retry_config": {"max_attempts": 1}},
    )  # fmt: skip
    db = tmp_path / "db.sqlite"
    proc = _run(campaign, db)
    deadline = time.monotonic() + 60
    while count(db, "SELECT COUNT(*) FROM in_flight") < 2:
        assert proc.poll() is None and time.monotonic() < deadline, "no call started"
        time.sleep(0.01)
    con = sqlite3.connect(db, timeout=5)
    in_flight = set(con.execute("SELECT recipient_id, attempt_no FROM in_flight"))
    os.kill(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "database:" in out  # the statistics of what was done are printed
    assert "stopping: no new calls" in err and "stopped" in err
    assert "Traceback" not in err
    booked = set(con.execute("SELECT recipient_id, attempt_no FROM attempts"))
    assert in_flight <= booked  # the calls in flight were booked when they ended …
    results = {r for (r,) in con.execute("SELECT DISTINCT result FROM attempts")}
    assert results == {"BUSY"}  # … with their real result
    assert con.execute("SELECT COUNT(*) FROM in_flight").fetchone() == (0,)
    left = con.execute("SELECT COUNT(*) FROM recipients WHERE final_result IS NULL").fetchone()
    assert left[0] > 0

    again = _run(campaign, db)
    _, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    rows_booked = con.execute("SELECT recipient_id, attempt_no, result FROM attempts").fetchall()
    con.close()
    assert len(rows_booked) == 6
    assert {(n, result) for _, n, result in rows_booked} == {(1, "BUSY")}
