"""What the rate limit shared by PostgreSQL servers costs a request, against the per-server limit.

``python -m tools.bench ratelimit [--json] [--quick]`` starts a throwaway PostgreSQL server
(``fsync=on``: a durable server, as in production) and measures:

* **the statement alone**, in this process: :class:`SharedRateLimiter.take` (one
  ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` on a pooled connection), sequentially, on the
  service's UNLOGGED ``rate_limits`` table and on a logged copy of it (what UNLOGGED saves: the
  WAL flush each commit waits for);
* **end to end**: two ``dialplan serve`` processes on the same database, one with the shared
  limit (the default), one with ``--rate-limit-per-server`` (the in-memory bucket, no database
  write), each sent the same open-loop load of ``GET /v1/calls/{id}`` (key check, one row read)
  at a fixed rate, in alternating rounds so that both see the same machine (latency counted from
  each request's scheduled send time, ``api.open_loop``), then the same request sent back to back
  by one client to each server in turn (the service time alone, where the statement's cost shows
  above the load's noise; also as the median of the paired differences).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any

from .common import ROOT, Figure, Report, cli, ensure_root_on_path

ensure_root_on_path()

import httpx  # noqa: E402
import psycopg  # noqa: E402

from tools.bench.api import FLOW, _stop, _wait_up, open_loop, percentile  # noqa: E402
from tools.pg_server import PostgresUnavailable, ThrowawayServer  # noqa: E402
from tools.sip_peers import free_tcp_port  # noqa: E402

DURABLE = {"fsync": "on", "full_page_writes": "on", "synchronous_commit": "on"}


def _statement(dsn: str, n: int) -> dict[str, dict[str, float | None]]:
    """p50/p99 (ms) of ``n`` sequential takes on the unlogged table and on a logged copy."""
    from dialplan.service.pgstorage import PgDatabase, translate
    from dialplan.service.ratelimit import TAKE_SQL, Rate, SharedRateLimiter, take_params

    db = PgDatabase(dsn)
    out: dict[str, dict[str, float | None]] = {}
    try:
        limiter = SharedRateLimiter(db, 1e6)
        for i in range(200):  # warm the pool and the plan
            limiter.take(f"k{i % 10}", None)
        took = []
        for i in range(n):
            started = time.perf_counter()
            limiter.take(f"k{i % 10}", None)
            took.append((time.perf_counter() - started) * 1000)
        out["unlogged (the service's)"] = {
            "p50_ms": percentile(took, 50),
            "p99_ms": percentile(took, 99),
        }
    finally:
        db.close()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA bench_logged")
        conn.execute(
            "CREATE TABLE bench_logged.rate_limits (LIKE dialplan_service.rate_limits INCLUDING ALL)"
        )
        conn.execute("SET search_path TO bench_logged")
        sql, rate = translate(TAKE_SQL), Rate(1e6)
        for i in range(200):
            conn.execute(sql, take_params(f"k{i % 10}", rate))
        took = []
        for i in range(n):
            started = time.perf_counter()
            conn.execute(sql, take_params(f"k{i % 10}", rate)).fetchone()
            took.append((time.perf_counter() - started) * 1000)
        out["logged"] = {"p50_ms": percentile(took, 50), "p99_ms": percentile(took, 99)}
    return out


def _serve(dsn: str, tmp: str, *options: str) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_tcp_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dialplan", "serve", "--db", dsn, "--port", str(port),
         "--no-access-log", "--rate-limit", "1000000", *options],
        cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_up(url + "/v1/health", proc)
    except BaseException:
        _stop(proc)
        raise
    return url, proc


def _end_to_end(dsn: str, rate: float, count: int, rounds: int) -> dict[str, dict[str, Any]]:
    from dialplan.service.keys import create_key
    from dialplan.service.sql import open_database

    db = open_database(dsn)
    try:
        _, key = create_key(db, "bench", ["write"])
    finally:
        db.close()
    auth = {"Authorization": f"Bearer {key}"}
    with tempfile.TemporaryDirectory(prefix="bench-ratelimit-") as tmp:
        shared = _serve(dsn, tmp)
        try:
            local = _serve(dsn, tmp, "--rate-limit-per-server")
        except BaseException:
            _stop(shared[1])
            raise
        try:
            flow = httpx.post(
                shared[0] + "/v1/flows",
                json={"name": "b", "xml": FLOW},
                headers=auth,
                trust_env=False,
            ).json()["id"]
            body = {
                "flow_id": flow,
                "to": "+15555550123",
                "caller_id": "+15555550100",
                "mode": "poll",
            }
            call = httpx.post(shared[0] + "/v1/calls", json=body, headers=auth, trust_env=False)
            assert call.status_code == 202, call.text
            path = f"/v1/calls/{call.json()['id']}"
            series: dict[str, tuple[list[float], int]] = {"shared": ([], 0), "per-server": ([], 0)}
            urls = {"shared": shared[0], "per-server": local[0]}

            def sender(url: str) -> Any:
                def get(c: httpx.Client, i: int) -> None:
                    assert c.get(url + path, headers=auth).status_code == 200

                return get

            for url in urls.values():  # warm up
                open_loop(sender(url), rate, max(20, count // 10))
            alone: dict[str, list[float]] = {"shared": [], "per-server": []}
            for _ in range(rounds):
                for name, url in urls.items():
                    lat, errors = open_loop(sender(url), rate, count)
                    series[name] = (series[name][0] + lat, series[name][1] + errors)
                for name, lat in _one_at_a_time(urls, path, auth, count).items():
                    alone[name] += lat
        finally:
            _stop(shared[1])
            _stop(local[1])
    out = {
        name: {"p50_ms": percentile(lat, 50), "p99_ms": percentile(lat, 99), "errors": errors,
               "requests": len(lat) + errors}
        for name, (lat, errors) in series.items()
    }  # fmt: skip
    for name, lat in alone.items():
        out[f"{name}, one at a time"] = {
            "p50_ms": percentile(lat, 50), "p99_ms": percentile(lat, 99), "requests": len(lat)
        }  # fmt: skip
    pairs = [a - b for a, b in zip(alone["shared"], alone["per-server"], strict=True)]
    out["shared - per-server, request by request"] = {"p50_ms": percentile(pairs, 50)}
    return out


def _one_at_a_time(
    urls: dict[str, str], path: str, auth: dict[str, str], n: int
) -> dict[str, list[float]]:
    """Latencies (ms) of ``n`` requests to each server sent back to back by one client, the
    servers in turn request by request (so both see the same moments of the machine's load): the
    service time alone."""
    took: dict[str, list[float]] = {name: [] for name in urls}
    clients = {name: httpx.Client(trust_env=False, timeout=30) for name in urls}
    try:
        for _ in range(n):
            for name, url in urls.items():
                started = time.perf_counter()
                assert clients[name].get(url + path, headers=auth).status_code == 200
                took[name].append((time.perf_counter() - started) * 1000)
    finally:
        for c in clients.values():
            c.close()
    return took


def run(quick: bool = False, rate: float | None = None, count: int | None = None) -> Report:
    rate = rate or (60.0 if quick else 100.0)
    count = count or (60 if quick else 1000)
    rounds = 1 if quick else 3
    try:
        server = ThrowawayServer.start(settings=DURABLE)
    except PostgresUnavailable as exc:
        return Report("ratelimit", [Figure("PostgreSQL server", None, "", note=str(exc))])
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE bench")
        dsn = server.dsn("bench")
        statement = _statement(dsn, 300 if quick else 3000)
        e2e = _end_to_end(dsn, rate, count, rounds)
    finally:
        server.stop()
    figures = [
        Figure(f"take statement, {name}, p{p}", stats[f"p{p}_ms"], "ms")
        for name, stats in statement.items()
        for p in (50, 99)
    ]
    for name, stats in e2e.items():
        if "p99_ms" not in stats:
            continue
        for p in (50, 99):
            figures.append(Figure(f"GET /v1/calls/{{id}}, {name}, p{p}", stats[f"p{p}_ms"], "ms"))
    for suffix in ("", ", one at a time"):
        for p in (50, 99):
            a, b = e2e["shared" + suffix][f"p{p}_ms"], e2e["per-server" + suffix][f"p{p}_ms"]
            added = a - b if a is not None and b is not None else None
            figures.append(Figure(f"added by the shared limit{suffix}, p{p}", added, "ms"))
    paired = e2e["shared - per-server, request by request"]["p50_ms"]
    figures.append(Figure("added by the shared limit, median of paired requests", paired, "ms"))
    return Report(
        "ratelimit",
        figures,
        command="python -m tools.bench ratelimit" + (" --quick" if quick else ""),
        details={"rate_per_s": rate, "requests_per_round": count, "rounds": rounds,
                 "postgres": DURABLE, "statement": statement, "end_to_end": e2e},
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    return cli("ratelimit", run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
