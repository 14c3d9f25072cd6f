"""The stats counters on PostgreSQL (``dialplan.broadcast.pg.counters``): equal to the COUNT
queries after worker runs (retries, a worker killed and its calls booked by the reaper,
``broadcast add``), filled by the migration from the rows already there, and never a lock that
two booking transactions wait on."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from dialplan.broadcast.campaign import load_campaign
from dialplan.broadcast.pg import claim, counters, register, start
from dialplan.broadcast.pg.schema import MIGRATIONS, migrate
from dialplan.broadcast.pg.service import load
from dialplan.broadcast.pg.store import PgStore
from dialplan.broadcast.store.migrations import COUNTERS

from ..broadcast.test_counters import run_cli_campaign_with_adds
from ..counters_check import assert_counters_agree
from . import workload
from .campaigns import scripted
from .test_campaign_workers import _finish, _kill_when_busy, _worker


def test_workers_one_killed_keep_the_counters_of_their_bookings(pg_db: str, tmp_path: Path) -> None:
    path = scripted(tmp_path / "c", 1500, cps=100, max_active=200)
    load(load_campaign(path), pg_db, "virtual")
    log = tmp_path / "dials.log"
    procs = [_worker(pg_db, log, "--tick", "2") for _ in range(2)]
    try:
        _, alive = _kill_when_busy(pg_db, procs, min_done=200)
        mid = PgStore(pg_db, readonly=True)  # in flight: not counted until booked
        # the live worker goes on booking: the counters and the COUNT queries are read in one
        # snapshot (read committed, each statement saw a later one and they differed under load)
        mid.db.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        assert_counters_agree(mid)
        mid.close()
        procs.append(_worker(pg_db, log, "--tick", "2"))
        _finish([*alive, procs[-1]])
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    store = PgStore(pg_db, readonly=True)
    try:
        assert assert_counters_agree(store) == 1
        kept = store.stat_counts(store.campaign("scripted").id)  # type: ignore[union-attr]
        assert kept.finals.get("INTERNAL_ERROR", 0) + kept.placed > kept.attempted == 1500
        assert None not in kept.finals  # finished
        lost = store.db.execute("SELECT count(*) FROM attempts WHERE reason = 'worker lost'")
        assert (lost.fetchone() or (0,))[0] >= 2  # the reaper booked the victim's calls
    finally:
        store.close()


_ROWS = """
INSERT INTO campaigns (name, broadcast_id, config) VALUES ('old', 'b', '{}');
INSERT INTO recipients (campaign_id, row_no, phone, e164, final_result, attempts, bucket)
SELECT 1, i, 'p' || i, '+1212555' || lpad(i::text, 4, '0'),
       CASE WHEN i % 4 = 0 THEN NULL WHEN i % 4 = 1 THEN 'LA' ELSE 'BUSY' END,
       CASE WHEN i % 8 = 0 THEN 0 ELSE 1 END,
       CASE WHEN i % 10 = 0 THEN 'duplicate' ELSE 'call_initiated' END
  FROM generate_series(1, 200) i;
INSERT INTO attempts (recipient_id, attempt_no, voice_id, worker_id, started_at, answered_at,
                      ended_at, result, duration)
SELECT id, 1, 'v' || id, 'w', 0, CASE WHEN final_result = 'LA' THEN 1 END, 70,
       CASE WHEN id % 16 = 4 THEN NULL ELSE coalesce(final_result, 'NO_ANS') END, id * 1.25
  FROM recipients WHERE attempts = 1;
