"""PostgreSQL workers: attempts per second with 1, 2 and 4 worker processes on one campaign,
and the database round trips and transactions per attempt.

``python -m tools.bench pg [--json] [--quick]`` starts a throwaway server (``fsync=off``, on
127.0.0.1; see ``tools/pg_server.py``), loads a campaign, and lets N processes
run every attempt through the real primitives — ``claim`` (SKIP LOCKED under the dial gate),
``start`` (attempt row committed before the call) and ``finish`` — with zero-length calls, so
what is measured is the database's share of an attempt. The gate's rate and line limits are
set far above what is reached (slots reserved up to an hour ahead), so they never bind: these
are capacity figures, not a paced campaign. Batch 1 is one attempt per round trip (the worst
case); batch 10 claims, starts and finishes ten at a time. No targets are asserted; the issue's
goal (2 workers ≥ 1.5× one) is shown as met or missed.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Sequence
from typing import Any

from .common import Figure, Report, cli, ensure_root_on_path

ensure_root_on_path()

import psycopg  # noqa: E402

from dialplan.broadcast.pg import (  # noqa: E402
    Outcome,
    claim,
    finish,
    migrate,
    open_gate,
    register,
    start,
)
from tools.pg_server import PostgresUnavailable, ThrowawayServer  # noqa: E402

BROADCAST = "bench-pg"


def _worker(dsn: str, cid: int, batch: int, go: Any, ready: Any, counts: Any) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        worker = register(conn, 600)
        ready.put(worker)
        go.wait()
        done = trips = 0
        while True:
            now = time.time()
            got = claim(conn, cid, worker, now, batch, horizon=3600.0)
            trips += 1
            if not got:
                break
            start(conn, BROADCAST, worker, got)
            outcomes = [
                Outcome(c.recipient_id, c.attempt_no, "LA", 16, now, now, "human", 0.0, now, "LA")
                for c in got
            ]
            finish(conn, worker, outcomes)
            trips += 2
            done += len(got)
        counts.put((done, trips))


def _campaign(dsn: str, n: int) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE campaigns, workers CASCADE")
        row = conn.execute(
            "INSERT INTO campaigns (name, broadcast_id, config, state)"
            " VALUES ('bench', %s, '{}', 'running') RETURNING id",
            (BROADCAST,),
        ).fetchone()
        assert row is not None
        conn.execute(
            "INSERT INTO recipients (campaign_id, row_no, phone, e164)"
            " SELECT %s, g, '+1213' || lpad(g::text, 7, '0'), '+1213' || lpad(g::text, 7, '0')"
            " FROM generate_series(1, %s) g",
            (row[0], n),
        )
        conn.execute("VACUUM ANALYZE recipients")
        open_gate(conn, int(row[0]), 1000, 1_000_000)
        return int(row[0])


def _xacts(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
        return int(row[0]) if row else 0


def measure(dsn: str, n: int, workers: int, batch: int) -> dict[str, float]:
    cid = _campaign(dsn, n)
    ctx = multiprocessing.get_context("spawn")
    go, ready, counts = ctx.Event(), ctx.Queue(), ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(dsn, cid, batch, go, ready, counts))
        for _ in range(workers)
    ]
    for p in procs:
        p.start()
    for _ in procs:  # every process imported, connected and registered before the clock starts
        ready.get(timeout=120)
    time.sleep(0.3)  # closed sessions' statistics reach pg_stat_database
    x0 = _xacts(dsn)
    t0 = time.perf_counter()
    go.set()
    results = [counts.get(timeout=600) for _ in procs]
    wall = time.perf_counter() - t0
    for p in procs:
        p.join()
    time.sleep(0.3)
    x1 = _xacts(dsn)
    done = sum(r[0] for r in results)
    trips = sum(r[1] for r in results)
    return {
        "attempts": done,
        "wall_s": round(wall, 3),
        "per_s": round(done / wall, 1),
        "round_trips_per_attempt": round(trips / done, 3),
        "transactions_per_attempt": round((x1 - x0) / done, 3),
    }


def run(quick: bool = False) -> Report:
    n = 600 if quick else 6000
    batches, counts = ((10,), (1, 2)) if quick else ((1, 10), (1, 2, 4))
    try:
        server = ThrowawayServer.start()
    except PostgresUnavailable as exc:
        return Report("pg", [Figure("PostgreSQL server", None, "", note=str(exc))])
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE bench")
        dsn = server.dsn("bench")
        with psycopg.connect(dsn, autocommit=True) as conn:
            migrate(conn)
        runs: dict[str, dict[str, float]] = {}
        figures: list[Figure] = []
        for batch in batches:
            for workers in counts:
                r = measure(dsn, n, workers, batch)
                runs[f"batch {batch}, {workers} workers"] = r
                figures.append(
                    Figure(f"attempts/s, batch {batch}, {workers} worker(s)", r["per_s"], "/s")
                )
            one = runs[f"batch {batch}, 1 workers"]["per_s"]
            two = runs[f"batch {batch}, 2 workers"]["per_s"]
            figures.append(
                Figure(f"2 workers / 1 worker, batch {batch}", round(two / one, 2), "x",
                       target="≥ 1.5", met=two / one >= 1.5)
            )  # fmt: skip
            r1 = runs[f"batch {batch}, 1 workers"]
            figures.append(
                Figure(f"round trips per attempt, batch {batch}", r1["round_trips_per_attempt"], "")
            )
            figures.append(
                Figure(
                    f"server transactions per attempt, batch {batch}",
                    r1["transactions_per_attempt"],
                    "",
                )
            )
        return Report(
            "pg",
            figures,
            command="python -m tools.bench pg" + (" --quick" if quick else ""),
            details={"recipients": n, "runs": runs},
        )
    finally:
        server.stop()


def main(argv: Sequence[str] | None = None) -> int:
    return cli("pg", run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
