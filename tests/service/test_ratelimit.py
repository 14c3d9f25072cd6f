"""The rate rule (GCRA) against the token bucket it replaces, its SQL form against its Python form,
and the shared limiter's failing open while PostgreSQL does not answer."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialplan.service.app import Settings, _limiter
from dialplan.service.pgstorage import PgDatabase
from dialplan.service.ratelimit import (
    TAKE_SQL,
    LocalRateLimiter,
    Rate,
    SharedRateLimiter,
    admit,
    take_params,
)
from dialplan.service.sql import open_database
from dialplan.service.storage import SCHEMA_VERSION


class TokenBucket:
    """The limiter the service had before GCRA (a bucket of ``burst`` tokens refilled at ``rate``),
    on explicit times: the reference for the same burst and rate semantics."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.burst = max(1.0, 2 * rate)
        self.state: tuple[float, float] | None = None

    def take(self, now: float) -> float:
        tokens, last = self.state or (self.burst, now)
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens >= 1:
            self.state = (tokens - 1, now)
            return 0.0
        self.state = (tokens, now)
        return (1 - tokens) / self.rate


@settings(max_examples=300, deadline=None)
@given(
    rate=st.sampled_from([0.1, 0.5, 1.0, 1.5, 3.0, 50.0]),
    gaps=st.lists(st.floats(min_value=0, max_value=3, allow_nan=False), max_size=40),
)
def test_the_rule_admits_and_refuses_as_the_token_bucket(rate: float, gaps: list[float]) -> None:
    bucket, tat, now = TokenBucket(rate), None, 1000.0
    for gap in gaps:
        now += gap
        expected = bucket.take(now)
        verdict = admit(tat, now, Rate(rate))
        tat = verdict.tat
        if min(expected, verdict.wait) == 0 or max(expected, verdict.wait) < 1e-6:
            # at the boundary float rounding may tip either way in either form
            assert (expected == 0) == (verdict.wait == 0) or abs(expected - verdict.wait) < 1e-6
        else:
            assert verdict.wait == pytest.approx(expected, abs=1e-6)


def test_bursts_and_waits() -> None:
    rate = Rate(1.5)  # bursts of 3, then one every 2/3 s
    tat = None
    waits = []
    for _ in range(5):
        verdict = admit(tat, 10.0, rate)
        tat, waits = verdict.tat, [*waits, verdict.wait]
    assert waits[:3] == [0, 0, 0]
    assert waits[3:] == [pytest.approx(2 / 3)] * 2  # refusals leave the state alone
    assert admit(tat, 10.0 + 2 / 3, rate).wait == 0
    assert Rate(0.2).burst == 1 and Rate(0.2).tolerance == 0


def test_one_server_keeps_the_limits_in_memory(tmp_path: Path) -> None:
    db = open_database(tmp_path / "s.sqlite")
    limiter = _limiter(db, Settings(db_path=tmp_path / "s.sqlite", rate_per_s=0.5))
    assert isinstance(limiter, LocalRateLimiter)
    assert [limiter.take("k1", None), limiter.take("k2", 1)] == [0, 0]
    assert limiter.take("k1", None) == pytest.approx(2, abs=0.05)  # the server's default rate
    assert limiter.take("k2", 1) == 0  # a key's own rate: bursts of 2
    with db.connect() as conn:  # and nothing of it in the database
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert "rate_limits" not in tables


def test_postgres_servers_share_one_limit_unless_told_otherwise(pg_dsn: str) -> None:
    db = open_database(pg_dsn)
    try:
        assert isinstance(_limiter(db, Settings(db_path=pg_dsn)), SharedRateLimiter)
        per_server = Settings(db_path=pg_dsn, rate_limit_per_server=True)
        assert isinstance(_limiter(db, per_server), LocalRateLimiter)
    finally:
        db.close()
    with psycopg.connect(pg_dsn) as conn:
        persistence = conn.execute(
            "SELECT relpersistence FROM pg_class WHERE oid = 'dialplan_service.rate_limits'::regclass"
        ).fetchone()
    assert persistence == ("u",)  # unlogged: no WAL flush per request


def test_the_sql_step_is_the_rule(pg_dsn: str) -> None:
    """Takes on PostgreSQL's clock, replayed through :func:`admit` at the times the database used."""
    db = PgDatabase(pg_dsn)
    rate = Rate(10.0)  # bursts of 20, one every 0.1 s
    taken: list[tuple[float, float, float]] = []
    try:
        with db.connect() as conn:
            # a burst and beyond, a refill, a pause that fills the bucket again, another burst
            for pause in [0.0] * 24 + [0.15] + [0.0] * 3 + [2.3] + [0.0] * 24:
                time.sleep(pause)
                row = conn.execute(TAKE_SQL, take_params("key-1", rate)).fetchone()
                taken.append((row["tat"], row["wait_s"], row["now"]))
    finally:
        db.close()
    tat: float | None = None
    full_again = 0
    for stored, wait, now in taken:
        full_again += tat is not None and tat < now
        verdict = admit(tat, now, rate)
        assert verdict.tat == pytest.approx(stored, abs=1e-6)
        assert verdict.wait == pytest.approx(wait, abs=1e-6)
        tat = verdict.tat
    waits = [w for _, w, _ in taken]
    assert waits[:20] == [0] * 20 and sum(w > 0 for w in waits) >= 4  # both branches taken
    assert full_again >= 1  # and a bucket that had filled up again


def _database_name(dsn: str) -> str:
    return psycopg.conninfo.conninfo_to_dict(dsn)["dbname"]  # type: ignore[return-value]


def _admin(dsn: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(psycopg.conninfo.make_conninfo(dsn, dbname="postgres"), autocommit=True)


def test_an_unreachable_database_admits_requests_and_says_so_once(
    pg_dsn: str, caplog: pytest.LogCaptureFixture
) -> None:
    name = _database_name(pg_dsn)
    db = PgDatabase(pg_dsn)
    limiter = SharedRateLimiter(db, default_rate=0.2)  # one request, then one every 5 s
    limiter.RETRY_AFTER_FAILURE_S = 0.2
    try:
        assert limiter.take("k", None) == 0
        assert limiter.take("k", None) > 4
        with _admin(pg_dsn) as admin:  # the database goes away: no connection, no new one
            admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
        caplog.set_level(logging.WARNING, logger="dialplan.service")
        started = time.monotonic()
        waits = []
        for _ in range(6):
            waits.append(limiter.take("k", None))
            time.sleep(0.1)
        assert waits == [0] * 6  # admitted, though over the rate
        assert time.monotonic() - started < 6 * 0.1 + 3 * limiter.CONNECT_TIMEOUT_S + 1
        down = [r.getMessage() for r in caplog.records if "does not answer" in r.getMessage()]
        assert len(down) == 1 and f"/{name}" in down[0], caplog.text
        with _admin(pg_dsn) as admin:
            admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
        deadline = time.monotonic() + 15
        while (wait := limiter.take("k", None)) == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert wait > 0  # limited again: the key's row outlived the outage
        assert sum("answers again" in r.getMessage() for r in caplog.records) == 1
    finally:
        with _admin(pg_dsn) as admin:
            admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
        db.close()
