"""Opening the PostgreSQL store: a connection pool for a worker, with one-line errors.

A worker keeps a small ``psycopg_pool.ConnectionPool`` (its loop, its heartbeat and its
webhook deliverer each take a connection; a broken connection is replaced, not fatal). Every
connection is in autocommit mode, because each primitive is one statement — one transaction,
one round trip. A server that cannot be reached, a wrong password or a missing database is a
:class:`~dialplan.errors.CampaignError` (exit 2) naming the server and database — never the
password — and the schema is migrated (or refused when newer) on open.
"""

from __future__ import annotations

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolTimeout

from ...errors import CampaignError
from .schema import migrate

__all__ = ["connect", "describe", "first_line", "open_pool"]


def describe(dsn: str) -> str:
    """``postgresql://user@host:port/dbname`` without the password (for messages)."""
    try:
        info = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "postgresql://(unparsable address)"
    user = f"{info['user']}@" if info.get("user") else ""
    port = f":{info['port']}" if info.get("port") else ""
    return f"postgresql://{user}{info.get('host', 'localhost')}{port}/{info.get('dbname', '')}"


def first_line(exc: BaseException) -> str:
    """The message of a psycopg error in one line (its first: the rest is a hint, or the
    statement and a caret)."""
    text = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return text[0] if text else type(exc).__name__


_first_line = first_line


def connect(dsn: str, *, autocommit: bool = True, timeout: float = 10.0) -> psycopg.Connection:
    """One connection to a migrated database, or :class:`CampaignError` (exit 2) saying why."""
    where = describe(dsn)
    try:
        conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as exc:
        raise CampaignError(f"{where}: invalid database address: {first_line(exc)}") from None
    try:
        conn = psycopg.connect(dsn, autocommit=True, connect_timeout=max(1, round(timeout)))
    except psycopg.OperationalError as exc:
        raise CampaignError(f"{where}: cannot open campaign database: {first_line(exc)}") from None
    try:
        migrate(conn)
    except BaseException:
        conn.close()
        raise
    conn.autocommit = autocommit
    return conn


def open_pool(dsn: str, *, size: int = 3, timeout: float = 10.0) -> ConnectionPool:
    """A pool of autocommit connections to a migrated database, or :class:`CampaignError`."""
    where = describe(dsn)
    try:
        conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as exc:
        raise CampaignError(f"{where}: invalid database address: {_first_line(exc)}") from None
    try:  # one direct attempt first: its error says why, where the pool would only time out
        with psycopg.connect(dsn, autocommit=True, connect_timeout=max(1, round(timeout))) as conn:
            migrate(conn)
    except psycopg.OperationalError as exc:
        raise CampaignError(f"{where}: cannot open campaign database: {_first_line(exc)}") from None
    pool = ConnectionPool(
        dsn,
        min_size=1,
        max_size=size,
        kwargs={"autocommit": True},
        timeout=timeout,
        name="dialplan",
        open=False,
    )
    try:
        pool.open(wait=True, timeout=timeout)
    except PoolTimeout as exc:
        pool.close()
        raise CampaignError(f"{where}: cannot open campaign database: {_first_line(exc)}") from None
    return pool
