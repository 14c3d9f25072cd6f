"""Real worker processes hammer the claim/lease/rate primitives; one is SIGKILLed mid-run."""

from __future__ import annotations

import collections
import multiprocessing
import os
import signal
import time
from pathlib import Path

import psycopg
import pytest

from . import workload

CPS = 100
MAX_ACTIVE = 10
TTL = 3.0


def _logs(folder: Path) -> dict[str, list[list[str]]]:
    return {
        p.stem: [line.split() for line in p.read_text().splitlines()] for p in folder.glob("*.log")
    }


def _spawn(target: object, *args: object) -> multiprocessing.process.BaseProcess:
    proc = multiprocessing.get_context("spawn").Process(target=target, args=args)
    proc.start()
    return proc


def _run_with_a_kill(
    target: object, dsn: str, cid: int, folder: Path, scale: float, min_done: int
) -> str:
    """Three workers, one SIGKILLed once it has finished ``min_done`` calls and has some in
    flight, then a fourth started (a restart is a new worker); returns the victim's id.

    The victim is whichever worker gets there first: on a loaded machine the first one started
    may be the last to run, and the other two may finish the campaign before it books any."""
    procs = [_spawn(target, dsn, cid, str(folder), TTL, scale) for _ in range(3)]
    try:
        by_pid = {p.pid: p for p in procs}
        deadline = time.monotonic() + 60
        with psycopg.connect(dsn, autocommit=True) as conn:
            while True:
                row = conn.execute(
                    "SELECT w.pid, w.id FROM workers w JOIN attempts a ON a.worker_id = w.id"
                    " WHERE w.pid = ANY(%s) GROUP BY w.pid, w.id"
                    " HAVING count(*) FILTER (WHERE a.result IS NULL) >= 2"
                    " AND count(*) FILTER (WHERE a.result IS NOT NULL) >= %s LIMIT 1",
                    (list(by_pid), min_done),
                ).fetchone()
                if row:
                    break
                assert time.monotonic() < deadline, "no worker ever had calls in flight"
                time.sleep(0.01)
        pid, victim_id = row
        victim = by_pid[pid]
        os.kill(pid, signal.SIGKILL)
        victim.join()
        procs.append(_spawn(target, dsn, cid, str(folder), TTL, scale))
        for p in procs:
            if p is not victim:
                p.join(180)
                assert p.exitcode == 0, f"worker exited with {p.exitcode}"
        return str(victim_id)
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join()


def _dials(logs: dict[str, list[list[str]]]) -> list[tuple[int, int, str]]:
    return [
        (int(ln[1]), int(ln[2]), w) for w, lines in logs.items() for ln in lines if ln[0] == "dial"
    ]


@pytest.mark.slow
def test_real_clock_workers_share_rate_and_lines_and_book_a_lost_worker_once(
    pg_db: str, tmp_path: Path
) -> None:
    cid = workload.setup_campaign(pg_db, 300, CPS, MAX_ACTIVE, now=0.0)
    victim = _run_with_a_kill(workload.real_clock_worker, pg_db, cid, tmp_path, 0.04, 5)
    logs = _logs(tmp_path)
    dials = _dials(logs)

    # at most one dial per (recipient, attempt), across all workers
    pairs = collections.Counter((r, n) for r, n, _ in dials)
    assert max(pairs.values()) == 1
    with psycopg.connect(pg_db) as conn:
        attempts = conn.execute(
            "SELECT recipient_id, attempt_no, worker_id, started_at, ended_at, result, reason"
            " FROM attempts ORDER BY started_at"
        ).fetchall()
        finals = conn.execute(
            "SELECT count(*) FROM recipients WHERE final_result IS NULL"
        ).fetchone()
        gate = conn.execute("SELECT active FROM dial_gates").fetchone()
    assert finals == (0,) and gate == (0,)
    # every dial had its attempt row (on that worker) committed first
    booked = {(r, n): w for r, n, w, *_ in attempts}
    assert all(booked[(r, n)].replace(":", "_") == w for r, n, w in dials)

    # rate: no window of one second holds more than CPS starts, across all workers
    starts = sorted(a[3] for a in attempts)
    assert len(starts) > CPS
    assert all(starts[i + CPS] - starts[i] >= 1.0 - 1e-9 for i in range(len(starts) - CPS))
    # lines: never more than MAX_ACTIVE calls at once
    edges = sorted([(a[3], 1) for a in attempts] + [(a[4], -1) for a in attempts])
    level = peak = 0
    for _, step in edges:
        level += step
        peak = max(peak, level)
    assert peak == MAX_ACTIVE  # reached, never passed

    # the victim's calls in flight (dialled, never ended) are INTERNAL_ERROR "worker lost", once
    victim_log = logs[victim.replace(":", "_")]
    ended = {(int(ln[1]), int(ln[2])) for ln in victim_log if ln[0] == "end"}
    ending = {(int(ln[1]), int(ln[2])) for ln in victim_log if ln[0] == "ending"}
    in_flight = {(int(ln[1]), int(ln[2])) for ln in victim_log if ln[0] == "dial"} - ending
    lost = {(r, n) for r, n, w, _, _, result, reason in attempts if reason == "worker lost"}
    assert lost and in_flight <= lost  # booked, and dialled or about to be
    assert ended and lost.isdisjoint(ended)  # a call the victim had finished keeps its result
    assert all(booked[p] == victim for p in lost)
    assert {(r, n) for r, n, _, _, _, res, _ in attempts if res == "INTERNAL_ERROR"} == lost
    reaps = collections.Counter(
        (int(ln[1]), int(ln[2])) for lines in logs.values() for ln in lines if ln[0] == "reap"
    )
    assert set(reaps) == lost and max(reaps.values()) == 1
    # ... and the retry policy then decided: the next attempt was made (INTERNAL_ERROR retries)
    made = {(r, n) for r, n, *_ in attempts}
    assert all((r, n + 1) in made for r, n in lost if n < workload.MAX_ATTEMPTS)


@pytest.mark.slow
def test_four_workers_together_never_start_more_calls_than_the_campaign_rate(
    pg_db: str, tmp_path: Path
) -> None:
    rate = 40  # calls are short and lines plenty: only the rate holds them back
    cid = workload.setup_campaign(pg_db, 160, rate, 1000, now=0.0)
    procs = [
        _spawn(workload.real_clock_worker, pg_db, cid, str(tmp_path), TTL, 0.002) for _ in range(4)
    ]
    try:
        for p in procs:
            p.join(180)
            assert p.exitcode == 0
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join()
    dialled = sorted(
        float(ln[3]) for lines in _logs(tmp_path).values() for ln in lines if ln[0] == "dial"
    )
    with psycopg.connect(pg_db) as conn:
        workers = conn.execute("SELECT count(DISTINCT worker_id) FROM attempts").fetchone()
        starts = [r[0] for r in conn.execute("SELECT started_at FROM attempts ORDER BY 1")]
    assert workers == (4,) and len(starts) == len(dialled) > 2 * rate
    # the slots never put more than `rate` starts in one second, and they were used to the full
    gaps = [starts[i + rate] - starts[i] for i in range(len(starts) - rate)]
    assert min(gaps) >= 1.0 - 1e-9
    assert min(starts[i + rate - 1] - starts[i] for i in range(len(starts) - rate)) < 1.0
    # every call was placed at or after its slot (never early)
    booked = sorted(starts)
    assert all(d >= b - 1e-6 for d, b in zip(dialled, booked, strict=True))
