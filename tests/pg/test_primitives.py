"""The primitives one call at a time: gate arithmetic, fences, the clock rule."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest

from dialplan.broadcast.pg import (
    Booking,
    Outcome,
    SharedClock,
    WorkerLost,
    claim,
    finish,
    heartbeat,
    reap,
    register,
    start,
    stop,
    unclaim,
)
from dialplan.broadcast.telephony.port import voice_id_for

from . import workload


@pytest.fixture
def conn(pg_db: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(pg_db, autocommit=True) as c:
        yield c


def _outcome(rid: int, n: int, t: float) -> Outcome:
    return Outcome(rid, n, "LA", 16, t, t, "human", 0.0, t, "LA")


def _let_the_lease_run_out(conn: psycopg.Connection, worker: str) -> None:
    """Renew ``worker`` for 50 ms, then wait until the server's clock has passed its expiry.

    The worker is set up under a long lease: a short one taken at ``register`` could run out
    before the setup's claim and start on a loaded machine."""
    heartbeat(conn, worker, 0.05)
    deadline = time.monotonic() + 10
    expired = "SELECT expires_at <= dp_server_now() FROM workers WHERE id = %s"
    while conn.execute(expired, (worker,)).fetchone() != (True,):
        assert time.monotonic() < deadline, "the lease never ran out"
        time.sleep(0.01)


def test_the_gate_spaces_starts_and_caps_lines(conn: psycopg.Connection) -> None:
    cid = workload.setup_campaign(conn.info.dsn, 10, 2, 3, now=0.0)  # 2 calls/s, 3 lines
    w = register(conn, 60)
    got = claim(conn, cid, w, 100.0, 10, horizon=2.0)
    # three lines; slots 500 ms apart from now
    assert [(c.attempt_no, c.start_at) for c in got] == [(1, 100.0), (1, 100.5), (1, 101.0)]
    assert claim(conn, cid, w, 100.0, 10, horizon=2.0) == []  # no free line
    start(conn, workload.BROADCAST, w, got[:1])
    assert finish(conn, w, [_outcome(got[0].recipient_id, 1, 100.2)]) == {got[0].recipient_id}
    nxt = claim(conn, cid, w, 100.3, 10, horizon=2.0)
    assert [c.start_at for c in nxt] == [101.5]  # the next slot, not "now"
    assert unclaim(conn, w, [c.recipient_id for c in got[1:] + nxt]) == 3
    assert conn.execute("SELECT active FROM dial_gates").fetchone() == (0,)


def test_the_attempt_row_and_voice_id_are_committed_by_start(conn: psycopg.Connection) -> None:
    cid = workload.setup_campaign(conn.info.dsn, 1, 10, 1)
    w = register(conn, 60)
    (c,) = claim(conn, cid, w, 0.0, 1)
    assert conn.execute("SELECT count(*) FROM attempts").fetchone() == (0,)
    (voice_id,) = start(conn, workload.BROADCAST, w, [c])
    assert voice_id == voice_id_for(workload.BROADCAST, c.recipient_id, 1)
    other = psycopg.connect(conn.info.dsn)  # visible to everyone: it is committed
    assert other.execute("SELECT voice_id, result FROM attempts").fetchall() == [(voice_id, None)]
    other.close()
    with pytest.raises(WorkerLost):  # the same attempt cannot be started twice
        start(conn, workload.BROADCAST, w, [c])


def test_a_lost_worker_can_neither_start_nor_renew_and_its_late_outcome_is_ignored(
    conn: psycopg.Connection,
) -> None:
    cid = workload.setup_campaign(conn.info.dsn, 2, 10, 2)
    lost = register(conn, 60)
    c1, c2 = claim(conn, cid, lost, 0.0, 2, horizon=1.0)
    start(conn, workload.BROADCAST, lost, [c1])
    _let_the_lease_run_out(conn, lost)
    with pytest.raises(WorkerLost):
        start(conn, workload.BROADCAST, lost, [c2])
    with pytest.raises(WorkerLost):
        heartbeat(conn, lost, 60)
    decided: list[int] = []

    def decide(a: object) -> Booking:
        decided.append(1)
        return Booking(50.0, None)

    reaped = reap(conn, 10.0, decide)
    assert [(a.recipient_id, a.attempt_no) for a in reaped] == [(c1.recipient_id, 1)]
    assert reap(conn, 11.0, decide) == [] and decided == [1]  # exactly once
    assert finish(conn, lost, [_outcome(c1.recipient_id, 1, 5.0)]) == set()
    rows = conn.execute(
        "SELECT a.result, a.reason, r.next_at, r.claimed_by, r.attempts FROM attempts a"
        " JOIN recipients r ON r.id = a.recipient_id"
    ).fetchall()
    assert rows == [("INTERNAL_ERROR", "worker lost", 50.0, None, 1)]
    assert conn.execute("SELECT active FROM dial_gates").fetchone() == (0,)
    # the never-started claim went back as it was, the lost one takes its next attempt
    alive = register(conn, 60)
    again = claim(conn, cid, alive, 60.0, 5, horizon=1.0)
    assert [(c.recipient_id, c.attempt_no) for c in again] == [
        (c2.recipient_id, 1),
        (c1.recipient_id, 2),
    ]


