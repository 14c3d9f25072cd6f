"""Worker processes for the PostgreSQL tests and benchmark: scripted calls, real processes.

A call's outcome and length depend only on (recipient, attempt), so any interleaving of
workers gives the same final results. Every dial is appended to the worker's own log
(``dial rid attempt t``) *after* its attempt row was committed, with one ``write`` each, so a
SIGKILL loses no line that happened; the reaper's decisions go to the log as ``reap rid attempt``.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from dialplan.broadcast.pg import (
    Booking,
    Claim,
    LostAttempt,
    Outcome,
    SharedClock,
    WorkerLost,
    claim,
    finish,
    heartbeat,
    open_gate,
    reap,
    register,
    start,
)

BROADCAST = "bcast-pg-test"
MAX_ATTEMPTS = 3
RETRY_AFTER = 0.05  # seconds (real clock); the virtual clock uses RETRY_AFTER_VIRTUAL
RETRY_AFTER_VIRTUAL = 60.0
RETRY_RESULTS = ("BUSY", "INTERNAL_ERROR")


def result_for(rid: int, attempt: int) -> str:
    return "BUSY" if (rid * 7 + attempt) % 4 == 0 else "LA"


def length_for(rid: int, attempt: int, scale: float) -> float:
    return scale * (1 + (rid * 13 + attempt * 5) % 7)


def decision(rid: int, attempt: int, result: str, now: float, spacing: float) -> Booking:
    """The scripted retry policy: BUSY and INTERNAL_ERROR are retried, three attempts at most."""
    if result in RETRY_RESULTS and attempt < MAX_ATTEMPTS:
        return Booking(now + spacing, None)
    return Booking(now, result)


def setup_campaign(dsn: str, n: int, cps: float, max_active: int, now: float = 0.0) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "INSERT INTO campaigns (name, broadcast_id, config, state) VALUES"
            " ('test', %s, '{}', 'running') RETURNING id",
            (BROADCAST,),
        ).fetchone()
        assert row is not None
        cid = int(row[0])
        with conn.cursor() as cur:
            cur.execute(
                "INSERT INTO recipients (campaign_id, row_no, phone, e164, next_at)"
                " SELECT %s, g, '+1213555' || lpad(g::text, 4, '0'), '+1213555' || lpad(g::text, 4, '0'), %s"
                " FROM generate_series(1, %s) g",
                (cid, now, n),
            )
        open_gate(conn, cid, cps, max_active)
    return cid


class _Log:
    def __init__(self, folder: str, worker: str) -> None:
        path = Path(folder) / (worker.replace(":", "_") + ".log")
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def line(self, *parts: object) -> None:
        os.write(self.fd, (" ".join(map(str, parts)) + "\n").encode())


class _Heartbeat(threading.Thread):
    """Renews the lease from its own connection (like the SQLite lease's heartbeat thread)."""

    def __init__(self, dsn: str, worker: str, ttl: float) -> None:
        super().__init__(daemon=True)
        self.dsn, self.worker, self.ttl = dsn, worker, ttl
        self.halt = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self.halt.wait(self.ttl / 6):
                try:
                    heartbeat(conn, self.worker, self.ttl)
                except WorkerLost:
                    return


@dataclass
class _Call:
    claim: Claim
    dialled_at: float | None = None
    ends_at: float = 0.0


@dataclass
class Tally:
    claims: int = 0
    round_trips: int = 0
    calls: list[_Call] = field(default_factory=list)


def real_clock_worker(
    dsn: str, campaign_id: int, log_dir: str, ttl: float, scale: float, batch: int = 4
) -> None:
    """Dial on the real clock until every recipient has a final result."""
    conn = psycopg.connect(dsn, autocommit=True)
    worker = register(conn, ttl)
    log = _Log(log_dir, worker)
    beat = _Heartbeat(dsn, worker, ttl)
    beat.start()
    calls: list[_Call] = []

    def decide(lost: LostAttempt) -> Booking:
        log.line("reap", lost.recipient_id, lost.attempt_no, lost.worker)
        return decision(
            lost.recipient_id, lost.attempt_no, "INTERNAL_ERROR", time.time(), RETRY_AFTER
        )

    last_reap = 0.0
    while True:
        now = time.time()
        if now - last_reap > ttl / 4:
            reap(conn, now, decide)
            last_reap = now
        ended = [c for c in calls if c.dialled_at is not None and c.ends_at <= now]
        if ended:
            for c in ended:  # "ending" before the commit, "end" after: a kill between is either
                log.line("ending", c.claim.recipient_id, c.claim.attempt_no)
            finish(conn, worker, [_outcome(c, now, RETRY_AFTER) for c in ended])
            for c in ended:
                log.line("end", c.claim.recipient_id, c.claim.attempt_no)
            calls = [c for c in calls if c not in ended]
        for c in calls:
            if c.dialled_at is None and c.claim.start_at <= now:
                c.dialled_at = now
                c.ends_at = now + length_for(c.claim.recipient_id, c.claim.attempt_no, scale)
                log.line(
                    "dial",
                    c.claim.recipient_id,
                    c.claim.attempt_no,
                    f"{now:.6f}",
                    f"{c.claim.start_at:.3f}",
                )
        got = claim(conn, campaign_id, worker, now, batch, horizon=0.05)
        if got:
            start(conn, BROADCAST, worker, got)
            calls += [_Call(c) for c in got]
            continue
        if not calls:
            left = conn.execute(
                "SELECT count(*) FROM recipients WHERE campaign_id = %s AND final_result IS NULL",
                (campaign_id,),
            ).fetchone()
            if left is not None and left[0] == 0:
                break
        time.sleep(0.003)
    beat.halt.set()
    beat.join()
    conn.close()


def _outcome(c: _Call, now: float, spacing: float) -> Outcome:
    rid, n = c.claim.recipient_id, c.claim.attempt_no
    result = result_for(rid, n)
    booking = decision(rid, n, result, now, spacing)
    assert c.dialled_at is not None
    return Outcome(
        rid, n, result, 16 if result == "LA" else 17, c.dialled_at if result == "LA" else None,
        c.ends_at, "human" if result == "LA" else None, c.ends_at - c.dialled_at,
        booking.next_at, booking.final_result,
    )  # fmt: skip


def virtual_clock_worker(
    dsn: str, campaign_id: int, log_dir: str, ttl: float, scale: float, batch: int = 8
) -> None:
    """Dial in virtual time on the shared clock ``test`` until every recipient is final."""
    conn = psycopg.connect(dsn, autocommit=True)
    listen = psycopg.connect(dsn, autocommit=True)
    listen.execute("LISTEN dp_clock")
    worker = register(conn, ttl, clock="test")
    log = _Log(log_dir, worker)
    beat = _Heartbeat(dsn, worker, ttl)
    beat.start()
    clock = SharedClock(conn, "test", worker)
    calls: list[_Call] = []
    now = 0.0

    def decide(lost: LostAttempt) -> Booking:
        log.line("reap", lost.recipient_id, lost.attempt_no, lost.worker)
        return decision(
            lost.recipient_id, lost.attempt_no, "INTERNAL_ERROR", now, RETRY_AFTER_VIRTUAL
        )

    while True:
        now = clock.busy().now
        reap(conn, now, decide)
        while True:  # everything due at this instant
            ended = [c for c in calls if c.dialled_at is not None and c.ends_at <= now]
            if ended:
                finish(conn, worker, [_outcome(c, now, RETRY_AFTER_VIRTUAL) for c in ended])
                calls = [c for c in calls if c not in ended]
            for c in calls:
                if c.dialled_at is None and c.claim.start_at <= now:
                    c.dialled_at = c.claim.start_at
                    c.ends_at = c.dialled_at + length_for(
                        c.claim.recipient_id, c.claim.attempt_no, scale
                    )
                    log.line(
                        "dial",
                        c.claim.recipient_id,
                        c.claim.attempt_no,
                        c.dialled_at,
                        c.claim.start_at,
                    )
            got = claim(conn, campaign_id, worker, now, batch, horizon=0.0)
            if got:
                start(conn, BROADCAST, worker, got)
                calls += [_Call(c) for c in got]
                continue
            if not any(c.ends_at <= now and c.dialled_at is not None for c in calls) and not any(
                c.dialled_at is None and c.claim.start_at <= now for c in calls
            ):
                break
        wake = _wake(conn, campaign_id, calls)
        if wake is None and not calls and _finished(conn, campaign_id):
            break
        reading = clock.idle(wake)
        if reading.advanced:
            continue
        generation = reading.generation
        waited = time.monotonic()
        while clock.read().generation == generation:
            for _ in listen.notifies(timeout=0.05, stop_after=1):
                pass
            if time.monotonic() - waited > ttl / 3:
                break  # look for lost workers (the loop's reap), then report again
    beat.halt.set()
    beat.join()
    listen.close()
    conn.close()


def _finished(conn: psycopg.Connection, campaign_id: int) -> bool:
    row = conn.execute(
        "SELECT count(*) FROM recipients WHERE campaign_id = %s AND final_result IS NULL",
        (campaign_id,),
    ).fetchone()
    return row is not None and row[0] == 0


def _wake(conn: psycopg.Connection, campaign_id: int, calls: list[_Call]) -> float | None:
    """This worker's next event: one of its calls, or the next claim the gate would allow."""
    times = [c.ends_at if c.dialled_at is not None else c.claim.start_at for c in calls]
    row = conn.execute(
        "SELECT (SELECT min(next_at) FROM recipients WHERE campaign_id = %(c)s"
        "  AND final_result IS NULL AND claimed_by IS NULL),"
        " g.next_start_ms / 1000.0, g.active < g.max_active FROM dial_gates g WHERE g.campaign_id = %(c)s",
        {"c": campaign_id},
    ).fetchone()
    assert row is not None
    due, slot, free = row
    if due is not None and free:
        times.append(max(float(due), float(slot)))
    return min(times) if times else None
