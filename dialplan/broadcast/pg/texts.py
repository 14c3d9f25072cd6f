"""Text campaigns in the PostgreSQL store: the SQLite store's :class:`~..store.sqlite_texts.
SqliteTexts` on psycopg — one row per text attempt, the do-not-text list of each sending number,
the inbound texts received, and their reporting queries.

Every worker's driver books receipts and replies through these on the worker's autocommit
connection, so a STOP one worker received is on the list every other worker reads.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import psycopg

from ..store.rows import TextRow
from . import counters

__all__ = ["UPSERT_TEXTS", "PgTexts"]

#: a receipt may have been booked before its text's row (see :meth:`PgTexts.receipt`)
UPSERT_TEXTS = (
    "INSERT INTO texts (recipient_id, attempt_no, message, encoding, segments, message_ids,"
    " delivery, delivered_segments) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (recipient_id, attempt_no) DO UPDATE SET message = excluded.message,"
    " encoding = excluded.encoding, segments = excluded.segments,"
    " message_ids = excluded.message_ids,"
    " delivery = coalesce(texts.delivery, excluded.delivery),"
    " delivered_segments = greatest(texts.delivered_segments, excluded.delivered_segments)"
)


class PgTexts:
    db: psycopg.Connection

    def begin(self) -> None: ...  # provided by PgStore

    def record_texts(self, rows: Sequence[TextRow]) -> None:
        with self.db.cursor() as cur:
            cur.executemany(UPSERT_TEXTS, list(rows))

    def receipt(
        self, recipient_id: int, attempt_no: int, state: str, delivered: int, at: float
    ) -> None:
        """The final delivery state of one text."""
        self.db.execute(
            "INSERT INTO texts (recipient_id, attempt_no, delivery, delivered_segments,"
            " receipt_at) VALUES (%s, %s, %s, %s, %s) ON CONFLICT (recipient_id, attempt_no)"
            " DO UPDATE SET delivery = excluded.delivery,"
            " delivered_segments = excluded.delivered_segments, receipt_at = excluded.receipt_at",
            (recipient_id, attempt_no, state, delivered, at),
        )

    # -- the do-not-text lists (keywords.OptOuts) ---------------------------------------
    def opt_out(self, from_number: str, number: str, at: float) -> bool:
        cur = self.db.execute(
            "INSERT INTO text_optouts (from_number, number, added_at) VALUES (%s, %s, %s)"
            " ON CONFLICT DO NOTHING",
            (from_number, number, at),
        )
        return cur.rowcount > 0

    def opt_in(self, from_number: str, number: str) -> bool:
        cur = self.db.execute(
            "DELETE FROM text_optouts WHERE from_number = %s AND number = %s",
            (from_number, number),
        )
        return cur.rowcount > 0

    def opted_out(self, from_number: str) -> set[str]:
        return {
            r[0]
            for r in self.db.execute(
                "SELECT number FROM text_optouts WHERE from_number = %s", (from_number,)
            )
        }

    def record_inbound(
        self, from_number: str, to: str, body: str, keyword: str | None, at: float
    ) -> None:
        self.db.execute(
            "INSERT INTO inbound_texts (from_number, to_number, body, keyword, received_at)"
            " VALUES (%s, %s, %s, %s, %s)",
            (from_number, to, body, keyword, at),
        )

    def bucket_opted_out(self, campaign_id: int, from_number: str) -> None:
        """Recipients on the sending number's do-not-text list are not texted (``DNT``)."""
        counters.update_recipients(
            self.db,
            "bucket = 'call_blacklisted', final_result = 'DNT'",
            "r.campaign_id = %(c)s AND r.final_result IS NULL AND r.e164 IN"
            " (SELECT number FROM text_optouts WHERE from_number = %(f)s)",
            {"c": campaign_id, "f": from_number},
        )

    # -- reporting ------------------------------------------------------------------------
    def text_stats(self, campaign_id: int) -> dict[str, Any]:
        row = self.db.execute(
            "SELECT count(*), coalesce(sum(t.segments), 0),"
            " count(*) FILTER (WHERE t.delivery = 'DELIVERED'),"
            " count(*) FILTER (WHERE t.delivery IS NOT NULL AND t.delivery <> 'DELIVERED'),"
            " coalesce(sum(t.delivered_segments), 0)"
            " FROM texts t JOIN recipients r ON r.id = t.recipient_id"
            " WHERE r.campaign_id = %s AND t.segments > 0",
            (campaign_id,),
        ).fetchone()
        assert row is not None
        return {
            "texts": int(row[0]),
            "segments": int(row[1]),
            "delivered": int(row[2]),
            "undelivered": int(row[3]),
            "delivered_segments": int(row[4]),
        }

    def received_texts(self, campaign_id: int, from_number: str) -> int:
        """Texts the campaign's recipients sent to its sending number."""
        row = self.db.execute(
            "SELECT count(*) FROM inbound_texts WHERE to_number = %s AND from_number IN"
            " (SELECT e164 FROM recipients WHERE campaign_id = %s)",
            (from_number, campaign_id),
        ).fetchone()
        return int(row[0]) if row else 0

    def texts_of(self, ids: Sequence[int]) -> Iterator[tuple[Any, ...]]:
        """(recipient id, attempt, message, encoding, segments, delivery, delivered segments)."""
        for start in range(0, len(ids), 500):
            yield from self.db.execute(
                "SELECT recipient_id, attempt_no, message, encoding, segments, delivery,"
                " delivered_segments FROM texts WHERE recipient_id = ANY (%s)"
                " ORDER BY recipient_id, attempt_no",
                (list(ids[start : start + 500]),),
            )
