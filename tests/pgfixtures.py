"""A throwaway PostgreSQL server for the session, and a fresh migrated database per test
(fixtures for every test folder: ``tests/conftest.py`` imports them).

Outside CI the tests skip when the server binaries are absent; in CI (``$CI`` set) a missing
binary is a failure, so the suite can never go green without having run them.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tools.pg_server import PostgresUnavailable, ThrowawayServer, find_bindir

_names = itertools.count()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[ThrowawayServer]:
    try:
        bindir = find_bindir()
    except PostgresUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"{exc} (CI must run the PostgreSQL tests)")
        pytest.skip(str(exc))
    server = ThrowawayServer.start(bindir)
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def fresh_database(server: ThrowawayServer) -> Iterator[str]:
    """A new, empty database on ``server``: its DSN, dropped at the end."""
    import psycopg

    name = f"t{os.getpid()}_{next(_names)}"
    with psycopg.connect(server.dsn(), autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield server.dsn(name)
    finally:
        with psycopg.connect(server.dsn(), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture
def pg_dsn(pg_server: ThrowawayServer) -> Iterator[str]:
    """The DSN of a new, empty database (dropped after the test)."""
    with fresh_database(pg_server) as dsn:
        yield dsn


@pytest.fixture(scope="module")
def shared_dsn(pg_server: ThrowawayServer) -> Iterator[str]:
    """One new, empty database for a whole test module (its servers share it), dropped after."""
    with fresh_database(pg_server) as dsn:
        yield dsn


@pytest.fixture
def pg_db(pg_dsn: str) -> str:
    """A migrated database's DSN."""
    import psycopg

    from dialplan.broadcast.pg.schema import migrate

    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        migrate(conn)
    return pg_dsn
