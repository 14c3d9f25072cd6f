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

Then the same for full ``broadcast worker`` processes (:mod:`dialplan.broadcast.runners.pg_worker`)
on a loaded, scripted campaign in virtual time with the simulated driver — the engine, the
shared clock, the reaper and the bookings included — against the one-process SQLite run of the
same campaign. Their round trips are counted by wrapping psycopg's cursor in each worker (an
``executemany`` counts once: psycopg pipelines it).
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


def run_primitives(quick: bool = False) -> Report:
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


def run(quick: bool = False) -> Report:
    """The primitives alone, then full ``broadcast worker`` processes."""
    primitives = run_primitives(quick)
    workers = run_workers(quick)
    return Report(
        "pg",
        primitives.figures + workers.figures,
        command="python -m tools.bench pg" + (" --quick" if quick else ""),
        details={"primitives": primitives.details, "workers": workers.details},
    )


# -- full workers: ``broadcast worker`` processes on a loaded campaign ------------------------
PLAN = """<dialplan name="bench">
  <amd><live><play type="tts">Hello</play></live><machine><play type="tts">Bye</play></machine></amd>
</dialplan>
"""
SCRIPT = ("LA", "LA", "AM", "BUSY", "NO_ANS", "LA", "CARRIER_ERROR", "LA")


def write_campaign(folder: Any, n: int) -> Any:
    """A scripted campaign (results in the CSV, retries a minute apart), rate and lines set
    out of reach: the workers' own cost is measured, not the campaign's pacing."""
    from pathlib import Path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plan.xml").write_text(PLAN)
    with (folder / "recipients.csv").open("w") as fh:
        fh.write("phone_number,first,sim_result\n")
        for i in range(n):
            area = ("212", "312", "415", "808")[i % 4]
            fh.write(f"({area}) {200 + (i // 10000) % 800:03d}-{i % 10000:04d},n{i},")
            fh.write(SCRIPT[(i * 7) % len(SCRIPT)] + "\n")
    path = folder / "campaign.toml"
    path.write_text(
        'name = "bench"\ndialplan = "plan.xml"\nrecipients = "recipients.csv"\n'
        'from_number = "+12125550100"\nmax_active = 10000\ncalls_per_second = 1000\n'
        "[retry_config]\nmax_attempts = 3\nminutes_between_attempts = 1\n"
        'retry_results = ["BUSY", "NO_ANS"]\n'
        '[simulation]\nseed = 1\nstart = "2026-12-01T15:00:00Z"\n'
    )
    return path


def _full_worker(dsn: str, go: Any, counts: Any) -> None:
    """One ``broadcast worker`` (virtual clock, simulated calls), counting its statements."""
    from dialplan.broadcast.runners.pg_worker import Worker, WorkerOptions

    trips = [0]
    execute, executemany = psycopg.Cursor.execute, psycopg.Cursor.executemany

    def counted(self: Any, *a: Any, **k: Any) -> Any:
        trips[0] += 1
        return execute(self, *a, **k)

    def counted_many(self: Any, *a: Any, **k: Any) -> Any:
        trips[0] += 1  # one pipeline
        return executemany(self, *a, **k)

    psycopg.Cursor.execute = counted  # type: ignore[method-assign]
    psycopg.Cursor.executemany = counted_many  # type: ignore[method-assign]
    worker = Worker(dsn, WorkerOptions(clock="virtual", lease=30.0, tick=1.0, batch=32))
    go.wait()
    report = worker.run()
    counts.put((report.calls, trips[0]))


def measure_workers(server: ThrowawayServer, folder: Any, n: int, workers: int) -> dict[str, float]:
    from dialplan.broadcast.campaign import load_campaign
    from dialplan.broadcast.pg.service import load

    name = f"full{workers}"
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    dsn = server.dsn(name)
    load(load_campaign(write_campaign(folder, n)), dsn, "virtual")
    ctx = multiprocessing.get_context("spawn")
    go, counts = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_full_worker, args=(dsn, go, counts)) for _ in range(workers)]
    for p in procs:
        p.start()
    time.sleep(3.0)  # every process imported and connected before the clock starts
    x0 = _xacts(dsn)
    t0 = time.perf_counter()
    go.set()
    results = [counts.get(timeout=1200) for _ in procs]
    wall = time.perf_counter() - t0
    for p in procs:
        p.join()
    time.sleep(0.3)
    x1 = _xacts(dsn)
    done = sum(r[0] for r in results)
    return {
        "attempts": done,
        "wall_s": round(wall, 3),
        "per_s": round(done / wall, 1),
        "round_trips_per_attempt": round(sum(r[1] for r in results) / done, 3),
        "transactions_per_attempt": round((x1 - x0) / done, 3),
    }


def sqlite_reference(folder: Any, n: int) -> float:
    """Attempts per second of the one-process SQLite run of the same campaign."""
    from dialplan.broadcast.campaign import load_campaign
    from dialplan.broadcast.service import run_campaign

    path = write_campaign(folder, n)
    db = path.parent / "ref.sqlite"
    t0 = time.perf_counter()
    run_campaign(load_campaign(path), db, deliver=False)
    wall = time.perf_counter() - t0
    import sqlite3

    con = sqlite3.connect(db)
    (attempts,) = con.execute("SELECT count(*) FROM attempts").fetchone()
    con.close()
    return round(attempts / wall, 1)


def run_workers(quick: bool = False) -> Report:
    import tempfile

    n = 2000 if quick else 20000
    counts = (1, 2) if quick else (1, 2, 4)
    try:
        server = ThrowawayServer.start()
    except PostgresUnavailable as exc:
        return Report("pg-workers", [Figure("PostgreSQL server", None, "", note=str(exc))])
    folder = tempfile.mkdtemp(prefix="bench-pgw-")
    try:
        runs = {w: measure_workers(server, folder, n, w) for w in counts}
        figures = [
            Figure(f"attempts/s, {w} full worker(s)", r["per_s"], "/s") for w, r in runs.items()
        ]
        ratio = runs[2]["per_s"] / runs[1]["per_s"]
        figures.append(
            Figure("2 workers / 1 worker (full workers)", round(ratio, 2), "x", target="≥ 1.5",
                   met=ratio >= 1.5)
        )  # fmt: skip
        figures.append(
            Figure("round trips per attempt (full worker)", runs[1]["round_trips_per_attempt"], "")
        )
        figures.append(
            Figure(
                "server transactions per attempt (full worker)",
                runs[1]["transactions_per_attempt"],
                "",
            )
        )
        figures.append(
            Figure("attempts/s, one-process SQLite run (same campaign)",
                   sqlite_reference(folder, n), "/s")
        )  # fmt: skip
        return Report(
            "pg-workers",
            figures,
            command="python -m tools.bench pg --workers" + (" --quick" if quick else ""),
            details={"recipients": n, "runs": {str(k): v for k, v in runs.items()}},
        )
    finally:
        server.stop()
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    return cli("pg", run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
