"""The recipient queue of the SQLite store: recipients, DNC, the dispatch queue, attempts,
responses and the attempts in flight (:class:`~.interfaces.RecipientQueue`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from .rows import AttemptRow, InFlight, Pending, RecipientRow, RecipientUpdate, ResponseRow


class SqliteQueue:
    db: sqlite3.Connection

    def add_recipients(self, rows: Sequence[RecipientRow]) -> None:
        self.db.executemany(
            "INSERT INTO recipients (campaign_id, row_no, phone, e164, region, zone_id,"
            " attributes, sim_result, sim_inputs, bucket, final_result, next_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    def add_dnc(self, campaign_id: int, numbers: Iterable[str], source: str) -> None:
        self.db.executemany(
            "INSERT OR IGNORE INTO dnc (campaign_id, number, source) VALUES (?, ?, ?)",
            ((campaign_id, n, source) for n in numbers),
        )

    def dnc_numbers(self, campaign_id: int, source: str) -> set[str]:
        return {
            r[0]
            for r in self.db.execute(
                "SELECT number FROM dnc WHERE campaign_id = ? AND source = ?", (campaign_id, source)
            )
        }

    def add_account_dnc(self, campaign_id: int) -> None:
        """The account's DNC list joins the campaign's: every number a call of another campaign
        of the same DNC scope (``campaigns.dnc_scope``: the service's account, one scope for
        every CLI campaign) put on it (``<dnc>``, the DNC digit of ``[sounds]``), source
        ``account``."""
        self.db.execute(
            "INSERT OR IGNORE INTO dnc (campaign_id, number, source)"
            " SELECT DISTINCT ?1, d.number, 'account' FROM dnc d"
            " JOIN campaigns c ON c.id = d.campaign_id"
            " WHERE d.source = 'runtime' AND d.campaign_id != ?1"
            " AND c.dnc_scope = (SELECT dnc_scope FROM campaigns WHERE id = ?1)",
            (campaign_id,),
        )

    def bucket_dnc_and_duplicates(self, campaign_id: int, scrub_duplicates: bool) -> None:
        """Set-based bucketing after loading: DNC list entries, then duplicate numbers."""
        self.db.execute(
            "UPDATE recipients SET bucket = 'call_blacklisted', final_result = 'DNC'"
            " WHERE campaign_id = ?1 AND final_result IS NULL AND e164 IN"
            " (SELECT number FROM dnc WHERE campaign_id = ?1)",
            (campaign_id,),
        )
        if scrub_duplicates:
            self.db.execute(
                "UPDATE recipients SET bucket = 'duplicate', final_result = 'DUP'"
                " WHERE campaign_id = ?1 AND e164 IS NOT NULL AND id NOT IN"
                " (SELECT MIN(id) FROM recipients WHERE campaign_id = ?1 AND e164 IS NOT NULL"
                "  GROUP BY e164)",
                (campaign_id,),
            )

    def pending(
        self, campaign_id: int, zone_id: int, after: tuple[float, int], limit: int
    ) -> list[Pending]:
        """Queued recipients of one zone, by (next_at, id) strictly after ``after``."""
        t, rid = after
        rows = self.db.execute(
            "SELECT next_at, id, e164, attempts, attributes, sim_result, sim_inputs"
            " FROM recipients INDEXED BY recipients_queue"
            " WHERE campaign_id = ? AND zone_id = ? AND final_result IS NULL"
            " AND (next_at > ? OR (next_at = ? AND id > ?)) ORDER BY next_at, id LIMIT ?",
            (campaign_id, zone_id, t, t, rid, limit),
        ).fetchall()
        return [Pending(*r) for r in rows]

    def record_attempts(self, rows: Sequence[AttemptRow]) -> None:
        self.db.executemany(
            # an upsert, not INSERT OR REPLACE: a replaced row fires no delete trigger, and
            # the stats counters (``.counters``) follow every change of a booked attempt
            "INSERT INTO attempts (recipient_id, attempt_no, started_at, answered_at,"
            " ended_at, result, q850_cause, answered_by, duration, voice_id, reason)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (recipient_id, attempt_no)"
            " DO UPDATE SET started_at = excluded.started_at, answered_at = excluded.answered_at,"
            " ended_at = excluded.ended_at, result = excluded.result,"
            " q850_cause = excluded.q850_cause, answered_by = excluded.answered_by,"
            " duration = excluded.duration, voice_id = excluded.voice_id,"
            " reason = excluded.reason",
            rows,
        )

    def record_responses(self, rows: Sequence[ResponseRow]) -> None:
        self.db.executemany(
            "INSERT INTO responses (recipient_id, attempt_no, question, response)"
            " VALUES (?, ?, ?, ?)",
            [(r.recipient_id, r.attempt_no, r.question, r.response) for r in rows],
        )

    def update_recipients(self, rows: Sequence[RecipientUpdate]) -> None:
        self.db.executemany(
            "UPDATE recipients SET attempts = ?, next_at = ?, final_result = ? WHERE id = ?",
            [(u.attempts, u.next_at, u.final_result, u.recipient_id) for u in rows],
        )

    # -- attempts in flight (real time: committed before the call is placed) ----------------
    def add_in_flight(self, campaign_id: int, row: InFlight) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO in_flight (campaign_id, recipient_id, attempt_no, voice_id,"
            " started_at) VALUES (?, ?, ?, ?, ?)",
            (campaign_id, row.recipient_id, row.attempt_no, row.voice_id, row.started_at),
        )

    def in_flight(self, campaign_id: int) -> list[InFlight]:
        return [
            InFlight(*r)
            for r in self.db.execute(
                "SELECT recipient_id, attempt_no, voice_id, started_at FROM in_flight"
                " WHERE campaign_id = ? ORDER BY recipient_id, attempt_no",
                (campaign_id,),
            )
        ]

    def remove_in_flight(self, keys: Sequence[tuple[int, int]]) -> None:
        self.db.executemany("DELETE FROM in_flight WHERE recipient_id = ? AND attempt_no = ?", keys)

    # -- ``broadcast add`` ---------------------------------------------------------------------
    def next_recipient(self, campaign_id: int) -> tuple[int, int]:
        """The id the next recipient row gets, and the campaign's next row number."""
        first_id = int(
            self.db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM recipients").fetchone()[0]
        )
        next_row = self.db.execute(
            "SELECT COALESCE(MAX(row_no), 0) + 1 FROM recipients WHERE campaign_id = ?",
            (campaign_id,),
        ).fetchone()[0]
        return first_id, int(next_row)

    def drop_known(self, campaign_id: int, first_id: int) -> int:
        """Delete the rows from ``first_id`` on whose number the campaign had already (by the
        text as written if invalid); returns how many."""
        return self.db.execute(
            "DELETE FROM recipients WHERE campaign_id = ?1 AND id >= ?2"
            " AND COALESCE(e164, 'raw:' || phone) IN (SELECT COALESCE(e164, 'raw:' || phone)"
            "  FROM recipients WHERE campaign_id = ?1 AND id < ?2)",
            (campaign_id, first_id),
        ).rowcount

    def buckets_from(self, campaign_id: int, first_id: int) -> dict[str, int]:
        return {
            str(b): int(n)
            for b, n in self.db.execute(
                "SELECT bucket, COUNT(*) FROM recipients WHERE campaign_id = ? AND id >= ?"
                " GROUP BY 1 ORDER BY 1",
                (campaign_id, first_id),
            )
        }

    def finish_remaining(self, campaign_id: int) -> int:
        """Recipients the campaign can no longer call: the last attempt's result, or
        ``UNDIALED`` if they were never called."""
        cur = self.db.execute(
            "UPDATE recipients SET final_result = COALESCE((SELECT a.result FROM attempts a"
            " WHERE a.recipient_id = recipients.id AND a.attempt_no = recipients.attempts),"
            " 'UNDIALED') WHERE campaign_id = ? AND final_result IS NULL",
            (campaign_id,),
        )
        return cur.rowcount
