"""Every writer of the PostgreSQL store counts what it changes (migration 9: no row trigger does
it for them): each is driven once and the counters are compared with the COUNT queries after
it, so a writer that forgets to count fails here by name."""

from __future__ import annotations

import time
from collections.abc import Callable

import psycopg
import pytest

from dialplan.broadcast.pg import Outcome, claim, counters, finish, reap, register, start
from dialplan.broadcast.pg.dialing import skip, unclaim
from dialplan.broadcast.pg.store import PgStore
from dialplan.broadcast.pg.workers import Booking, LostAttempt

from ..counters_check import assert_counters_agree
from . import workload


def _agree(dsn: str, cid: int, after: str) -> None:
    store = PgStore(dsn, readonly=True)
    try:
        assert_counters_agree(store, [cid])
    except AssertionError as e:
        raise AssertionError(f"the counters differ from the COUNT queries after {after}") from e
    finally:
        store.close()


def _outcome(rid: int, no: int, result: str, final: str | None, at: float) -> Outcome:
    answered = at + 1 if result == "LA" else None
    return Outcome(rid, no, result, 16, answered, at + 61.5, None, 61.5, at + 60, final)


def _retry(a: LostAttempt) -> Booking:
    return Booking(100.0, None if a.recipient_id % 2 else "INTERNAL_ERROR")


def test_each_writer_keeps_the_counters_equal_to_the_rows(pg_db: str) -> None:
    cid = workload.setup_campaign(pg_db, 40, 1000, 1000)
    _agree(pg_db, cid, "loading (INSERT … SELECT)")
    with psycopg.connect(pg_db, autocommit=True) as conn:

        def store_step(what: str, write: Callable[[PgStore], object]) -> None:
            st = PgStore(pg_db)
            try:
                write(st)
                st.commit()
            finally:
                st.close()
            _agree(pg_db, cid, what)

        conn.execute(
            "INSERT INTO recipients (campaign_id, row_no, phone, e164)"
            " SELECT %s, 100 + g, 'p', '+12135550001' FROM generate_series(1, 2) g",
            (cid,),
        )
        conn.execute(
            "INSERT INTO text_optouts (from_number, number, added_at) VALUES ('+1800', %s, 0)",
            ("+12135550005",),
        )
        store_step("adding the DNC list", lambda st: st.add_dnc(cid, ["+12135550003"], "file"))
        store_step("bucket_dnc_and_duplicates", lambda st: st.bucket_dnc_and_duplicates(cid, True))
        store_step("bucket_opted_out", lambda st: st.bucket_opted_out(cid, "+1800"))

        w = register(conn, 60)
        got = claim(conn, cid, w, 0.0, 12, horizon=3600.0)
        start(conn, workload.BROADCAST, w, got[:10])
        _agree(pg_db, cid, "dp_start")
        finals = ("LA", None, "BUSY", "AM")  # None: retried
        booked = finish(
            conn,
            w,
            [
                _outcome(c.recipient_id, c.attempt_no, f or "BUSY", f, c.start_at)
                for i, c in enumerate(got[:8])
                for f in [finals[i % 4]]
            ],
        )
        assert len(booked) == 8
        _agree(pg_db, cid, "dp_finish")
        retried = [c for i, c in enumerate(got[:8]) if finals[i % 4] is None]
        assert unclaim(conn, w, [c.recipient_id for c in got[8:]]) == 2  # 2 in flight: kept
        _agree(pg_db, cid, "dp_unclaim")
        freed = claim(conn, cid, w, 0.0, 2, horizon=3600.0)
        assert skip(conn, w, [c.recipient_id for c in freed], "DNC") == 2
        _agree(pg_db, cid, "dp_skip")

        again = claim(conn, cid, w, 200.0, 40, horizon=3600.0)
        assert {c.recipient_id for c in retried} <= {c.recipient_id for c in again}
        again.sort(key=lambda c: -c.attempt_no)  # the retries first
        start(conn, workload.BROADCAST, w, again[:6])
        assert unclaim(conn, w, [c.recipient_id for c in again[6:]]) == len(again) - 6
        _agree(pg_db, cid, "dp_start of retries")

        lost = register(conn, 0.5)
        theirs = claim(conn, cid, lost, 300.0, 5, horizon=3600.0)
        start(conn, workload.BROADCAST, lost, theirs)
        time.sleep(0.8)  # the lease expires (server clock)
        reaped = reap(conn, 400.0, _retry)
        assert {a.recipient_id for a in reaped} == {c.recipient_id for c in theirs}
        _agree(pg_db, cid, "the reaper")

        finish(
            conn,
            w,
            [
                _outcome(c.recipient_id, c.attempt_no, "LA", "LA", 250.0)
                for c in got[8:10] + again[:3]
            ],
        )
        _agree(pg_db, cid, "dp_finish of retries")
        store_step("finish_remaining", lambda st: st.finish_remaining(cid))

        first = conn.execute("SELECT max(id) + 1 FROM recipients").fetchone()
        assert first is not None
        conn.execute(
            "INSERT INTO recipients (campaign_id, row_no, phone, e164, bucket)"
            " VALUES (%s, 200, 'p', '+12135550002', 'call_initiated'),"
            " (%s, 201, 'p', '+12135559999', 'call_initiated')",
            (cid, cid),
        )
        store_step("drop_known", lambda st: st.drop_known(cid, int(first[0])))
    store = PgStore(pg_db, readonly=True)
    try:
        kept = store.stat_counts(cid)
        assert kept.finals["DNC"] >= 1 and kept.finals["DNT"] == 1 and kept.finals["DUP"] == 2
        assert kept.placed > kept.attempted > 0 and kept.billed > 0
        assert kept.finals.get("INTERNAL_ERROR", 0) >= 1
    finally:
        store.close()


