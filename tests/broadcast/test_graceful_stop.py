"""A stop on the real clock drains: no new dial, the calls in flight end with their real
results (hung up after the drain timeout), and the next run resumes with what is left — no
(recipient, attempt) dialled twice, no INTERNAL_ERROR for a call that was merely stopped."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from dialplan.broadcast.campaign import Campaign
from dialplan.broadcast.scheduler.core import Done, Place, Rules, Scheduler, Wait
from dialplan.broadcast.scheduler.windows import Windows
from dialplan.broadcast.service import RunReport, run_campaign
from dialplan.broadcast.stopping import StopRequest
from dialplan.broadcast.store.rows import Pending
from dialplan.broadcast.telephony.port import AttemptOutcome, CallRequest
from dialplan.broadcast.telephony.simulated import SimulatedDriver

from .helpers import campaign, count, fake_runner

#: lived calls run this many times faster than their simulated durations
SPEED = 10.0


class LoggingDriver(SimulatedDriver):
    """The real-clock simulated driver, faster, noting every (recipient, attempt) it dials."""

    def __init__(self, camp: Campaign, dialled: list[tuple[int, int]]) -> None:
        super().__init__(camp, fake_runner, lived=True, speed=SPEED)
        self.dialled = dialled

    async def dial(self, call: CallRequest, at: float) -> AttemptOutcome:
        self.dialled.append((call.recipient_id, call.attempt_no))
        return await super().dial(call, at)


def _campaign(tmp: Path, n: int = 6) -> Campaign:
    # live answers that talk 20 s (2 s here), ringing 4-20 s (0.4-2 s here); no retries
    rows = [
        {"phone_number": f"(212) 555-{i:04d}", "sim_result": "LA", "sim_inputs": "3"}
        for i in range(n)
    ]
    return campaign(
        tmp,
        rows,
        max_active=3,
        calls_per_second=50,
        tables={"retry_config": {"max_attempts": 1}},
    )


def _rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _run_in_thread(
    camp: Campaign, db: Path, dialled: list[tuple[int, int]], stop: StopRequest, drain_s: float
) -> tuple[threading.Thread, list[RunReport]]:
    reports: list[RunReport] = []

    def target() -> None:
        reports.append(
            run_campaign(
                camp,
                db,
                driver=LoggingDriver(camp, dialled),
                clock="real",
                stop=stop,
                drain_s=drain_s,
            )
        )

    thread = threading.Thread(target=target)
    thread.start()
    return thread, reports


def _wait_in_flight(db: Path, n: int) -> None:
    deadline = time.monotonic() + 30
    while count(db, "SELECT COUNT(*) FROM in_flight") < n:
        assert time.monotonic() < deadline, "the calls never started"
        time.sleep(0.01)


def test_stop_mid_call_drains_then_the_next_run_resumes(tmp_path: Path) -> None:
    camp = _campaign(tmp_path)
    db = tmp_path / "db.sqlite"
    dialled: list[tuple[int, int]] = []
    stop = StopRequest()
    thread, reports = _run_in_thread(camp, db, dialled, stop, drain_s=60)
    _wait_in_flight(db, 3)
    in_flight = set(_rows(db, "SELECT recipient_id, attempt_no FROM in_flight"))
    stop.request()
    thread.join(30)
    assert not thread.is_alive()
    (report,) = reports
    assert report.stopped
    # nothing new was dialled after the stop; the calls in flight ended with their results
    assert set(dialled) == in_flight
    booked = dict(
        ((r, n), result)
        for r, n, result in _rows(db, "SELECT recipient_id, attempt_no, result FROM attempts")
    )
    assert booked == {key: "LA" for key in in_flight}
    assert _rows(db, "SELECT COUNT(*) FROM in_flight") == [(0,)]
    assert _rows(db, "SELECT state FROM campaigns") == [("running",)]
    waiting = _rows(db, "SELECT COUNT(*) FROM recipients WHERE final_result IS NULL")
    assert waiting == [(3,)]

    again = run_campaign(camp, db, driver=LoggingDriver(camp, dialled), clock="real")
    assert not again.stopped
    assert Counter(dialled).most_common(1)[0][1] == 1  # nobody's attempt dialled twice
    assert len(dialled) == 6
    results = _rows(db, "SELECT result, COUNT(*) FROM attempts GROUP BY result")
    assert results == [("LA", 6)]
    assert _rows(db, "SELECT state FROM campaigns") == [("finished",)]


def test_the_drain_timeout_hangs_up_and_books_a_hangup(tmp_path: Path) -> None:
    camp = _campaign(tmp_path, 3)
    db = tmp_path / "db.sqlite"
    dialled: list[tuple[int, int]] = []
    stop = StopRequest()
    thread, reports = _run_in_thread(camp, db, dialled, stop, drain_s=0.2)
    _wait_in_flight(db, 3)
    began = time.monotonic()
    stop.request()
    thread.join(30)
    assert time.monotonic() - began < 1.5  # the calls would have lasted 2.4-4 s
    assert reports[0].stopped
    rows = _rows(db, "SELECT result, q850_cause, duration FROM attempts")
    assert len(rows) == 3
    for result, cause, duration in rows:
        # hung up while ringing: cancelled (NO_ANS, 19); answered: its result, talk cut short
        assert (result, cause) in {("NO_ANS", 19), ("LA", 16)}
        assert duration < 2.0  # the talk would have been 20 s / SPEED
    assert _rows(db, "SELECT COUNT(*) FROM in_flight") == [(0,)]


def test_a_second_stop_ends_the_drain_at_once(tmp_path: Path) -> None:
    camp = _campaign(tmp_path, 3)
    db = tmp_path / "db.sqlite"
    dialled: list[tuple[int, int]] = []
    stop = StopRequest()
    thread, reports = _run_in_thread(camp, db, dialled, stop, drain_s=60)
    _wait_in_flight(db, 3)
    began = time.monotonic()
    stop.request()
    stop.request()
    thread.join(30)
    assert time.monotonic() - began < 1.0
    assert reports[0].stopped
    # as a stop did before drains: the calls in flight are booked INTERNAL_ERROR on resume
    assert _rows(db, "SELECT COUNT(*) FROM in_flight") == [(3,)]
    run_campaign(camp, db, driver=LoggingDriver(camp, dialled), clock="real")
    assert _rows(db, "SELECT result, COUNT(*) FROM attempts GROUP BY result") == [
        ("INTERNAL_ERROR", 3)
    ]
    assert len(dialled) == 3


def test_a_stop_on_the_virtual_clock_ends_at_a_commit_and_resumes(tmp_path: Path) -> None:
    rows = [{"phone_number": f"(212) 555-{i:04d}"} for i in range(50)]
    camp = campaign(tmp_path, rows, max_active=2, calls_per_second=1)
    db = tmp_path / "db.sqlite"
    stop = StopRequest()
    stop.request()
    first = run_campaign(camp, db, stop=stop, commit_every=10)
    assert first.stopped
    done = count(db, "SELECT COUNT(*) FROM recipients WHERE final_result IS NOT NULL")
    assert 0 < done < 50
    second = run_campaign(camp, db)
    assert not second.stopped
    assert count(db, "SELECT COUNT(*) FROM recipients WHERE final_result IS NULL") == 0
    assert count(db, "SELECT COUNT(*) FROM attempts WHERE result = 'INTERNAL_ERROR'") == 0


def _pending(i: int) -> Pending:
    return Pending(0.0, i, f"+1212555{i:04d}", 0, "{}", None, None)


def test_the_scheduler_places_nothing_once_stopped() -> None:
    rules = Rules(3, 100.0, 1, frozenset(), 0.0, "UTC")
    sched = Scheduler(rules, [(1, Windows([]))])
    sched.feed(1, [_pending(i) for i in range(5)], 1000)
    first = sched.next(0)
    assert isinstance(first, Place)
    sched.stop()
    assert sched.next(10) == Wait(None, "calls")  # the call in flight ends first
    sched.record(first, AttemptOutcome("BUSY", 17, None, 1.0, 0.0))
    done = sched.next(2000)
    assert isinstance(done, Done) and done.stopped
    assert [u.final_result for u in sched.take_updates()] == ["BUSY"]
