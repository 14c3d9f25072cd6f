"""Servers and the calls they own: the upgrade of a database made before calls had an owner, and
which leftovers a starting server books (SQLite here; PostgreSQL in ``test_postgres.py``)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict
from pathlib import Path

from dialplan.service.callstore import CallBook, CallRequest
from dialplan.service.runner import SimulatedCallRunner
from dialplan.service.servers import Presence
from dialplan.service.storage import _MIGRATIONS, Database

REQUEST = CallRequest("+12125550100", "+12125550199", {}, False, "poll", None, None, {})


def _before_owners(path: Path) -> None:
    """A database as the release before the ``servers`` migration left it, with a call in flight."""
    upto = next(n for n, m in enumerate(_MIGRATIONS) if "CREATE TABLE servers" in m)
    conn = sqlite3.connect(path)
    for script in _MIGRATIONS[:upto]:
        conn.executescript(script)
    conn.execute(f"PRAGMA user_version = {upto}")
    conn.execute(
        "INSERT INTO calls (id, account, flow_id, flow_version, request, status, created_at)"
        " VALUES ('call_old', 'acme', 'flw_1', 1, ?, 'in-progress', 1.0)",
        (json.dumps(asdict(REQUEST)),),
    )
    conn.commit()
    conn.close()


def _status(db: Database, call_id: str) -> tuple[str, str | None, bool]:
    with db.connect() as conn:
        row = conn.execute("SELECT * FROM calls WHERE id = ?", (call_id,)).fetchone()
    return row["status"], row["failure_reason"], row["ended_at"] is not None


def test_an_upgraded_database_books_the_calls_of_the_old_server(tmp_path: Path) -> None:
    path = tmp_path / "service.sqlite"
    _before_owners(path)
    db = Database(path)  # migrates: calls get an owner column, NULL for the old ones
    runner = SimulatedCallRunner(workers=1)
    try:
        book = CallBook(db, runner, None, owner="srv_new")
        assert book.recover() == 1
        assert _status(db, "call_old") == ("failed", "interrupted", True)
        assert book.recover() == 0  # booked once
    finally:
        runner.close()


def test_on_sqlite_every_other_server_is_gone_and_its_own_calls_are_kept(tmp_path: Path) -> None:
    db = Database(tmp_path / "service.sqlite")
    runner = SimulatedCallRunner(workers=1)
    try:
        first = CallBook(db, runner, None, owner="srv_first")
        Presence(db, "srv_first", lambda: None).beat()  # it was alive a moment ago
        left = first.create("acme", "flw_1", 1, REQUEST)
        assert first.recover() == 0  # a server never books its own calls
        second = CallBook(db, runner, None, owner="srv_second")
        assert second.recover() == 1  # one process per SQLite file: the first is gone
        assert _status(db, left) == ("failed", "interrupted", True)
    finally:
        runner.close()


def test_a_stalled_server_never_books_a_call_another_server_took_over(tmp_path: Path) -> None:
    db = Database(tmp_path / "service.sqlite")
    runner = SimulatedCallRunner(workers=1)
    hooked = CallRequest(
        "+12125550100", "+12125550199", {}, False, "webhook", "http://x.test/", "s" * 16, {}
    )
    try:
        stalled = CallBook(db, runner, None, owner="srv_stalled")
        call_id = stalled.create("acme", "flw_1", 1, hooked)
        assert CallBook(db, runner, None, owner="srv_live").recover() == 1
        stalled.answered(call_id, "human")  # the stalled server wakes up, too late
        stalled.ended(call_id, {"outcome": "completed"})
        assert _status(db, call_id) == ("failed", "interrupted", True)
        with db.connect() as conn:
            events = [
                json.loads(r["body"])["event"]
                for r in conn.execute("SELECT body FROM outbox WHERE call_id = ?", (call_id,))
            ]
        assert events == ["call.failed", "call.ended"]  # the live server's, once
    finally:
        runner.close()
