"""The webhook outbox of the SQLite store (:class:`~..webhooks.outbox.Outbox` and
:class:`~.interfaces.WebhookOutbox`): events persisted before delivery, claimed by due time."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from ..webhooks.outbox import OutboxEvent
from .rows import OutboxRow


class SqliteOutbox:
    db: sqlite3.Connection

    def add(self, event_id: str, url: str, body: bytes, now: float) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO outbox (event_id, url, body, created_at, next_attempt_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (event_id, url, body, now, now),
        )

    def add_many(self, rows: Sequence[OutboxRow]) -> None:
        self.db.executemany(
            "INSERT OR IGNORE INTO outbox (event_id, url, body, created_at, next_attempt_at)"
            " VALUES (?1, ?2, ?3, ?4, ?4)",
            rows,
        )

    def due(self, now: float, limit: int) -> list[OutboxEvent]:
        rows = self.db.execute(
            "SELECT id, event_id, url, body, attempts, next_attempt_at FROM outbox"
            " WHERE delivered_at IS NULL AND next_attempt_at <= ? ORDER BY next_attempt_at, id"
            " LIMIT ?",
            (now, limit),
        ).fetchall()
        return [OutboxEvent(r[0], r[1], r[2], bytes(r[3]), r[4], r[5]) for r in rows]

    def delivered(self, id: int, now: float) -> None:
        self.db.execute(
            "UPDATE outbox SET delivered_at = ?, attempts = attempts + 1 WHERE id = ?", (now, id)
        )

    def retry_later(self, id: int, next_attempt_at: float, error: str) -> None:
        self.db.execute(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?"
            " WHERE id = ?",
            (next_attempt_at, error[:500], id),
        )

    def pending_count(self) -> int:
        return int(
            self.db.execute("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL").fetchone()[0]
        )

    def next_due_at(self) -> float | None:
        row = self.db.execute(
            "SELECT MIN(next_attempt_at) FROM outbox WHERE delivered_at IS NULL"
        ).fetchone()
        return None if row[0] is None else float(row[0])
