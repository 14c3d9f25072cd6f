"""A gone server's call is taken over only while its server is still gone, checked inside the
serialised write (PostgreSQL: the servers share the database)."""

from __future__ import annotations

from dialplan.service.callstore import CallBook, CallRequest
from dialplan.service.runner import SimulatedCallRunner
from dialplan.service.servers import Presence, orphaned_calls, take_over
from dialplan.service.sql import open_database

REQUEST = CallRequest("+12125550100", "+12125550199", {}, False, "poll", None, None, {})


def test_a_call_is_not_taken_over_once_its_server_beat_again(pg_db: str) -> None:
    db = open_database(pg_db)
    runner = SimulatedCallRunner(workers=1)
    try:
        slow = CallBook(db, runner, None, owner="srv_slow", peer_timeout_s=2)
        call_id = slow.create("acme", "flw_1", 1, REQUEST)
        with db.write() as conn:  # its last beat is older than the peer timeout
            conn.execute("INSERT INTO servers (id, started_at, seen_at) VALUES ('srv_slow', 0, 0)")
        assert orphaned_calls(db, "srv_live", 2) == [(call_id, "srv_slow")]
        Presence(db, "srv_slow", lambda: None, timeout_s=2).beat()  # it was only slow
        assert not take_over(db, "srv_live", call_id, "srv_slow", 2)
        with db.connect() as conn:
            row = conn.execute("SELECT owner, ended_at FROM calls WHERE id = ?", (call_id,))
            assert tuple(row.fetchone()) == ("srv_slow", None)
        assert CallBook(db, runner, None, owner="srv_live", peer_timeout_s=2).recover() == 0
    finally:
        runner.close()
        db.close()
