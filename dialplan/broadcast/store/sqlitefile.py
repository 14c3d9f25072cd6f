"""The campaign database as a file: read-only opening, and SQLite failures in an operator's words.

Every failure of the file itself (disk full, damaged pages, I/O errors, a read-only file, a
lock held too long) becomes a :class:`DatabaseFailure`: one line naming the file and what
happened, exit 2. SQLite rolls back the transaction that failed, so work committed before it
is kept; the campaign resumes from there once the cause is fixed.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ParamSpec, TypeVar
from urllib.parse import quote

from ...errors import CampaignError

P = ParamSpec("P")
R = TypeVar("R")


class DatabaseFailure(CampaignError):
    """The campaign database file failed (disk full, damaged, unreadable…) (exit 2)."""


_KEPT = "work committed before it is kept"


def _meaning(name: str) -> str:
    """What an SQLite result code (``SQLITE_FULL``, ``SQLITE_IOERR_WRITE``…) means here."""
    if name.startswith("SQLITE_FULL"):
        return f"the disk is full; {_KEPT} — free space and run again to resume"
    if name.startswith("SQLITE_NOTADB"):
        return "it is not an SQLite database (or its first page is damaged)"
    if name.startswith("SQLITE_CORRUPT"):
        return (
            "the database file is damaged; restore it from a backup (or recover what"
            " `sqlite3 FILE .recover` finds into a new file)"
        )
    if name.startswith("SQLITE_IOERR"):
        return f"the disk failed to read or write it; {_KEPT}"
    if name.startswith("SQLITE_READONLY"):
        return "the file or its directory is read-only (reading commands can still read it)"
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return "another process kept it locked for too long"
    if name.startswith("SQLITE_CANTOPEN"):
        return "it cannot be opened (missing directory, or no permission)"
    return "the database failed"


def database_error(path: str, exc: sqlite3.Error, doing: str = "") -> DatabaseFailure:
    """One line for an SQLite failure on ``path``."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    detail = f"{doing}: " if doing else ""
    return DatabaseFailure(f"{path}: {detail}{_meaning(name)} (SQLite: {exc})")


@contextmanager
def database_errors(path: str | Path) -> Iterator[None]:
    """Turn SQLite failures inside the block (and PostgreSQL ones, for a ``postgresql://``
    database) into a :class:`DatabaseFailure` on ``path``."""
    try:
        yield
    except sqlite3.Error as exc:
        raise database_error(str(path), exc) from None
    except Exception as exc:
        if type(exc).__module__.partition(".")[0] != "psycopg":
            raise
        from ..pg.connect import describe, first_line  # a PostgreSQL database failed

        raise DatabaseFailure(f"{describe(str(path))}: database error: {first_line(exc)}") from None


def on_database(path_arg: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorator for a command whose keyword argument ``path_arg`` names the database."""

    def wrap(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def inner(*args: P.args, **kwargs: P.kwargs) -> R:
            with database_errors(str(kwargs.get(path_arg, "?"))):
                return fn(*args, **kwargs)

        return inner

    return wrap


def open_readonly(path: str) -> sqlite3.Connection:
    """Open ``path`` with ``mode=ro``: nothing is written, not even a journal.

    A database left in WAL mode (a run is going on, or one was killed) needs SQLite's
    shared-memory file; where that cannot be created (a read-only mount) and no WAL content
    is waiting, the file alone holds every committed change and is opened ``immutable``.
    """
    uri = f"file:{quote(str(Path(path).absolute()))}?mode=ro"
    try:
        db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return db
    except sqlite3.OperationalError as exc:
        wal = Path(f"{path}-wal")
        if getattr(exc, "sqlite_errorname", "") != "SQLITE_CANTOPEN" or (
            wal.exists() and wal.stat().st_size > 0
        ):
            raise database_error(path, exc, "cannot open campaign database") from None
    except sqlite3.DatabaseError as exc:
        raise database_error(path, exc, "cannot open campaign database") from None
    try:
        db = sqlite3.connect(
            f"{uri}&immutable=1", uri=True, isolation_level=None, check_same_thread=False
        )
        db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return db
    except sqlite3.DatabaseError as exc:
        raise database_error(path, exc, "cannot open campaign database") from None
