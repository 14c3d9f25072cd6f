"""Writers of one server process take turns on a lock, not in SQLite's busy handler (which
sleeps up to 100 ms a try and made the ``POST /v1/calls`` p99 tail; docs/performance.md)."""

from __future__ import annotations

import threading
from pathlib import Path

from dialplan.service.storage import Database


def test_a_second_writer_waits_for_the_first_without_meeting_sqlites_lock(
    tmp_path: Path,
) -> None:
    db = Database(tmp_path / "s.sqlite")
    with db.write() as conn:
        conn.execute("CREATE TABLE t (v TEXT)")
    holding, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        with db.write() as conn:
            conn.execute("INSERT INTO t VALUES ('first')")
            holding.set()
            release.wait(10)

    def second() -> None:
        try:
            with db.connect() as conn:  # this thread's connection: no busy wait at all
                conn.execute("PRAGMA busy_timeout = 0")
            with db.write() as conn:
                conn.execute("INSERT INTO t VALUES ('second')")
        except BaseException as exc:  # "database is locked" if it reached SQLite's lock
            errors.append(exc)

    a = threading.Thread(target=first)
    a.start()
    assert holding.wait(10)
    b = threading.Thread(target=second)
    b.start()
    b.join(0.3)
    assert b.is_alive() and not errors  # queued behind the first writer
    release.set()
    a.join(10)
    b.join(10)
    assert not errors, errors
    with db.connect() as conn:
        assert [r[0] for r in conn.execute("SELECT v FROM t ORDER BY rowid")] == [
            "first",
            "second",
        ]
