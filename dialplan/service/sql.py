"""The service database's interface, met by SQLite (:mod:`.storage`) and PostgreSQL (:mod:`.pgstorage`).

Queries are written once, in the SQL both engines read: ``?`` placeholders (the PostgreSQL
connection translates them), ``INSERT … ON CONFLICT``, ``RETURNING``, rows read by column name.
:func:`open_database` picks the implementation from the ``--db`` value: a ``postgresql://`` (or
``postgres://``) address, else a SQLite file path.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

__all__ = ["Connection", "Cursor", "Row", "ServiceDatabase", "is_postgres", "open_database"]


class Row(Protocol):
    """A result row, read by column name or position (``sqlite3.Row`` and the PG rows alike)."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def keys(self) -> list[str]: ...


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """One connection in autocommit mode (or inside :meth:`ServiceDatabase.write`)."""

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Any: ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Any: ...


class ServiceDatabase(Protocol):
    """Where the service keeps keys, flows, calls, idempotency records, the outbox and the DNC."""

    #: what ``--db`` said, for messages (a PostgreSQL address without its password)
    label: str
    #: True when several ``serve`` processes may share it (PostgreSQL), so a server only books
    #: the unfinished calls of servers that stopped answering (see :mod:`.servers`)
    shared: bool

    def connect(self) -> AbstractContextManager[Any]: ...

    def write(self) -> AbstractContextManager[Any]:
        """A transaction that no other ``write()`` of any process runs beside (serialised)."""
        ...

    def close(self) -> None: ...


def is_postgres(target: str | Path) -> bool:
    """True for a ``postgresql://`` or ``postgres://`` address."""
    return str(target).startswith(("postgresql://", "postgres://"))


def open_database(target: str | Path) -> ServiceDatabase:
    """The (migrated) service database at ``target``; a one-line error (exit 2) when it cannot be
    opened or its schema is newer than this code."""
    if is_postgres(target):
        from .pgstorage import PgDatabase

        return PgDatabase(str(target))
    from .storage import Database

    return Database(target)
