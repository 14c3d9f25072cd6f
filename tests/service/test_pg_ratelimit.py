"""Two live servers on one PostgreSQL database, as behind a load balancer: a key's rate limit
holds across both (one bucket), with the same bursts and ``Retry-After`` as one server's."""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.pgfixtures import fresh_database

from .conftest import Server, start_server, stop_server


@pytest.fixture(scope="module")
def servers(pg_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Server]]:
    with fresh_database(pg_server) as dsn:
        tmp = tmp_path_factory.mktemp("pgrate")
        started: list[Server] = []
        try:
            for _ in range(2):
                started.append(start_server(tmp, db=dsn))
            yield started
        finally:
            for server in started:
                stop_server(server)


@pytest.fixture
def clients(servers: list[Server]) -> Iterator[list[httpx.Client]]:
    opened = [s.client() for s in servers]
    yield opened
    for c in opened:
        c.close()


def _alternate(clients: list[httpx.Client], key: str, n: int) -> list[tuple[float, float, Any]]:
    """``n`` requests sent to the servers in turn: (sent, answered, response) each."""
    out = []
    auth = {"Authorization": f"Bearer {key}"}
    for _, c in zip(range(n), itertools.cycle(clients), strict=False):
        sent = time.monotonic()
        r = c.get("/v1/flows", headers=auth)
        out.append((sent, time.monotonic(), r))
    return out


def test_a_keys_burst_is_shared_by_the_servers(
    servers: list[Server], clients: list[httpx.Client]
) -> None:
    rate = 1.5  # bursts of 3, then one every 2/3 s
    key = servers[0].key("acme", "read", rate_per_s=rate)
    answers = _alternate(clients, key, 12)
    codes = [r.status_code for _, _, r in answers]
    assert set(codes) == {200, 429}, codes
    elapsed = answers[-1][1] - answers[0][0]
    admitted = codes.count(200)
    # one bucket: its burst, plus what refilled meanwhile (each server's own: twice the burst)
    assert 3 <= admitted <= 3 + math.floor(elapsed * rate), (codes, elapsed)
    assert codes[:3] == [200, 200, 200]
    # both servers refused: neither kept a bucket of its own
    assert {i % 2 for i, code in enumerate(codes) if code == 429} == {0, 1}


def test_retry_after_is_the_shared_buckets_wait(
    servers: list[Server], clients: list[httpx.Client]
) -> None:
    interval = 5.0
    key = servers[0].key("acme", "read", rate_per_s=1 / interval)  # a burst of 1
    answers = _alternate(clients, key, 6)
    assert [r.status_code for _, _, r in answers] == [200] + [429] * 5
    first_sent, first_answered, _ = answers[0]
    for sent, answered, r in answers[1:]:
        # the refusal came between ``sent`` and ``answered``; the admission before it, between
        # ``first_sent`` and ``first_answered``: the wait is what remains of the interval
        low, high = interval - (answered - first_sent), interval - (sent - first_answered)
        assert math.ceil(low) <= int(r.headers["retry-after"]) <= math.ceil(high)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["type"].endswith("/rate-limited")
    time.sleep(float(answers[-1][2].headers["retry-after"]))
    (_, _, again), (_, _, refused) = _alternate(clients, key, 2)
    assert (again.status_code, refused.status_code) == (200, 429)


def test_other_keys_and_the_default_rate(
    servers: list[Server], clients: list[httpx.Client]
) -> None:
    slow = servers[0].key("acme", "read", rate_per_s=0.2)
    default = servers[1].key("acme", "read")  # the servers' --rate-limit: 50/s, bursts of 100
    other = servers[1].key("globex", "read", rate_per_s=0.2)
    assert [r.status_code for _, _, r in _alternate(clients, slow, 4)] == [200] + [429] * 3
    assert [r.status_code for _, _, r in _alternate(clients, default, 40)] == [200] * 40
    assert [r.status_code for _, _, r in _alternate(clients, other, 3)] == [200, 429, 429]


def test_per_server_limits_when_asked(pg_dsn: str, tmp_path: Path) -> None:
    """``serve --rate-limit-per-server``: each server counts for itself, as before the shared limit."""
    started = []
    try:
        for _ in range(2):
            started.append(start_server(tmp_path, "--rate-limit-per-server", db=pg_dsn))
        key = started[0].key("acme", "read", rate_per_s=0.2)
        with started[0].client() as a, started[1].client() as b:
            codes = [r.status_code for _, _, r in _alternate([a, b], key, 6)]
        assert codes == [200, 200] + [429] * 4  # one burst in each server
        with psycopg.connect(pg_dsn) as conn:
            assert conn.execute("SELECT count(*) FROM dialplan_service.rate_limits").fetchone() == (
                0,
            )
    finally:
        for server in started:
            stop_server(server)
