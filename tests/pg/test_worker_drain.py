"""A real-clock ``broadcast worker`` drains with a bound: a campaign stopped in the store, or a
SIGTERM, lets the calls in flight go on for ``--drain-timeout`` seconds, then the driver hangs
them up and they are booked as a hang-up (answered: their result with the talk so far; ringing:
``NO_ANS``, cause 19), never ``INTERNAL_ERROR``; a second SIGTERM ends the worker at once.

Real worker processes, the simulated driver on the real clock (lived calls), a throwaway
PostgreSQL database per test.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg

from dialplan.broadcast.campaign import load_campaign
from dialplan.broadcast.pg.jobs import CampaignJob
from dialplan.broadcast.pg.service import load
from dialplan.broadcast.runners.pg_worker import Worker, WorkerOptions
from dialplan.broadcast.service import default_runner
from dialplan.broadcast.telephony.port import AttemptOutcome, CallRequest
from dialplan.broadcast.telephony.simulated import SimulatedDriver
from dialplan.service.broadcasts.pgruns import PgRuns

from .campaigns import scripted
from .test_campaign_workers import _dials, _finish, _sqlite_finals, _worker

#: a call that talks 32 s once answered (it rings 4–20 s first): far longer than any drain here
LONG = (
    '<dialplan name="Long"><play type="tts">'
    + "Thank you for giving to the food bank this winter. " * 8
    + "</play></dialplan>"
)
TALK_S = 32.0


def _long_campaign(tmp: Path, n: int, max_active: int) -> Path:
    path = scripted(tmp, n, cps=20, max_active=max_active, retry_results=(), script=("LA",))
    (tmp / "plan.xml").write_text(LONG)
    return path


def _rings(path: Path, ids: list[int]) -> dict[int, float]:
    """How long each recipient's first attempt rings (the simulated driver's seeded draw)."""
    camp = load_campaign(path)
    driver = SimulatedDriver(camp, default_runner(camp))
    return {
        rid: driver.place(CallRequest(rid, 1, "+12125550000", "+12125550100", {}, "LA"), 0).ring_s
        for rid in ids
    }


def _rows(db: str, sql: str, *args: object) -> list[tuple[object, ...]]:
    with psycopg.connect(db, autocommit=True) as conn:
        return conn.execute(sql, args).fetchall()


def _count(db: str, sql: str, *args: object) -> int:
    (row,) = _rows(db, sql, *args)
    return int(str(row[0]))


def _wait(what: object, timeout: float = 60) -> float:
    """Wait until ``what()`` is true; returns the seconds it took."""
    began = time.monotonic()
    while not what():  # type: ignore[operator]
        assert time.monotonic() - began < timeout, f"timed out waiting for {what}"
        time.sleep(0.02)
    return time.monotonic() - began


def _in_flight(db: str) -> int:
    return _count(db, "SELECT count(*) FROM attempts WHERE result IS NULL")


def _booked(db: str) -> int:
    return _count(db, "SELECT count(*) FROM attempts WHERE result IS NOT NULL")


def _answered_in_flight(db: str, rings: dict[int, float]) -> bool:
    """Some call in flight has been answered (it has been up longer than it rings) a while."""
    now = time.time()
    return any(
        now - float(str(started)) > rings[int(str(rid))] + 0.5
        for rid, started in _rows(
            db, "SELECT recipient_id, started_at FROM attempts WHERE result IS NULL"
        )
    )


def _check_hung_up(db: str, rings: dict[int, float], since: float = 0.0) -> list[str]:
    """Every attempt started after ``since`` was booked as a hang-up; returns their results."""
    results = []
    for rid, result, cause, started, ended, answered in _rows(
        db,
        "SELECT recipient_id, result, q850_cause, started_at, ended_at, answered_at"
        " FROM attempts WHERE started_at > %s ORDER BY 1",
        since,
    ):
        ring, up = rings[int(str(rid))], float(str(ended)) - float(str(started))
        if result == "NO_ANS":  # hung up while ringing: cancelled
            assert (cause, answered) == (19, None) and up < ring + 0.1, (rid, up, ring)
        else:  # answered: its own result, the talk cut short
            assert (result, cause) == ("LA", 16) and answered is not None, (rid, result)
            assert ring - 0.1 < up < ring + TALK_S - 1, (rid, up, ring)
        results.append(str(result))
    return results


def test_a_stopped_campaign_drains_for_the_drain_timeout_then_its_calls_are_hung_up(
    pg_db: str, tmp_path: Path
) -> None:
    """Stopped in the store (``paused``, the service's stop) while long calls are up: no new
    call, the calls go on for ``--drain-timeout`` seconds, then they are hung up and booked as
    a hang-up. Started again, the same worker calls the rest with a fresh driver (its new calls
    are not hung up); a SIGTERM drains them the same way and the worker exits 0; nobody is
    dialled twice."""
    path = _long_campaign(tmp_path / "c", 12, max_active=5)
    load(load_campaign(path), pg_db, "real")
    ids = [int(str(r[0])) for r in _rows(pg_db, "SELECT id FROM recipients ORDER BY id")]
    rings = _rings(path, ids)
    log = tmp_path / "dials.log"
    worker = _worker(pg_db, log, "--clock", "real", "--forever", "--drain-timeout", "2")
    try:
        _wait(lambda: _answered_in_flight(pg_db, rings) and _in_flight(pg_db) == 5)
        placed = _count(pg_db, "SELECT count(*) FROM attempts")
        _rows(pg_db, "UPDATE campaigns SET state = 'paused' RETURNING id")
        stopped = time.time()
        took = _wait(lambda: _in_flight(pg_db) == 0, timeout=30)
        # 2 s of drain (+ up to 0.25 s until the worker sees the pause): not the 36 s or more
        # the calls would have lasted
        assert 1.5 < took < 5.0, took
        first = _check_hung_up(pg_db, rings)
        assert len(first) == placed and "LA" in first  # the answered one kept its result
        time.sleep(1.0)
        assert _count(pg_db, "SELECT count(*) FROM attempts") == placed  # no call since
        assert worker.poll() is None  # ``--forever``: it waits for the campaign to run again

        _rows(pg_db, "UPDATE campaigns SET state = 'running' RETURNING id")
        _wait(lambda: _count(pg_db, "SELECT count(*) FROM attempts") > placed, timeout=30)
        time.sleep(2.5)  # the new calls live on: the hung-up driver was replaced
        resumed = _count(
            pg_db, "SELECT count(*) FROM attempts WHERE started_at > %s AND result IS NULL", stopped
        )
        assert resumed >= 1
        assert _count(pg_db, "SELECT count(*) FROM attempts WHERE started_at > %s AND result"
                      " IS NOT NULL", stopped) == 0  # fmt: skip
        began = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=30)
        assert worker.returncode == 0, err
        assert time.monotonic() - began < 5.0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    report = json.loads(out)
    assert "worker stopping: no new calls" in err
    assert _in_flight(pg_db) == 0
    second = _check_hung_up(pg_db, rings, since=stopped)
    assert len(second) == resumed
    assert report["calls_hung_up"] == len(first) + len(second)
    assert report["calls_left_in_flight"] == 0
    assert _rows(pg_db, "SELECT DISTINCT state FROM workers") == [("stopped",)]
    dials = _dials(log)
    assert len(dials) == len({rid for rid, _ in dials}) == len(first) + len(second) < 12


def test_a_second_sigterm_ends_the_worker_at_once_and_its_calls_are_reaped(
    pg_db: str, tmp_path: Path
) -> None:
    """SIGTERM drains (the calls stay up: a long drain timeout); a second one ends the worker
    at once, its calls left in flight. The broadcast status reads them as draining until the
    worker's lease runs out; then another worker books them ``INTERNAL_ERROR`` (a lost worker's
    calls), as a second stop on SQLite."""
    path = _long_campaign(tmp_path / "c", 6, max_active=3)
    load(load_campaign(path), pg_db, "real")
    (campaign_id,) = _rows(pg_db, "SELECT id FROM campaigns")[0]
    log = tmp_path / "dials.log"
    first = _worker(pg_db, log, "--clock", "real", "--drain-timeout", "60")
    runs = PgRuns(pg_db)
    try:
        _wait(lambda: _in_flight(pg_db) == 3)
        _rows(pg_db, "UPDATE campaigns SET state = 'paused' RETURNING id")  # as the API's stop
        first.send_signal(signal.SIGTERM)
        time.sleep(1.0)
        assert first.poll() is None and _in_flight(pg_db) == 3  # draining: the calls go on
        assert runs.draining(int(str(campaign_id)))
        began = time.monotonic()
        first.send_signal(signal.SIGTERM)
        out, err = first.communicate(timeout=30)
        assert time.monotonic() - began < 3.0
        assert first.returncode == 0, err
        assert "worker stopping at once" in err
        assert json.loads(out)["calls_left_in_flight"] == 3
        assert _in_flight(pg_db) == 3
        # the lease (3 s) runs out: a dead worker's calls no longer hold the status RUNNING
        _wait(lambda: not runs.draining(int(str(campaign_id))), timeout=10)
        assert _in_flight(pg_db) == 3

        _rows(pg_db, "UPDATE campaigns SET state = 'running' RETURNING id")
        reaper = _worker(pg_db, log, "--clock", "real", "--drain-timeout", "0")
        try:
            _wait(lambda: _count(pg_db, "SELECT count(*) FROM attempts WHERE result ="
                                 " 'INTERNAL_ERROR'") == 3, timeout=30)  # fmt: skip
        finally:
            reaper.send_signal(signal.SIGTERM)
            _, err = reaper.communicate(timeout=30)
        assert reaper.returncode == 0, err
    finally:
        runs.close()
        if first.poll() is None:
            first.kill()
            first.communicate()
    dials = _dials(log)
    assert len(dials) == len(set(dials))
    assert _in_flight(pg_db) == 0


def test_virtual_time_a_sigterm_books_the_computed_calls_and_the_rest_ends_as_on_sqlite(
    pg_db: str, tmp_path: Path
) -> None:
    """Virtual clock: calls are computed, so a drain is the shared clock passing the calls in
    flight (``--drain-timeout`` has nothing to hang up). A SIGTERMed worker books them all and
    exits 0 with nothing left in flight; the next worker finishes the campaign where the
    one-process SQLite run ends; nobody is dialled twice."""
    path = scripted(tmp_path / "c", 3000, cps=50, max_active=40)
    load(load_campaign(path), pg_db, "virtual")
    log = tmp_path / "dials.log"
    first = _worker(pg_db, log, "--drain-timeout", "0")
    try:
        _wait(lambda: _booked(pg_db) >= 200)
        first.send_signal(signal.SIGTERM)
        (report,) = _finish([first], timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    assert (report["calls_hung_up"], report["calls_left_in_flight"]) == (0, 0)
    assert _in_flight(pg_db) == 0
    assert _count(pg_db, "SELECT count(*) FROM recipients WHERE final_result IS NULL") > 0
    assert (
        _rows(pg_db, "SELECT DISTINCT result FROM attempts WHERE result = 'INTERNAL_ERROR'") == []
    )
    (rest,) = _finish([_worker(pg_db, log)], timeout=120)
    assert rest["campaigns_finished"] == 1
    finals = {str(p): str(r) for p, r in _rows(pg_db, "SELECT phone, final_result FROM recipients")}
    assert finals == _sqlite_finals(path, tmp_path)
    dials = _dials(log)
    assert len(dials) == len(set(dials))


def test_broadcast_run_on_postgres_bounds_its_drain_by_max_wait(pg_db: str, tmp_path: Path) -> None:
    """``broadcast run --db postgresql://… --clock real`` is one worker: SIGTERM drains for
    ``--max-wait`` seconds, as the SQLite run's drain, then hangs up; it exits 0."""
    path = _long_campaign(tmp_path / "c", 6, max_active=3)
    root = Path(__file__).resolve().parents[2]
    argv = [sys.executable, "-m", "dialplan", "broadcast", "run", str(path), "--db", pg_db]
    argv += ["--clock", "real", "--max-wait", "1", "--no-progress", "--format", "json"]
    env = {**os.environ, "PYTHONPATH": str(root)}
    pipe = subprocess.PIPE
    proc = subprocess.Popen(argv, cwd=root, env=env, stdout=pipe, stderr=pipe, text=True)
    try:
        _wait(lambda: _in_flight(pg_db) == 3)
        began = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        took = time.monotonic() - began
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert took < 5.0, took  # 1 s of drain, not the 36 s or more of the calls
    assert _in_flight(pg_db) == 0
    results = _rows(pg_db, "SELECT result, q850_cause FROM attempts")
    assert len(results) == 3 and set(results) <= {("LA", 16), ("NO_ANS", 19)}


