"""Which campaign store a ``--db`` value names: an SQLite file or a PostgreSQL database.

A ``postgresql://`` or ``postgres://`` address selects the PostgreSQL backend (the optional
``postgres`` extra: psycopg); anything else is the path of an SQLite file. psycopg is imported
only when a PostgreSQL address is given, so SQLite users never need it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from ...errors import UsageError

if TYPE_CHECKING:
    from .sqlite import Store

PG_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(db: object) -> bool:
    """A PostgreSQL address (anything else is an SQLite file)."""
    return isinstance(db, str) and db.startswith(PG_SCHEMES)


def need_psycopg() -> None:
    """A one-line usage error (exit 2) when the PostgreSQL extra is not installed."""
    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ImportError:
        raise UsageError(
            "a postgresql:// database needs psycopg: pip install 'dialplan[postgres]'"
        ) from None


def open_store(db: str, *, readonly: bool = False) -> Store:
    """The store behind ``db``. The PostgreSQL store answers every query the reading commands
    and loading make of the SQLite one (typed as such for their callers)."""
    if is_postgres(db):
        need_psycopg()
        from ..pg.store import PgStore

        return cast("Store", PgStore(db, readonly=readonly))
    from .sqlite import Store

    return Store(db, readonly=readonly)
