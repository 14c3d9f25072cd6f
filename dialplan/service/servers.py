"""Which servers are alive: a heartbeat per ``serve`` process, and the leftovers of those that are not.

Each server has an id (``owner`` of the calls it runs, ``claimed_by`` of the webhook events it
is sending) and a row in ``servers`` whose ``seen_at`` its heartbeat thread renews. A server is
gone when its row is missing or older than the peer timeout; its unfinished calls are then
booked as failed ("interrupted") and its webhook claims released, by whichever live server looks
first (at its start, then at every beat). A call is booked by exactly one server: the booking
takes the call over (``owner``) inside a serialised write first.

On SQLite (one process per database file) every other server is gone, so a server books all
leftovers at start, as before.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable

from .sql import ServiceDatabase
from .storage import now

log = logging.getLogger("dialplan.service")

#: seconds without a heartbeat after which a server sharing the database counts as gone
PEER_TIMEOUT_S = 30.0


def new_server_id() -> str:
    return "srv_" + secrets.token_hex(8)


def alive_since(db: ServiceDatabase, timeout_s: float) -> float:
    """The ``seen_at`` from which a server counts as alive (never, on a database not shared)."""
    return now() - timeout_s if db.shared else float("inf")


def is_alive(db: ServiceDatabase, server_id: str, timeout_s: float) -> bool:
    """True while ``server_id`` keeps its heartbeat (never, on a database not shared)."""
    with db.connect() as conn:
        row = conn.execute(
            "SELECT 1 FROM servers WHERE id = ? AND seen_at >= ?",
            (server_id, alive_since(db, timeout_s)),
        ).fetchone()
    return row is not None


def orphaned_calls(db: ServiceDatabase, me: str, timeout_s: float) -> list[tuple[str, str]]:
    """(call id, owner or "") of the unfinished calls whose server is gone."""
    with db.connect() as conn:
        rows = conn.execute(
            "SELECT id, COALESCE(owner, '') AS owner FROM calls WHERE ended_at IS NULL"
            " AND COALESCE(owner, '') <> ?"
            " AND COALESCE(owner, '') NOT IN (SELECT id FROM servers WHERE seen_at >= ?)",
            (me, alive_since(db, timeout_s)),
        ).fetchall()
    return [(r["id"], r["owner"]) for r in rows]


def take_over(
    db: ServiceDatabase, me: str, call_id: str, owner: str, timeout_s: float = PEER_TIMEOUT_S
) -> bool:
    """Make ``me`` the owner of a gone server's unfinished call; False when another server did,
    or when its owner has beaten again since it was found gone (checked inside the write, where
    no heartbeat can come in between)."""
    with db.write() as conn:
        changed: int = conn.execute(
            "UPDATE calls SET owner = ? WHERE id = ? AND ended_at IS NULL"
            " AND COALESCE(owner, '') = ?"
            " AND COALESCE(owner, '') NOT IN (SELECT id FROM servers WHERE seen_at >= ?)",
            (me, call_id, owner, alive_since(db, timeout_s)),
        ).rowcount
    return changed == 1


def release_claims(db: ServiceDatabase, me: str, timeout_s: float) -> int:
    """Free the webhook events claimed by servers that are gone; return how many."""
    with db.write() as conn:
        freed: int = conn.execute(
            "UPDATE outbox SET claimed_by = NULL, claimed_until = NULL"
            " WHERE claimed_by IS NOT NULL AND claimed_by <> ?"
            " AND claimed_by NOT IN (SELECT id FROM servers WHERE seen_at >= ?)",
            (me, alive_since(db, timeout_s)),
        ).rowcount
        conn.execute(
            "DELETE FROM servers WHERE id <> ? AND seen_at < ?",
            (me, now() - max(timeout_s, 1.0) * 10),
        )
    return freed


class Presence:
    """This server's heartbeat; each beat also calls ``sweep`` (booking what gone servers left)."""

    def __init__(
        self,
        db: ServiceDatabase,
        server_id: str,
        sweep: Callable[[], object],
        timeout_s: float = PEER_TIMEOUT_S,
    ) -> None:
        self.db = db
        self.id = server_id
        self.timeout_s = timeout_s
        self._sweep = sweep
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="server-heartbeat", daemon=True)

    def beat(self) -> None:
        with self.db.write() as conn:
            t = now()  # once the write is ours: a wait for it must not age the beat
            conn.execute(
                "INSERT INTO servers (id, started_at, seen_at) VALUES (?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at",
                (self.id, t, t),
            )

    def start(self) -> None:
        """Say this server is alive, then keep saying it (and sweeping) on a thread."""
        self.beat()
        self._thread.start()

    def _loop(self) -> None:
        interval = max(0.1, self.timeout_s / 6)
        while not self._stop.wait(interval):
            try:
                self.beat()
                self._sweep()
            except Exception:  # a database hiccup: try again at the next beat
                log.exception("server heartbeat failed")

    def close(self) -> None:
        """Stop beating and leave: what this server still holds is the others' to book."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=15)
        with self.db.write() as conn:
            conn.execute("DELETE FROM servers WHERE id = ?", (self.id,))
