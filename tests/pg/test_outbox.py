"""The webhook outbox on PostgreSQL: concurrent deliverers, stable ids, at least once."""

from __future__ import annotations

import collections
import multiprocessing
import os
import signal
import time
from pathlib import Path

import psycopg

from dialplan.broadcast.pg import PgOutbox


def _deliver(dsn: str, owner: str, out: str, claim_seconds: float, hang: bool) -> None:
    """Claim and "post" events (append their ids to ``out``) until none is left."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        box = PgOutbox(conn, owner, claim_seconds)
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        while True:
            events = box.due(time.time(), 5)
            if not events:
                if box.pending_count() == 0:
                    return
                time.sleep(0.02)
                continue
            for e in events:
                os.write(fd, f"{owner} {e.event_id} {e.id}\n".encode())
                if hang:  # posted, then stuck before it could mark it delivered
                    time.sleep(3600)
                box.delivered(e.id, time.time())


def test_concurrent_deliverers_post_every_event_at_least_once_with_stable_ids(
    pg_db: str, tmp_path: object
) -> None:
    with psycopg.connect(pg_db, autocommit=True) as conn:
        box = PgOutbox(conn, "loader")
        rows = [(f"evt-{i}", "http://127.0.0.1:9/hook", b"{}", 0.0) for i in range(400)]
        box.add_many(rows)
        box.add_many(rows[:50])  # idempotent by event_id
        assert box.pending_count() == 400
    out = f"{tmp_path}/posts.log"
    ctx = multiprocessing.get_context("spawn")
    stuck = ctx.Process(target=_deliver, args=(pg_db, "stuck", out, 1.0, True))
    stuck.start()
    deadline = time.monotonic() + 60
    # the stuck deliverer has posted one event and hangs (it creates the file before it
    # claims anything: its existence alone would let the others start first)
    while not (os.path.exists(out) and os.path.getsize(out) > 0):
        assert stuck.is_alive() and time.monotonic() < deadline, "the stuck one never posted"
        time.sleep(0.01)
    workers = [
        ctx.Process(target=_deliver, args=(pg_db, f"w{i}", out, 5.0, False)) for i in range(3)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
        assert w.exitcode == 0
    assert stuck.pid is not None
    os.kill(stuck.pid, signal.SIGKILL)
    stuck.join()

    posts = [line.split() for line in Path(out).read_text().splitlines()]
    per_event = collections.Counter(event for _, event, _ in posts)
    assert set(per_event) == {f"evt-{i}" for i in range(400)}  # every event, at least once
    # only the one the stuck deliverer held was posted twice, with the same id both times
    twice = [e for e, n in per_event.items() if n > 1]
    stuck_event = next(e for who, e, _ in posts if who == "stuck")
    assert twice == [stuck_event]
    assert len({i for _, e, i in posts if e == stuck_event}) == 1
    with psycopg.connect(pg_db) as conn:
        assert conn.execute(
            "SELECT count(*) FROM outbox WHERE delivered_at IS NULL"
        ).fetchone() == (0,)