def test_no_row_trigger_on_the_tables_workers_write(pg_db: str) -> None:
    """Migration 9: a row trigger on ``recipients`` costs every update of it, even one its
    ``WHEN`` skips; statement triggers stay for loading and deleting only."""
    with psycopg.connect(pg_db) as conn:
        rows = conn.execute(
            "SELECT c.relname, t.tgname, (t.tgtype & 1) = 1 FROM pg_trigger t"
            " JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal"
            " AND c.relname IN ('recipients', 'attempts', 'responses') ORDER BY 1, 2"
        ).fetchall()
    assert [r for r in rows if r[2]] == []  # no FOR EACH ROW
    assert [(r[0], r[1]) for r in rows] == [
        ("attempts", "dp_count_attempts_delete"),
        ("recipients", "dp_count_recipients_delete"),
        ("recipients", "dp_count_recipients_insert"),
        ("responses", "dp_count_responses_delete"),
    ]


def _counter_writes(conn: psycopg.Connection) -> int:
    """Rows of ``campaign_counts`` this transaction inserted or updated so far."""
    row = conn.execute(
        "SELECT n_tup_ins + n_tup_upd FROM pg_stat_xact_user_tables"
        " WHERE relname = 'campaign_counts'"
    ).fetchone()
    return int(row[0]) if row else 0


@pytest.mark.parametrize("batch", [20])
def test_a_batch_moves_each_counter_once_not_once_per_row(pg_db: str, batch: int) -> None:
    cid = workload.setup_campaign(pg_db, batch, 1000, 1000)
    with psycopg.connect(pg_db) as conn:
        w = register(conn, 60)
        conn.commit()
        got = claim(conn, cid, w, 0.0, batch, horizon=3600.0)
        conn.commit()
        start(conn, workload.BROADCAST, w, got)
        assert _counter_writes(conn) == 1  # awaiting
        conn.commit()
        outcomes = [
            _outcome(c.recipient_id, 1, r, r, c.start_at)
            for c in got
            for r in ["LA" if c.recipient_id % 2 else "BUSY"]
        ]
        assert len(finish(conn, w, outcomes)) == batch
        # one upsert of 8 rows: placed, attempted, duration, billed, awaiting, final '', LA and
        # BUSY (the row triggers of migration 6 wrote 7 per attempt: 140 here)
        assert _counter_writes(conn) <= 9  # (one of them may count twice)
        conn.commit()
    _agree(pg_db, cid, "the batch")


def test_an_attempt_in_flight_counts_for_nothing(pg_db: str) -> None:
    """``dp_start`` counts only the recipients it changes, not the attempts it inserts: they are
    in flight (result NULL), which no rule of ``RULES`` counts — whatever else the row holds."""
    rules = [r for r in counters.RULES if r.table == "attempts"]
    assert {r.kind for r in rules} == {"placed", "duration", "billed", "attempted"}
    with psycopg.connect(pg_db) as conn:
        for r in rules:
            row = conn.execute(
                f"SELECT ({r.n})::float8 FROM (VALUES (NULL::text, 61.5::float8, 3.0::float8))"
                " t(result, duration, answered_at)".encode()
            ).fetchone()
            assert row == (0.0,), r.kind


def test_a_rule_reads_the_columns_its_sql_names() -> None:
    """What a writer that changes some columns only leaves out (``deltas(..., changed=…)``)."""
    reads = {r.kind: set(r.reads) for r in counters.RULES}
    assert reads["final"] == {"final_result"} and reads["bucket"] == {"bucket"}
    assert reads["awaiting"] == {"final_result", "attempts"}
    assert reads["billed"] == {"result", "duration", "answered_at"}
    assert reads["responded"] == set()


def test_recount_counts_a_campaign_again_from_its_rows(pg_db: str) -> None:
    """Rows written by hand (a seed, a repair) are not counted until ``dp_recount``."""
    cid = workload.setup_campaign(pg_db, 10, 1000, 1000)
    with psycopg.connect(pg_db, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO attempts (recipient_id, attempt_no, voice_id, worker_id, started_at,"
            " answered_at, ended_at, result, duration) SELECT id, 1, 'v', 'w', 0, 1, 9, 'LA', 8"
            " FROM recipients WHERE campaign_id = %s",
            (cid,),
        )
        with pytest.raises(AssertionError):
            _agree(pg_db, cid, "writing by hand")
        conn.execute("SELECT dp_recount(%s)", (cid,))
    _agree(pg_db, cid, "dp_recount")
