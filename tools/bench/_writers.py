"""Why the service's ``POST /v1/calls`` had a p99 tail: threads writing one SQLite file.

``python -m tools.bench._writers [ROOT]`` runs 16 threads × 300 write transactions through
``dialplan.service.storage.Database.write()`` of the checkout at ROOT (default: this one), each
with a little Python work inside the transaction (as the service's handlers and call runner
have), 5 ms apart, and prints the latency p50/p99/max. Run it on two checkouts to compare (the
figures are in docs/performance.md); a diagnostic, not a sub-benchmark of ``tools.bench``.
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0]) if args else Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(root))
    from dialplan.service.storage import Database

    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "w.sqlite")
        with db.write() as conn:
            conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        latencies: list[float] = []
        lock = threading.Lock()

        def writer() -> None:
            for _ in range(300):
                started = time.perf_counter()
                with db.write() as conn:
                    conn.execute("INSERT INTO t (v) VALUES (?)", ("x" * 200,))
                    sum(range(20_000))  # Python work inside the transaction: the GIL moves
                took = (time.perf_counter() - started) * 1000
                with lock:
                    latencies.append(took)
                time.sleep(0.005)

        threads = [threading.Thread(target=writer) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99)]
    print(
        f"{root}: {len(latencies)} writes from 16 threads: p50 {latencies[len(latencies) // 2]:.2f}"
        f" ms, p99 {p99:.1f} ms, max {latencies[-1]:.1f} ms,"
        f" over 20 ms: {sum(1 for x in latencies if x > 20)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