class _SlowHangUp(SimulatedDriver):
    """Lived simulated calls whose hang-up takes a second to complete (a BYE's transaction)."""

    async def dial(self, call: CallRequest, at: float) -> AttemptOutcome:
        out = await super().dial(call, at)
        if self._hang_up is not None and self._hang_up.is_set():
            await asyncio.sleep(1.0)
        return out


def test_a_campaign_started_again_while_its_hung_up_calls_end_calls_on_a_fresh_driver(
    pg_db: str, tmp_path: Path
) -> None:
    """Stopped, hung up at the drain timeout, and started again before the hung-up calls have
    ended: the new calls go through a fresh driver and live (the hung-up one would end them at
    once, ``NO_ANS``)."""
    path = _long_campaign(tmp_path / "c", 12, max_active=3)
    load(load_campaign(path), pg_db, "real")

    def make_driver(job: CampaignJob) -> SimulatedDriver:
        return _SlowHangUp(job.campaign, default_runner(job.campaign), lived=True)

    options = WorkerOptions(clock="real", forever=True, lease=3.0, drain_s=0.5)
    worker = Worker(pg_db, options, make_driver=make_driver)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        _wait(lambda: _in_flight(pg_db) == 3)
        _rows(pg_db, "UPDATE campaigns SET state = 'paused' RETURNING id")
        _wait(lambda: worker.report.hung_up == 3)
        resumed = time.time()
        _rows(pg_db, "UPDATE campaigns SET state = 'running' RETURNING id")
        assert _in_flight(pg_db) == 3  # the hung-up calls take a second to end
        _wait(lambda: _count(pg_db, "SELECT count(*) FROM attempts WHERE started_at > %s", resumed))
        time.sleep(2.0)
        rows = _rows(pg_db, "SELECT result FROM attempts WHERE started_at > %s", resumed)
        assert rows and {r for (r,) in rows} == {None}  # still up: ringing (4 s+) or talking
    finally:
        worker.stop.request()
        thread.join(30)
    assert not thread.is_alive()
    assert _in_flight(pg_db) == 0
    assert {r for (r,) in _rows(pg_db, "SELECT result FROM attempts")} <= {"LA", "NO_ANS"}