INSERT INTO responses (recipient_id, attempt_no, question, response)
SELECT id, 1, q, 'yes' FROM recipients, (VALUES ('a'), ('b')) v(q) WHERE final_result = 'LA';
"""


def test_the_migration_counts_the_rows_already_there(pg_dsn: str) -> None:
    """A database of the release before the counters (with an attempt still in flight)."""
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        migrate(conn, [m for m in MIGRATIONS if m.version < COUNTERS])
        conn.execute(_ROWS.encode())
        assert migrate(conn) == [m.version for m in MIGRATIONS if m.version >= COUNTERS]
    store = PgStore(pg_dsn, readonly=True)
    try:
        assert assert_counters_agree(store) == 1
        kept = store.stat_counts(1)
        assert kept.placed == kept.attempted == 175 - 13  # 13 in flight
        assert kept.responded == 50 and kept.buckets["duplicate"] == 20
    finally:
        store.close()


def test_two_transactions_booking_one_campaign_never_wait_on_a_counter(pg_db: str) -> None:
    cid = workload.setup_campaign(pg_db, 40, 1000, 1000)
    with psycopg.connect(pg_db) as a, psycopg.connect(pg_db) as b:
        claims = {}
        for conn in (a, b):
            conn.execute("SET lock_timeout = '2s'")
            w = register(conn, 60)
            claims[conn] = (w, claim(conn, cid, w, 0.0, 5, horizon=3600.0))
            conn.commit()
        # both start calls, book answers and put numbers on the DNC list in the same campaign,
        # uncommitted: every counter each moves is its own backend's row
        for conn, (w, got) in claims.items():
            start(conn, workload.BROADCAST, w, got)
            conn.execute(
                "INSERT INTO responses (recipient_id, attempt_no, question, response)"
                " VALUES (%s, 1, 'q', 'y')",
                (got[0].recipient_id,),
            )
            counters.count_added(conn, "responses", [(cid, got[0].recipient_id)])
            assert counters.update_recipients(
                conn, "final_result = 'DNC'", "r.id = %(i)s", {"i": got[-1].recipient_id + 20}
            )
        a.commit()
        b.commit()
    store = PgStore(pg_db, readonly=True)
    try:
        assert_counters_agree(store)
        kept = store.stat_counts(cid)
        assert kept.awaiting == 10 and kept.responded == 2 and kept.finals["DNC"] == 2
        slots = store.db.execute("SELECT count(DISTINCT slot) FROM campaign_counts")
        assert (slots.fetchone() or (0,))[0] >= 2  # each backend adds to its own rows
    finally:
        store.close()


@pytest.mark.parametrize(
    "statement",
    ["DELETE FROM responses", "DELETE FROM attempts", "DELETE FROM recipients"],
)
def test_deleting_rows_takes_their_counts_back(pg_dsn: str, statement: str) -> None:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        migrate(conn, [m for m in MIGRATIONS if m.version < COUNTERS])
        conn.execute(_ROWS.encode())
        migrate(conn)  # counted by the backfill
        if "recipients" in statement:  # recipients go with their attempts and answers
            conn.execute("DELETE FROM attempts WHERE recipient_id % 3 = 0")
            conn.execute("DELETE FROM responses WHERE recipient_id % 3 = 0")
        conn.execute(
            f"{statement} WHERE {'id' if 'recip' in statement else 'recipient_id'} % 3 = 0".encode()
        )
    store = PgStore(pg_dsn, readonly=True)
    try:
        assert_counters_agree(store)
    finally:
        store.close()


def test_a_cli_campaign_with_retries_dnc_duplicates_and_adds_keeps_its_counters(
    pg_db: str, tmp_path: Path
) -> None:
    """The SQLite store's CLI test on PostgreSQL: loading (COPY) with DNC and duplicate
    bucketing, workers with retries, answers and ``<dnc>`` during the run, ``broadcast add``
    (dropping the known numbers), a second run and its ``finish_remaining``."""
    run_cli_campaign_with_adds(tmp_path, pg_db)
    store = PgStore(pg_db, readonly=True)
    try:
        assert assert_counters_agree(store) == 1
        kept = store.stat_counts(store.campaign("test").id)  # type: ignore[union-attr]
        assert kept.placed > kept.attempted > 0  # retries happened
        assert kept.finals.get("DNC", 0) >= 1 and kept.responded > 0
        assert kept.buckets["duplicate"] == 1 and kept.finals["DUP"] == 1
    finally:
        store.close()
