"""The webhook outbox on PostgreSQL, claimed by any number of deliverers.

Events are added idempotently by their stable ``event_id``. A deliverer claims due events with
``FOR UPDATE SKIP LOCKED`` and a short claim lease (server clock); an event whose deliverer died
after posting but before :meth:`PgOutbox.delivered` is claimed again when its lease runs out and
posted again with the same ``event_id`` — delivery is at least once, and receivers deduplicate
by id.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from ..webhooks.outbox import OutboxEvent

__all__ = ["PgOutbox"]


class PgOutbox:
    """One deliverer's view of the shared outbox (``owner``: its worker id)."""

    def __init__(self, conn: psycopg.Connection, owner: str, claim_seconds: float = 30.0) -> None:
        self.conn = conn
        self.owner = owner
        self.claim_seconds = claim_seconds

    def add(self, event_id: str, url: str, body: bytes, now: float) -> None:
        self.add_many([(event_id, url, body, now)])

    def add_many(self, rows: Sequence[tuple[str, str, bytes, float]]) -> None:
        with self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO outbox (event_id, url, body, created_at, next_attempt_at)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (event_id) DO NOTHING",
                [(e, u, b, t, t) for e, u, b, t in rows],
            )

    def due(self, now: float, limit: int) -> list[OutboxEvent]:
        """Claim up to ``limit`` due events nobody else holds (oldest first)."""
        rows = self.conn.execute(
            "UPDATE outbox o SET claimed_by = %(me)s, claim_expires_at = dp_server_now() + %(ttl)s"
            " FROM (SELECT id FROM outbox WHERE delivered_at IS NULL AND next_attempt_at <= %(now)s"
            "  AND (claimed_by IS NULL OR claim_expires_at <= dp_server_now())"
            "  ORDER BY next_attempt_at, id LIMIT %(n)s FOR UPDATE SKIP LOCKED) d"
            " WHERE o.id = d.id"
            " RETURNING o.id, o.event_id, o.url, o.body, o.attempts, o.next_attempt_at",
            {"me": self.owner, "ttl": self.claim_seconds, "now": now, "n": limit},
        ).fetchall()
        rows.sort(key=lambda r: (r[5], r[0]))
        return [OutboxEvent(r[0], r[1], r[2], bytes(r[3]), r[4], r[5]) for r in rows]

    def delivered(self, id: int, now: float) -> None:
        """Mark delivered (whoever holds the claim now: it was delivered, that is a fact)."""
        self.conn.execute(
            "UPDATE outbox SET delivered_at = %s, attempts = attempts + 1, claimed_by = NULL,"
            " claim_expires_at = NULL WHERE id = %s AND delivered_at IS NULL",
            (now, id),
        )

    def retry_later(self, id: int, next_attempt_at: float, error: str) -> None:
        """Record a failed post (only while this deliverer still holds the claim)."""
        self.conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = %s, last_error = %s,"
            " claimed_by = NULL, claim_expires_at = NULL"
            " WHERE id = %s AND claimed_by = %s AND delivered_at IS NULL",
            (next_attempt_at, error[:500], id, self.owner),
        )

    def pending_count(self) -> int:
        row = self.conn.execute("SELECT count(*) FROM outbox WHERE delivered_at IS NULL").fetchone()
        return int(row[0]) if row else 0
