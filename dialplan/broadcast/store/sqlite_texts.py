"""Text campaigns in the SQLite store: one row per text attempt (segments, delivery), the
do-not-text list of each sending number, and the inbound texts received."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from .rows import TextRow


class SqliteTexts:
    db: sqlite3.Connection

    def begin(self) -> None: ...  # provided by Store

    def record_texts(self, rows: Sequence[TextRow]) -> None:
        """Upsert: a receipt may have been booked before its text's row (see :meth:`receipt`)."""
        self.db.executemany(
            "INSERT INTO texts (recipient_id, attempt_no, message, encoding, segments,"
            " message_ids, delivery, delivered_segments) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (recipient_id, attempt_no) DO UPDATE SET message = excluded.message,"
            " encoding = excluded.encoding, segments = excluded.segments,"
            " message_ids = excluded.message_ids,"
            " delivery = COALESCE(texts.delivery, excluded.delivery),"
            " delivered_segments = MAX(texts.delivered_segments, excluded.delivered_segments)",
            rows,
        )

    def receipt(
        self, recipient_id: int, attempt_no: int, state: str, delivered: int, at: float
    ) -> None:
        """The final delivery state of one text (joins the open transaction, or opens one)."""
        self.begin()
        self.db.execute(
            "INSERT INTO texts (recipient_id, attempt_no, delivery, delivered_segments,"
            " receipt_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (recipient_id, attempt_no)"
            " DO UPDATE SET delivery = excluded.delivery,"
            " delivered_segments = excluded.delivered_segments, receipt_at = excluded.receipt_at",
            (recipient_id, attempt_no, state, delivered, at),
        )

    # -- the do-not-text lists (keywords.OptOuts) ---------------------------------------
    def opt_out(self, from_number: str, number: str, at: float) -> bool:
        self.begin()
        cur = self.db.execute(
            "INSERT OR IGNORE INTO text_optouts (from_number, number, added_at) VALUES (?, ?, ?)",
            (from_number, number, at),
        )
        return cur.rowcount > 0

    def opt_in(self, from_number: str, number: str) -> bool:
        self.begin()
        cur = self.db.execute(
            "DELETE FROM text_optouts WHERE from_number = ? AND number = ?", (from_number, number)
        )
        return cur.rowcount > 0

    def opted_out(self, from_number: str) -> set[str]:
        return {
            r[0]
            for r in self.db.execute(
                "SELECT number FROM text_optouts WHERE from_number = ?", (from_number,)
            )
        }

    def record_inbound(
        self, from_number: str, to: str, body: str, keyword: str | None, at: float
    ) -> None:
        self.begin()
        self.db.execute(
            "INSERT INTO inbound_texts (from_number, to_number, body, keyword, received_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (from_number, to, body, keyword, at),
        )

    def bucket_opted_out(self, campaign_id: int, from_number: str) -> None:
        """Recipients on the sending number's do-not-text list are not texted (``DNT``)."""
        self.db.execute(
            "UPDATE recipients SET bucket = 'call_blacklisted', final_result = 'DNT'"
            " WHERE campaign_id = ? AND final_result IS NULL AND e164 IN"
            " (SELECT number FROM text_optouts WHERE from_number = ?)",
            (campaign_id, from_number),
        )

    # -- reporting ------------------------------------------------------------------------
    def text_stats(self, campaign_id: int) -> dict[str, Any]:
        row = self.db.execute(
            "SELECT COUNT(*), COALESCE(SUM(t.segments), 0),"
            " COALESCE(SUM(t.delivery = 'DELIVERED'), 0),"
            " COALESCE(SUM(t.delivery IS NOT NULL AND t.delivery != 'DELIVERED'), 0),"
            " COALESCE(SUM(t.delivered_segments), 0)"
            " FROM texts t JOIN recipients r ON r.id = t.recipient_id"
            " WHERE r.campaign_id = ? AND t.segments > 0",
            (campaign_id,),
        ).fetchone()
        return {
            "texts": row[0],
            "segments": row[1],
            "delivered": row[2],
            "undelivered": row[3],
            "delivered_segments": row[4],
        }

    def received_texts(self, campaign_id: int, from_number: str) -> int:
        """Texts the campaign's recipients sent to its sending number."""
        row = self.db.execute(
            "SELECT COUNT(*) FROM inbound_texts WHERE to_number = ? AND from_number IN"
            " (SELECT e164 FROM recipients WHERE campaign_id = ?)",
            (from_number, campaign_id),
        ).fetchone()
        return int(row[0])

    def texts_of(self, ids: Sequence[int]) -> Iterator[tuple[Any, ...]]:
        """(recipient id, attempt, message, encoding, segments, delivery, delivered segments)."""
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            yield from self.db.execute(
                "SELECT recipient_id, attempt_no, message, encoding, segments, delivery,"
                " delivered_segments FROM texts"
                f" WHERE recipient_id IN ({','.join('?' * len(chunk))})"
                " ORDER BY recipient_id, attempt_no",
                chunk,
            )
