"""``broadcast worker`` processes on one PostgreSQL campaign, one of them SIGKILLed mid-run.

Every test here starts real worker processes (``python -m dialplan broadcast worker``) on a
database of its own, so the tests are independent of each other (they may run in parallel
under pytest-xdist). Final results are compared with the single-process SQLite run of the same
campaign file.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import pytest

from dialplan.broadcast.campaign import load_campaign
from dialplan.broadcast.pg.service import load
from dialplan.broadcast.service import run_campaign

from .campaigns import scripted

ROOT = Path(__file__).resolve().parents[2]
LEASE = 3.0


def _worker(db: str, log: Path, *extra: str) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "dialplan", "broadcast", "worker", "--db", db]
    argv += ["--lease", str(LEASE), "--dial-log", str(log), "--format", "json", *extra]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _sqlite_finals(path: Path, tmp: Path) -> dict[str, str]:
    db = tmp / "reference.sqlite"
    run_campaign(load_campaign(path), db, deliver=False)
    con = sqlite3.connect(db)
    try:
        return dict(con.execute("SELECT phone, final_result FROM recipients"))
    finally:
        con.close()


def _kill_when_busy(
    db: str, procs: list[subprocess.Popen[str]], min_done: int
) -> tuple[str, list[subprocess.Popen[str]]]:
    """SIGKILL whichever of ``procs`` first has booked ``min_done`` attempts and has calls in
    flight; returns its worker id and the workers left alive.

    Any worker may be the victim: on a loaded machine one that started late may get few
    calls, and the others finish the campaign before it could have booked ``min_done``."""
    deadline = time.monotonic() + 60
    by_pid = {p.pid: p for p in procs}
    with psycopg.connect(db, autocommit=True) as conn:
        while True:
            rows = conn.execute(
                "SELECT w.pid, w.id FROM workers w JOIN attempts a ON a.worker_id = w.id"
                " WHERE w.pid = ANY(%s) GROUP BY w.pid, w.id"
                " HAVING count(*) FILTER (WHERE a.result IS NULL) >= 2"
                " AND count(*) FILTER (WHERE a.result IS NOT NULL) >= %s LIMIT 1",
                (list(by_pid), min_done),
            ).fetchall()
            if rows:
                break
            for p in procs:
                assert p.poll() is None, p.communicate()
            assert time.monotonic() < deadline, "no worker ever had calls in flight"
            time.sleep(0.02)
    pid, worker = rows[0]
    victim = by_pid[pid]
    os.kill(pid, signal.SIGKILL)
    victim.wait()
    return str(worker), [p for p in procs if p is not victim]


def _finish(procs: list[subprocess.Popen[str]], timeout: float = 120) -> list[dict[str, object]]:
    reports = []
    for p in procs:
        out, err = p.communicate(timeout=timeout)
        assert p.returncode == 0, err
        reports.append(json.loads(out))
    return reports


def _dials(log: Path) -> list[tuple[int, int]]:
    lines = [ln.split() for ln in log.read_text().splitlines()]
    assert all(ln[0] == "dial" and len(ln) == 4 for ln in lines)
    return [(int(ln[1]), int(ln[2])) for ln in lines]


def _check_rate_and_lines(conn: psycopg.Connection, cps: int, max_active: int) -> None:
    starts = [r[0] for r in conn.execute("SELECT started_at FROM attempts ORDER BY started_at, 1")]
    for i in range(len(starts) - cps):  # cps + 1 starts always span a second or more
        assert starts[i + cps] - starts[i] >= 1.0 - 1e-6, (i, starts[i : i + cps + 1])
    events = []
    for s, e in conn.execute("SELECT started_at, ended_at FROM attempts"):
        events += [(s, 1), (e, -1)]
    busy = peak = 0
    for _, step in sorted(events, key=lambda x: (x[0], x[1])):  # an end frees before a start
        busy += step
        peak = max(peak, busy)
    assert 0 < peak <= max_active


@pytest.mark.slow
def test_three_workers_one_killed_end_where_the_sqlite_run_ends(pg_db: str, tmp_path: Path) -> None:
    cps, max_active = 100, 400
    path = scripted(tmp_path / "c", 5_000, cps=cps, max_active=max_active)
    expected = _sqlite_finals(path, tmp_path)
    load(load_campaign(path), pg_db, "virtual")
    log = tmp_path / "dials.log"
    procs = [_worker(pg_db, log, "--tick", "2") for _ in range(3)]
    try:
        victim, alive = _kill_when_busy(pg_db, procs, min_done=500)
        procs.append(_worker(pg_db, log, "--tick", "2"))  # started again: a new worker
        reports = _finish([*alive, procs[-1]])
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert sum(int(str(r["campaigns_finished"])) for r in reports) == 1  # exactly one finisher
    assert sum(int(str(r["lost_attempts_booked"])) for r in reports) >= 2
    dials = _dials(log)
    assert len(dials) == len(set(dials)), "a (recipient, attempt) was dialled twice"
    with psycopg.connect(pg_db, autocommit=True) as conn:
        (state,) = conn.execute("SELECT state FROM campaigns").fetchone() or ("",)
        assert state == "finished"
        lost = {
            rid: n
            for rid, n, who in conn.execute(
                "SELECT recipient_id, attempt_no, worker_id FROM attempts"
                " WHERE reason = 'worker lost'"
            )
            if who == victim
        }
        assert len(lost) >= 2
        booked: dict[int, int] = dict(
            conn.execute("SELECT recipient_id, max(attempt_no) FROM attempts GROUP BY 1")
        )
        attempts = set(conn.execute("SELECT recipient_id, attempt_no FROM attempts").fetchall())
        assert set(dials) <= attempts  # every dial was booked first
        # the log line follows the attempt's commit: only the victim, killed between the two,
        # can leave an attempt without its line (booked "worker lost", never dialled twice)
        assert attempts - set(dials) <= set(lost.items())
        finals = conn.execute("SELECT id, phone, final_result FROM recipients").fetchall()
        assert len(finals) == len(expected) == 5_000
        for rid, phone, final in finals:
            if rid in lost:  # in flight on the killed worker: INTERNAL_ERROR, or retried
                assert final == "INTERNAL_ERROR" or booked[rid] > lost[rid], (rid, final)
            else:
                assert final == expected[phone], (phone, final, expected[phone])
        _check_rate_and_lines(conn, cps, max_active)
        (in_flight,) = conn.execute(
            "SELECT count(*) FROM attempts WHERE result IS NULL"
        ).fetchone() or (1,)
        assert in_flight == 0


class _Receiver(BaseHTTPRequestHandler):
    received: list[str]
    hang: threading.Event | None = None

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.hang is not None:
            self.hang.wait(30)
        type(self).received.append(json.loads(body)["event_id"])
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[_Receiver]]]:
    handler = type("Handler", (_Receiver,), {"received": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/events", handler
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_every_webhook_event_arrives_when_a_worker_is_killed(
    pg_db: str, tmp_path: Path, receiver: tuple[str, type[_Receiver]]
) -> None:
    url, handler = receiver
    path = scripted(tmp_path / "c", 600, cps=20, max_active=60, webhook=url)
    load(load_campaign(path), pg_db, "virtual")
    log = tmp_path / "dials.log"
    procs = [_worker(pg_db, log, "--tick", "0.5") for _ in range(3)]
    try:
        _, alive = _kill_when_busy(pg_db, procs, min_done=60)
        procs.append(_worker(pg_db, log, "--tick", "0.5"))
        reports = _finish([*alive, procs[-1]])
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert all(r["events_pending"] == 0 for r in reports)
    with psycopg.connect(pg_db, autocommit=True) as conn:
        stored = {r[0] for r in conn.execute("SELECT event_id FROM outbox")}
        (undelivered,) = conn.execute(
            "SELECT count(*) FROM outbox WHERE delivered_at IS NULL"
        ).fetchone() or (1,)
    got = Counter(handler.received)
    assert undelivered == 0
    assert set(got) == stored  # every event arrived (some maybe twice: deduplicable by id)
    assert len(stored) > 600 * 2


@pytest.mark.slow
def test_sigterm_finishes_the_calls_in_flight_and_exits_0(pg_db: str, tmp_path: Path) -> None:
    """Real clock, lived simulated calls: a SIGTERMed worker stops claiming, books the calls it
    has in flight, gives its lease back and exits 0; another worker finishes the campaign."""
    # busy lines (1–4 s each, no retries): a short campaign on the real clock
    path = scripted(tmp_path / "c", 60, cps=20, max_active=8, retry_results=(), script=("BUSY",))
    load(load_campaign(path), pg_db, "real")
    log = tmp_path / "dials.log"
    first = _worker(pg_db, log, "--clock", "real")
    _kill_when_busy_signal(pg_db, first)
    (report,) = _finish([first], timeout=60)
    with psycopg.connect(pg_db, autocommit=True) as conn:
        (in_flight,) = conn.execute(
            "SELECT count(*) FROM attempts WHERE result IS NULL"
        ).fetchone() or (1,)
        (claimed,) = conn.execute(
            "SELECT count(*) FROM recipients WHERE claimed_by IS NOT NULL"
        ).fetchone() or (1,)
        (state,) = conn.execute("SELECT state FROM workers").fetchone() or ("",)
        (left,) = conn.execute(
            "SELECT count(*) FROM recipients WHERE final_result IS NULL"
        ).fetchone() or (0,)
    assert in_flight == 0 and claimed == 0 and state == "stopped"
    assert int(str(report["calls"])) > 0 and left > 0  # stopped early, nothing lost
    (rest,) = _finish([_worker(pg_db, log, "--clock", "real")], timeout=120)
    assert rest["campaigns_finished"] == 1
    dials = _dials(log)
    assert len(dials) == len(set(dials))


def _kill_when_busy_signal(db: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    with psycopg.connect(db, autocommit=True) as conn:
        while True:
            row = conn.execute(
                "SELECT count(*) FROM attempts a JOIN workers w ON w.id = a.worker_id"
                " WHERE w.pid = %s AND a.result IS NULL",
                (proc.pid,),
            ).fetchone()
            if row and row[0] >= 3:
                break
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)


def _attempts_sqlite(db: Path) -> list[tuple[object, ...]]:
    con = sqlite3.connect(db)
    try:
        return con.execute(_SCHEDULE).fetchall()
    finally:
        con.close()


_SCHEDULE = (
    "SELECT r.row_no, a.attempt_no, a.started_at, a.ended_at, a.result FROM attempts a"
    " JOIN recipients r ON r.id = a.recipient_id ORDER BY 1, 2"
)


def test_tick_0_gives_the_sqlite_runs_schedule(pg_db: str, tmp_path: Path) -> None:
    """Event by event, one worker dials exactly when the one-process SQLite run dials (the
    lines bind here: 12 for calls of 5–35 s at 5 calls/s)."""
    path = scripted(tmp_path / "c", 300, cps=5, max_active=12)
    run_campaign(load_campaign(path), tmp_path / "ref.sqlite", deliver=False)
    load(load_campaign(path), pg_db, "virtual")
    _finish([_worker(pg_db, tmp_path / "dials.log", "--tick", "0")])
    with psycopg.connect(pg_db, autocommit=True) as conn:
        got = [tuple(r) for r in conn.execute(_SCHEDULE)]
    assert got == _attempts_sqlite(tmp_path / "ref.sqlite")
    assert len(got) > 300