def test_the_clock_moves_only_when_every_worker_is_idle(conn: psycopg.Connection) -> None:
    SharedClock.create(conn, "sim", 0.0)
    a = SharedClock(conn, "sim", register(conn, 60, clock="sim"))
    b = SharedClock(conn, "sim", register(conn, 60, clock="sim"))
    assert a.idle(10.0) == a.read()  # b is still busy
    assert a.read().now == 0.0
    moved = b.idle(4.0)
    assert moved.advanced and moved.now == 4.0 and moved.generation == 1
    # a new generation: both busy again; a worker that is working holds the clock
    assert b.busy().now == 4.0
    assert not a.idle(7.0).advanced
    moved = b.idle(None)
    assert moved.advanced and moved.now == 7.0
    assert not a.idle(None).advanced and not b.idle(None).advanced  # nothing left: it stays
    assert a.read().now == 7.0


def test_a_stopping_worker_gives_back_unstarted_claims_and_keeps_its_lease_while_calling(
    conn: psycopg.Connection,
) -> None:
    cid = workload.setup_campaign(conn.info.dsn, 3, 10, 3)
    w = register(conn, 60)
    calling, *waiting = claim(conn, cid, w, 0.0, 3, horizon=1.0)
    start(conn, workload.BROADCAST, w, [calling])
    stop(conn, w)
    assert conn.execute("SELECT state FROM workers").fetchone() == ("live",)  # a call in flight
    assert conn.execute("SELECT active FROM dial_gates").fetchone() == (1,)
    claimed = conn.execute("SELECT id FROM recipients WHERE claimed_by IS NOT NULL").fetchall()
    assert claimed == [(calling.recipient_id,)]
    finish(conn, w, [_outcome(calling.recipient_id, 1, 1.0)])
    stop(conn, w)
    assert conn.execute("SELECT state FROM workers").fetchone() == ("stopped",)
    assert len(waiting) == 2


def test_the_package_exports_what_it_lists() -> None:
    import dialplan.broadcast.pg as pg

    assert pg.__all__ == sorted(set(pg.__all__), key=lambda n: (not n.isupper(), n))
    assert all(getattr(pg, name, None) is not None for name in pg.__all__)


def test_claims_take_only_the_zones_whose_window_is_open(conn: psycopg.Connection) -> None:
    cid = workload.setup_campaign(conn.info.dsn, 6, 100, 6)
    zones = [
        int(r[0])
        for r in conn.execute(
            "INSERT INTO zones (key) VALUES ('America/New_York'), ('America/Los_Angeles')"
            " RETURNING id"
        ).fetchall()
    ]
    conn.execute("UPDATE recipients SET zone_id = %s WHERE id %% 2 = 0", (zones[0],))
    conn.execute("UPDATE recipients SET zone_id = %s WHERE id %% 2 = 1", (zones[1],))
    w = register(conn, 60)
    east = claim(conn, cid, w, 0.0, 6, horizon=1.0, zones=[zones[0]])
    assert len(east) == 3 and all(c.recipient_id % 2 == 0 for c in east)
    assert claim(conn, cid, w, 0.0, 6, horizon=1.0, zones=[]) == []


def test_a_reaper_passes_by_a_lost_worker_that_is_finishing_a_call(
    conn: psycopg.Connection,
) -> None:
    cid = workload.setup_campaign(conn.info.dsn, 2, 10, 2)
    late = register(conn, 60)
    c1, c2 = claim(conn, cid, late, 0.0, 2, horizon=1.0)
    start(conn, workload.BROADCAST, late, [c1, c2])
    _let_the_lease_run_out(conn, late)  # it is still alive and books c1's outcome
    finishing = psycopg.connect(conn.info.dsn)  # one open transaction, not yet committed
    assert finish(finishing, late, [_outcome(c1.recipient_id, 1, 1.0)]) == {c1.recipient_id}
    reaper = psycopg.connect(conn.info.dsn, autocommit=True)
    reaper.execute("SET statement_timeout = '3s'")  # waiting on the finisher would be a bug
    assert reap(reaper, 2.0, lambda a: Booking(9.0, None)) == []  # passed by, not blocked
    finishing.commit()
    finishing.close()
    reaped = reap(reaper, 2.0, lambda a: Booking(9.0, None))
    assert [(a.recipient_id, a.attempt_no) for a in reaped] == [(c2.recipient_id, 1)]
    reaper.close()
    results = conn.execute("SELECT recipient_id, result FROM attempts ORDER BY 1").fetchall()
    assert results == [(c1.recipient_id, "LA"), (c2.recipient_id, "INTERNAL_ERROR")]
