"""The database's CPU per attempt of a simulated PostgreSQL worker, robust to a loaded machine.

``python -m tools.bench._pg_cpu [ROOT ...]`` runs, for the checkout at each ROOT (default: this
one) in turn, a throwaway server (``tools/pg_server.py``) with that checkout's migrations, one
campaign of 3,000 recipients and one connection booking them through the real primitives in
batches of 10 (``claim``, ``start``, ``finish``: the loop of ``tools.bench pg``), and prints the
server backend's CPU time per attempt (user + system, from ``/proc/PID/stat``) beside the wall
time. Wall time on a shared 2-core machine follows the load; the backend's CPU time hardly does,
so two checkouts can be compared while other work runs. Three rounds, alternating the
checkouts; a diagnostic, not a sub-benchmark of ``tools.bench``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

N = 3000
BATCH = int(os.environ.get("BATCH", "10"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))

_CHILD = r"""
import json, os, sys, time
import psycopg
from dialplan.broadcast.pg import Outcome, claim, finish, migrate, open_gate, register, start
from tools.pg_server import ThrowawayServer

N, BATCH = int(sys.argv[1]), int(sys.argv[2])


def cpu(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


server = ThrowawayServer.start()
try:
    dsn = server.dsn()
    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate(conn)
        cid = conn.execute(
            "INSERT INTO campaigns (name, broadcast_id, config, state)"
            " VALUES ('cpu', 'b', '{}', 'running') RETURNING id"
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO recipients (campaign_id, row_no, phone, e164)"
            " SELECT %s, g, '+1213' || lpad(g::text, 7, '0'), '+1213' || lpad(g::text, 7, '0')"
            " FROM generate_series(1, %s) g",
            (cid, N),
        )
        conn.execute("VACUUM ANALYZE recipients")
        open_gate(conn, cid, 1000, 1_000_000)
        worker = register(conn, 600)
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        c0, t0, done = cpu(pid), time.perf_counter(), 0
        while True:
            now = time.time()
            got = claim(conn, cid, worker, now, BATCH, horizon=3600.0)
            if not got:
                break
            start(conn, "b", worker, got)
            finish(conn, worker, [
                Outcome(c.recipient_id, c.attempt_no, "LA", 16, now, now, "human", 0.0, now, "LA")
                for c in got
            ])
            done += len(got)
        wall, used = time.perf_counter() - t0, cpu(pid) - c0
finally:
    server.stop()
print(json.dumps({"attempts": done, "cpu_us": used / done * 1e6, "wall_us": wall / done * 1e6}))
"""


def _run(root: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(N), str(BATCH)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    ).stdout
    return dict(json.loads(out.splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    roots = [Path(a).resolve() for a in args] or [Path(__file__).resolve().parents[2]]
    for round_no in range(1, ROUNDS + 1):
        for root in roots:
            load = os.getloadavg()[0]
            r = _run(root)
            print(
                f"round {round_no}  {root}  load {load:4.1f}  server CPU {r['cpu_us']:6.0f} µs"
                f"/attempt  wall {r['wall_us']:6.0f} µs/attempt",
                flush=True,
            )
            time.sleep(0.5)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
