"""Several workers in virtual time on the shared clock: same results as one worker."""

from __future__ import annotations

import collections
from pathlib import Path

import psycopg
import pytest

from . import workload
from .test_workers import MAX_ACTIVE, TTL, _logs, _run_with_a_kill, _spawn

CPS = 5


def _finals(dsn: str) -> dict[int, tuple[str, int]]:
    with psycopg.connect(dsn) as conn:
        return {
            r: (f, n)
            for r, f, n in conn.execute("SELECT id, final_result, attempts FROM recipients")
        }


@pytest.mark.slow
def test_three_workers_in_virtual_time_match_one_worker_and_survive_a_kill(
    pg_db: str, tmp_path: Path
) -> None:
    # one worker alone: the reference
    alone = tmp_path / "alone"
    alone.mkdir()
    cid = workload.setup_campaign(pg_db, 200, CPS, MAX_ACTIVE, now=0.0)
    with psycopg.connect(pg_db, autocommit=True) as conn:
        conn.execute("INSERT INTO clocks (name, now) VALUES ('test', 0)")
    p = _spawn(workload.virtual_clock_worker, pg_db, cid, str(alone), TTL, 1.0)
    p.join(300)
    assert p.exitcode == 0
    reference = _finals(pg_db)
    with psycopg.connect(pg_db) as conn:
        ref_attempts = conn.execute("SELECT started_at FROM attempts ORDER BY 1").fetchall()
        conn.execute(
            "TRUNCATE attempts, recipients, dial_gates, clocks, workers, campaigns CASCADE"
        )
        conn.commit()

    together = tmp_path / "together"
    together.mkdir()
    cid = workload.setup_campaign(pg_db, 200, CPS, MAX_ACTIVE, now=0.0)
    with psycopg.connect(pg_db, autocommit=True) as conn:
        conn.execute("INSERT INTO clocks (name, now) VALUES ('test', 0)")
        offset = conn.execute("SELECT min(id) - 1 FROM recipients").fetchone()
    assert offset is not None
    _run_with_a_kill(workload.virtual_clock_worker, pg_db, cid, together, 1.0, 5)
    shared = {r - offset[0]: v for r, v in _finals(pg_db).items()}

    logs = _logs(together)
    reaped = {int(ln[1]) - offset[0] for lines in logs.values() for ln in lines if ln[0] == "reap"}
    assert reaped, "the killed worker had calls in flight"
    # same scripted outcomes: every recipient not in flight on the killed worker ends the same
    differ = {r for r in reference if reference[r] != shared[r]}
    assert differ <= reaped
    dials = collections.Counter(
        (ln[1], ln[2]) for lines in logs.values() for ln in lines if ln[0] == "dial"
    )
    assert max(dials.values()) == 1
    with psycopg.connect(pg_db) as conn:
        spans = conn.execute("SELECT started_at, ended_at FROM attempts ORDER BY 1").fetchall()
    starts = [a for a, _ in spans]
    # virtual seconds: never more than CPS starts in any one-second window ...
    assert all(starts[i + CPS] - starts[i] >= 1.0 - 1e-9 for i in range(len(starts) - CPS))
    # ... and never more than MAX_ACTIVE calls at one virtual instant
    level = peak = 0
    for _, step in sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans]):
        level += step
        peak = max(peak, level)
    assert 1 < peak <= MAX_ACTIVE
    assert len(starts) >= len(ref_attempts)  # the lost calls were tried again
